// HostWorkers: the pool's backend trains and evaluates each route in turn.
#include "evo/host_workers.h"

namespace munet {

std::vector<RouteStep> pool_route(LayerPool& pool, const ModelRecord& m, bool with_trainable) {
  std::vector<RouteStep> steps;
  for (size_t i = 0; i < m.route.size(); ++i)
    steps.push_back({&pool.component(m.route[i]), with_trainable && m.route_trainable[i]});
  return steps;
}

std::vector<TrainResult> HostWorkers::train(LayerPool& pool, const std::vector<RouteJob>& jobs) {
  std::vector<TrainResult> results;
  for (const RouteJob& job : jobs) {
    Network net(backend_, job.shape, pool_route(pool, *job.model, true));
    results.push_back(train_network(backend_, net, *job.task, job.train, host_pool_, nullptr));
  }
  return results;
}

std::vector<EvalResult> HostWorkers::test(LayerPool& pool, const std::vector<RouteJob>& jobs, int part, int parts) {
  std::vector<EvalResult> results;
  for (const RouteJob& job : jobs) {
    Network net(backend_, job.shape, pool_route(pool, *job.model, false));
    results.push_back(evaluate(backend_, net, job.task->test, 0, job.train.eval_batch_size, host_pool_, part, parts));
  }
  return results;
}

Tensor HostWorkers::logits(LayerPool& pool, const RouteJob& job, const Tensor& images) {
  Network net(backend_, job.shape, pool_route(pool, *job.model, false));
  const Tensor& out = net.forward(images);
  Tensor copy = Tensor::host(out.shape(), out.dtype());
  backend_.copy(out, copy);
  return copy;
}

}  // namespace munet
