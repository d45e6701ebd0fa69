#!/usr/bin/env bash
# UCDM's mini world end to end (what `make demo` runs): pretrain the mini Stable Diffusion if it
# is not cached, generate the pair caches, train and test UCDM and its two baselines, print the
# table. Every stage reuses what is complete (the mini SD, complete cache shards), so a second
# run only trains and tests. Paths are the configs' defaults: work_dirs/foundation/mini_sd,
# work_dirs/ucdm_cache/*, work_dirs/<config name>/ (predictions.csv, labelling.json/.png).
#   CDMX_FASHION_MNIST=/usr/share/datasets/fashion-mnist bash tools/ucdm_mini.sh
set -euo pipefail
PY=${PYTHON:-python}
# OpenMP threads that spin while waiting collapse (4x slower, measured) as soon as another process
# shares the cores; passive waiting costs little when the machine is idle.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
RUNS=(ucdm_wrn28-2_fashion-mnist-mini ucdm-random-noise_wrn28-2_fashion-mnist-mini
      ucdm-true-labels_wrn28-2_fashion-mnist-mini)
NAMES=("UCDM" "UCDM, random-noise generation (Table 5, IV)" "supervised upper bound (true labels)")
stage() { echo; echo "=== $(date +%H:%M:%S) $*"; }

stage "mini Stable Diffusion (reused when cached)"
$PY tools/pretrain_foundation.py configs/foundation/mini_sd.py
for run in "${RUNS[@]:0:2}"; do  # the true-labels run reuses UCDM's cache
  stage "generate $run"
  $PY tools/generate.py "configs/ucdm/$run.py"
done
table=()
for i in "${!RUNS[@]}"; do
  run=${RUNS[$i]}
  stage "train $run"
  $PY tools/train.py "configs/ucdm/$run.py"
  stage "test $run"
  $PY tools/test.py "configs/ucdm/$run.py" "work_dirs/$run/last_checkpoint"
  table+=("${NAMES[$i]}=work_dirs/$run/predictions.csv")
done
stage "results"
$PY tools/analysis_tools/ucdm_table.py "${table[@]}" --out work_dirs/ucdm_mini_results.json
