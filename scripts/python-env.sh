#!/usr/bin/env bash
# Ensure the trainer's virtual environment exists and print its python path.
#
# The environment lives outside the checkout, keyed by the requirements' hash, so
# torch (about 3 GB with its CUDA wheels) is installed once per machine and reused by
# every clone, CI run and demo. Set TRAINOPS_VENV to choose another folder.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$repo_root/python/requirements.txt"
python_bin="${TRAINOPS_BASE_PYTHON:-python3}"

if ! command -v "$python_bin" >/dev/null 2>&1; then
  echo "python-env: $python_bin not found; install Python 3.10 or newer (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi

requirements_hash="$(sha256sum "$requirements" | cut -c1-12)"
venv="${TRAINOPS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/trainops/venv-$requirements_hash}"

if [[ ! -x "$venv/bin/python" || ! -f "$venv/.installed" ]]; then
  echo "python-env: creating $venv (first run downloads torch, a few minutes)" >&2
  mkdir -p "$(dirname "$venv")"
  "$python_bin" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip >&2
  "$venv/bin/pip" install --quiet -r "$requirements" >&2
  touch "$venv/.installed"
fi

echo "$venv/bin/python"
