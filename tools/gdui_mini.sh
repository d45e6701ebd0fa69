#!/usr/bin/env bash
# GDUI's mini world end to end (issue 6, §7): Table 2's rows in one command, on Fashion-MNIST.
#
#   CDMX_FASHION_MNIST=/usr/share/datasets/fashion-mnist bash tools/gdui_mini.sh \
#       [--dry-run] [STAGE ...]
#
# Run it from the repository root; results in work_dirs/gdui_mini/ (results.md, results.json,
# samples_per_class.png; logs/<stage>.log). The stages (command, inputs, outputs, lane), the
# settings (PYTHON, GDUI_CONFIGS, GDUI_OUT, GDUI_SEEDS, GDUI_NUM_REFERENCE, GDUI_INCEPTION[_SHA256],
# CDMX_MINI_CLIP, CDMX_FASHION_MNIST) and the time budget: tools/gdui/mini_stages.py. The runner
# that re-runs only the stale stages, two lanes side by side: cdmx/utils/stage_runner.py.
# --dry-run prints which stages would run and why; naming stages runs only them and their
# upstream.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec "${PYTHON:-python}" "$ROOT/tools/gdui/mini_stages.py" "$@"
