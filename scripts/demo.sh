#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the main job: `medtuned demo`. Extra arguments go to the demo
# (e.g. --data-dir ../shared/corpora, --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/medtuned demo "$@"
