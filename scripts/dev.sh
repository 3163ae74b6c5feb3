#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then runs the main job: the example scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/cortex-runtime prepare >/dev/null
for script in examples/scripts/*.js; do
  case "$(basename "$script")" in c_*) continue ;; esac
  echo "== $script"
  .venv/bin/cortex-runtime run "$script" --stats --lib c_utils=examples/scripts/c_utils.js
done
