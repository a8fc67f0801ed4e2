#!/usr/bin/env bash
# Builds a throw-away virtualenv holding a pinned Evidently for benchmarks/drift_vs_evidently.py.
# It lives under benchmarks/.data/ (gitignored) so Evidently never reaches the project's lock file.
# Prints the path of the venv's python on its last line.
set -euo pipefail

EVIDENTLY_VERSION="${EVIDENTLY_VERSION:-0.7.23}"
# Evidently 0.7.23 imports a pandas internal that pandas 3 removed.
PANDAS_VERSION="${PANDAS_VERSION:-2.3.3}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.data/venv-evidently"
stamp="$venv/.installed-evidently-$EVIDENTLY_VERSION-pandas-$PANDAS_VERSION"

if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "evidently==$EVIDENTLY_VERSION" "pandas==$PANDAS_VERSION" pyarrow >&2
  touch "$stamp"
fi
echo "$venv/bin/python"
