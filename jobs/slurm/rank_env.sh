#!/usr/bin/env bash
# jobs/slurm/rank_env.sh PROGRAM ARGS... — started once per rank by srun or mpirun (jobs/slurm/lib.sh):
# gives the rank its own GPU, then becomes PROGRAM (exec, so that signals reach munet itself).
#
# Local rank: OMPI_COMM_WORLD_LOCAL_RANK under mpirun (there SLURM_LOCALID is that of Open MPI's
# daemon, 0 everywhere), else SLURM_LOCALID under srun. GPU: when the rank sees several GPUs
# (CUDA_VISIBLE_DEVICES with a list, as Slurm sets it for --gpus-per-node without a per-task
# binding, or unset on a node with GPUs), it keeps the (local rank mod count)-th one, so rank r
# on a node uses GPU r. A rank already bound to one GPU (srun --gpus-per-task=1) is left alone.
# MUNET_GPU_BIND=none turns this off.
#
# SIGUSR1 and SIGTERM are ignored from here until munet installs its own handlers (an ignored signal
# stays ignored across exec): a stop signal during the start must not kill the rank. The batch
# shell passes SIGUSR1 on only once munet runs (lib.sh); SIGTERM means the job is ending anyway.
trap '' USR1 TERM
local_rank=${OMPI_COMM_WORLD_LOCAL_RANK:-${SLURM_LOCALID:-0}}
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-0}}}
if [[ ${MUNET_GPU_BIND:-auto} != none ]]; then
  if [[ -z ${CUDA_VISIBLE_DEVICES+set} ]] && command -v nvidia-smi >/dev/null; then
    gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
    if ((gpus > 0)); then
      CUDA_VISIBLE_DEVICES=$(seq -s, 0 $((gpus - 1)))
      export CUDA_VISIBLE_DEVICES
    fi
  fi
  if [[ ${CUDA_VISIBLE_DEVICES:-} == *,* ]]; then
    IFS=, read -r -a visible <<< "$CUDA_VISIBLE_DEVICES"
    export CUDA_VISIBLE_DEVICES=${visible[local_rank % ${#visible[@]}]}
  fi
fi
echo "[munet-rank] rank $rank (local $local_rank) on $(hostname -s): CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-none}" >&2
exec "$@"
