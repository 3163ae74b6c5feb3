#!/usr/bin/env bash
# Creates .venv/ with the package, its Python dependencies and the npm packages the sandbox loads.
# Safe to run again: it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"

mkdir -p .venv/npm
if ! cmp -s package-lock.json .venv/npm/package-lock.json || [ ! -d .venv/npm/node_modules ]; then
  cp package.json package-lock.json .venv/npm/
  # --ignore-scripts: @medable/mdctl-cli pulls in the native keytar module, which cannot build here (no
  # libsecret); nothing we load needs an install script (tests drive mdctl-cli's lib/env, not its keytar entry).
  (cd .venv/npm && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
