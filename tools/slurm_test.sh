#!/usr/bin/env bash
# Evaluate a checkpoint on a Slurm cluster: one task per process, started by srun.
#   [GPUS=4] [GPUS_PER_NODE=4] tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options...]
# GPUS is the number of tasks, GPUS_PER_NODE the tasks per node. On CPU-only partitions set
# GRES= (empty) to request no GPUs; each task then runs on CPUs (gloo). CPUS_PER_TASK and
# SRUN_ARGS pass on to srun, PYTHON picks the interpreter (default: python).
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
GRES=${GRES-gpu:$GPUS_PER_NODE}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
TOOLS=$(dirname "$0")

# shellcheck disable=SC2086  # SRUN_ARGS holds several words
PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    ${GRES:+--gres="$GRES"} \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "${PYTHON:-python}" -u "$TOOLS/test.py" "$CONFIG" "$CHECKPOINT" --launcher slurm "${@:5}"
