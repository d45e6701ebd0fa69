#!/usr/bin/env bash
# DiffMatch's mini results in one command: write the long-tailed Fashion-MNIST scenes if absent,
# convert the ImageNet MobileNetV2 weights if absent, train and test the four mini-world runs at
# 1/16 labels (supervised-only, the discriminative UniMatch-style baseline, DiffMatch without and
# with the debiased adjustment), then print one table of mIoU, head-5 and tail-5 mIoU.
#   bash tools/diffmatch_mini.sh
# This is the first mini world (11 classes, rarity by count and size); the testbed that the
# issue-17 comparison runs on is tools/diffmatch_testbed.sh (docs/notes/diffmatch_testbed.md).
# The runs go in two lanes, one thread each, on two CPU cores (timings in docs/results.md).
# DIAGNOSE=1 adds a fifth run to the second lane, DiffMatch's segmentor on the labelled scenes
# alone (what the semi-supervised loop adds to DiffMatch), about 20 minutes more (3,000
# labelled-only iterations at about 0.4 s).
# Outputs under WORK (default work_dirs/diffmatch_mini):
# <run>/ (training log, checkpoint, pseudo_label_stats.json/.png), <run>/test/ (metrics JSON,
# reliability diagram, confusion matrix), <run>.log (the run's console) and results.md.
# Environment: PYTHON (interpreter, default python), CDMX_FASHION_SCENES (scenes folder, default
# data/fashion_scenes), CDMX_FASHION_MNIST (Fashion-MNIST idx files, for writing the scenes),
# CDMX_PRETRAINED (converted weights folder, default work_dirs/pretrained), WORK, and MAX_ITERS
# (a shorter run to check the pipeline; its numbers mean nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
WORK=${WORK:-work_dirs/diffmatch_mini}
SCENES=${CDMX_FASHION_SCENES:-data/fashion_scenes}
WEIGHTS=${CDMX_PRETRAINED:-work_dirs/pretrained}/mobilenet_v2_mmseg.pth
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
stage() { echo "=== $(date +%H:%M:%S) $*"; }

if [ ! -f "$SCENES/class_pixel_counts.json" ]; then
  stage "write the Fashion-MNIST scenes to $SCENES"
  $PY tools/dataset_converters/make_fashion_scenes.py --out "$SCENES"
fi
if [ ! -f "$WEIGHTS" ]; then
  stage "convert the ImageNet MobileNetV2 weights to $WEIGHTS"
  $PY tools/model_converters/mobilenetv2_torchvision2mmseg.py "$WEIGHTS"
fi

# Validation at the end of training is skipped: the test below evaluates the same 800 scenes.
OPTIONS=(val_cfg=None val_dataloader=None val_evaluator=None)
if [ -n "${MAX_ITERS:-}" ]; then
  OPTIONS+=(train_cfg.max_iters="$MAX_ITERS")
fi
run() {  # train and test one mini config
  local name=$1 config=configs/diffmatch/fashion-scenes_$1_1-16.py
  stage "train $name"
  # explicit returns: errexit does not apply inside a function called from an || list (lane)
  $PY tools/train.py "$config" --work-dir "$WORK/$name" --cfg-options "${OPTIONS[@]}" || return
  stage "test $name"
  $PY tools/test.py "$config" "$WORK/$name/last_checkpoint" --work-dir "$WORK/$name/test" \
    || return
  stage "done $name"
}
lane() {  # runs one after the other, console to WORK/<run>.log
  for name in "$@"; do
    run "$name" > "$WORK/$name.log" 2>&1 || { echo "$name failed, see $WORK/$name.log"; return 1; }
  done
}
mkdir -p "$WORK"
extra=()
if [ -n "${DIAGNOSE:-}" ]; then
  extra=(diffmatch-sup-only)
fi
stage "$((4 + ${#extra[@]})) runs in two lanes (consoles: $WORK/<run>.log)"
lane diffmatch sup-only & first=$!
lane diffmatch-noadjust unimatch "${extra[@]}" & second=$!
status=0
wait $first || status=1
wait $second || status=1
[ $status -eq 0 ] || exit 1

stage "results (1/16 labels, the validation scenes)"
rows=("supervised only=$WORK/sup-only/test")
if [ -n "${DIAGNOSE:-}" ]; then
  rows+=("supervised only, DiffMatch's denoiser=$WORK/diffmatch-sup-only/test")
fi
rows+=("discriminative (UniMatch-style)=$WORK/unimatch/test"
       "DiffMatch without adjustment (tau 0)=$WORK/diffmatch-noadjust/test"
       "DiffMatch (tau 0.1)=$WORK/diffmatch/test")
$PY tools/analysis_tools/seg_table.py "${rows[@]}" --out "$WORK/results.md"
