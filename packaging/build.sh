#!/usr/bin/env bash
# Builds the double-click bundle dist/tingxie/ (PyInstaller onedir) and prints its size.
#   packaging/build.sh                 .venv with the `package` extra (scripts/setup.sh), then build
#   TINGXIE_PYTHON=python3 packaging/build.sh   use that interpreter's environment as it is
# Extra arguments go to pyinstaller (e.g. --clean). Output: dist/tingxie/, work files: build/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${TINGXIE_PYTHON:-}" ]; then
  py=$TINGXIE_PYTHON
else
  # An environment that already has PyInstaller (e.g. from `scripts/setup.sh test`) is used
  # as it is; otherwise create/update .venv with the app and the `package` extra.
  if ! .venv/bin/python -c "import PyInstaller" 2>/dev/null; then
    scripts/setup.sh package
  fi
  py=.venv/bin/python
fi
# nice: the build takes minutes of all cores; where there is no nice (some Windows shells), plain
lower=(); if command -v nice >/dev/null; then lower=(nice -n 10); fi
start=$(date +%s)
# --noconfirm: pyinstaller empties dist/tingxie first, so no stale file hides a missing one.
${lower[@]+"${lower[@]}"} "$py" -m PyInstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build "$@" packaging/tingxie.spec
end=$(date +%s)
echo "built dist/tingxie in $((end - start)) s: $(du -sh dist/tingxie | cut -f1)" \
  "($(find dist/tingxie -type f | wc -l) files)"
