#!/usr/bin/env bash
# Evaluate a checkpoint with N processes on this machine (or one node of several) via torchrun.
#   tools/dist_test.sh CONFIG CHECKPOINT N [test.py options...]
# N is the number of processes: GPUs where CUDA is present (nccl), CPU processes otherwise
# (gloo). Several nodes: NNODES, NODE_RANK, MASTER_ADDR and PORT, as with torchrun. PYTHON picks
# the interpreter (default: python).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT N [test.py options...]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
TOOLS=$(dirname "$0")

PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" --nproc_per_node="$NPROC" \
    "$TOOLS/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
