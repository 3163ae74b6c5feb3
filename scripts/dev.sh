#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then runs the main job: the server on the embedded
# store, org "example", with examples/scripts deployed. The first line it prints is JSON with
# the URL, the org code, a signing key/secret (acting as the administrator) and a public key.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/cortex-runtime prepare >/dev/null
exec .venv/bin/cortex-runtime serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8080}" --org example --deploy examples/scripts
