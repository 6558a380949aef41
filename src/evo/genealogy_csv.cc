// Genealogy CSV writing (RFC 4180 quoting for the text fields).
#include "evo/genealogy_csv.h"

#include <cstdio>
#include <fstream>

#include "util/publish_file.h"

namespace munet {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : "; ") + p;
  return s;
}

}  // namespace

void write_genealogy_csv(const std::string& path, const Evolution& evo) {
  const std::string tmp = temporary_name(path);
  {
    std::ofstream out(tmp);
    MUNET_CHECK(out.good(), "cannot write genealogy file ", tmp);
    out << "id,task,parent,iteration,generation,slot,accepted,quality,score,test_accuracy,params,new_params,"
           "accounted_params,flops,train_seconds,train_images,validation_accuracies,route,mutations,hparams\n";
    for (const auto& [id, m] : evo.models()) {
      const std::string task = m.task >= 0 ? evo.tasks()[m.task].name : "root";
      std::vector<std::string> vals, route;
      for (double v : m.validation_accuracies) vals.push_back(cat(v));
      for (size_t i = 0; i < m.route.size(); ++i)
        route.push_back(cat(m.route_names[i], "#", m.route[i], m.route_trainable[i] ? "*" : ""));
      char nums[256];
      std::snprintf(nums, sizeof nums, "%.6f,%.6f,%.6f,%lld,%lld,%.1f,%.0f,%.3f,%lld", m.quality, m.score,
                    m.test_accuracy, (long long)m.params, (long long)m.new_params, m.accounted_params, m.flops,
                    m.train_seconds, (long long)m.train_images);
      out << id << ',' << task << ',' << m.parent << ',' << m.iteration << ',' << m.generation << ',' << m.slot
          << ',' << (m.accepted ? 1 : 0) << ',' << nums << ',' << quoted(joined(vals)) << ','
          << quoted(joined(route)) << ',' << quoted(joined(m.mutations)) << ','
          << quoted(evo.space().describe(m.hparams)) << '\n';
    }
    MUNET_CHECK(out.good(), "error writing genealogy file ", tmp);
  }
  publish_file(tmp, path);
}

}  // namespace munet
