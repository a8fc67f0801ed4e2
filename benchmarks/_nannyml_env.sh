#!/usr/bin/env bash
# Builds a throw-away virtualenv holding a pinned NannyML for benchmarks/estimation.py.
# It lives under benchmarks/.data/ (gitignored) so NannyML never reaches the project's lock file.
# Prints the path of the venv's python on its last line.
set -euo pipefail

NANNYML_VERSION="${NANNYML_VERSION:-0.13.1}"
# NannyML 0.13.1 is untested with pandas 3, and imports statsmodels without declaring it.
PANDAS_VERSION="${PANDAS_VERSION:-2.3.3}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.data/venv-nannyml"
stamp="$venv/.installed-nannyml-$NANNYML_VERSION-pandas-$PANDAS_VERSION"

if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "nannyml==$NANNYML_VERSION" "pandas==$PANDAS_VERSION" statsmodels pyarrow >&2
  touch "$stamp"
fi
echo "$venv/bin/python"
