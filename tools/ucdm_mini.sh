#!/usr/bin/env bash
# UCDM's mini world end to end (what `make demo` runs): pretrain the mini Stable Diffusion if it
# is not cached, generate the pair caches of Table 5's rows I and IV, train and test through the
# seeds tool, print the table. Every stage reuses what is complete (the mini SD, complete cache
# shards, tested seeds), so a second run only prints. Outputs: work_dirs/foundation/mini_sd,
# work_dirs/ucdm_cache/*, work_dirs/ucdm_mini/<run>/seed_<S>/ (checkpoints, predictions.csv,
# labelling.json/.png), work_dirs/ucdm_mini/summary_*.{md,json,png}.
#   CDMX_FASHION_MNIST=/usr/share/datasets/fashion-mnist bash tools/ucdm_mini.sh
# Rows: UCDM (Table 5, I), random positives and negatives (IV) and the true-label bound.
# UCDM_ROWS=all adds Table 5's II and III and Fig. 4(a)'s two ablations (the results page's
# table); UCDM_SEEDS="0 1 2" runs three seeds (seeds already tested are reused).
# Generation and training run in LANES processes of one thread each (default: the number of
# cores), which beats one process of that many threads on this scale (docs/results.md); the pair
# caches do not depend on the number of lanes (cdmx.generators.engine).
set -euo pipefail
PY=${PYTHON:-python}
SEEDS=${UCDM_SEEDS:-0}
LANES=${LANES:-$(nproc)}
OUT=work_dirs/ucdm_mini
C=configs/ucdm
# OpenMP threads that spin while waiting collapse (4x slower, measured) as soon as another process
# shares the cores; passive waiting costs little when the machine is idle.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
GENERATE=("$C/ucdm_wrn28-2_fashion-mnist-mini.py" "$C/ucdm-table5-iv_wrn28-2_fashion-mnist-mini.py")
RUNS=(UCDM=$C/ucdm_wrn28-2_fashion-mnist-mini.py
      IV=$C/ucdm-table5-iv_wrn28-2_fashion-mnist-mini.py
      true-labels=$C/ucdm-true-labels_wrn28-2_fashion-mnist-mini.py)
if [ "${UCDM_ROWS:-demo}" = all ]; then
  RUNS+=(II=$C/ucdm-table5-ii_wrn28-2_fashion-mnist-mini.py
         III=$C/ucdm-table5-iii_wrn28-2_fashion-mnist-mini.py
         generated-only=$C/ucdm-fig4a-generated_wrn28-2_fashion-mnist-mini.py
         generated+known=$C/ucdm-fig4a-known_wrn28-2_fashion-mnist-mini.py)
fi
stage() { echo; echo "=== $(date +%H:%M:%S) $*"; }

stage "mini Stable Diffusion (reused when cached)"
$PY tools/pretrain_foundation.py configs/foundation/mini_sd.py
for config in "${GENERATE[@]}"; do  # the other rows read these two caches
  stage "generate $(basename "$config" .py)"
  OMP_NUM_THREADS=1 $PY -m torch.distributed.run --nproc_per_node="$LANES" \
    --master_port="${PORT:-29500}" tools/generate.py "$config" --launcher pytorch \
    --cfg-options generation.num_threads=1
done
stage "train + test, seeds $SEEDS"
$PY tools/analysis_tools/seeds.py "${RUNS[@]}" --seeds $SEEDS --jobs "$LANES" \
  --work-dir-pattern "$OUT/{name}/seed_{seed}" --out "$OUT/summary_$(date +%Y%m%d_%H%M%S)" \
  --metrics open_set/closed_accuracy open_set/open_known open_set/open_unknown \
  open_set/open_new open_set/balance
stage "results: seed ${SEEDS%% *} re-scored from its predictions files"
table=()
for run in "${RUNS[@]}"; do
  table+=("${run%%=*}=$OUT/${run%%=*}/seed_${SEEDS%% *}/predictions.csv")
done
$PY tools/analysis_tools/ucdm_table.py "${table[@]}"
