#!/usr/bin/env bash
# Sets up .venv if needed, then runs Tingxie with the given arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/tingxie "$@"
