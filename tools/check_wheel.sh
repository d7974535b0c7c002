#!/usr/bin/env bash
# Builds the wheel, installs it (not the checkout) in a fresh venv that sees the
# already-installed dependencies, and checks what a user gets from it: the
# bundled sample, the recipekit-tta command, and a recipe run from a checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -m build --wheel --outdir "$work/dist" . > "$work/build.log"
python -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-deps --force-reinstall "$work"/dist/*.whl
cd "$work"  # away from the checkout: imports come from the wheel
"$work/venv/bin/python" - <<'PY'
import os, recipekit
assert "site-packages" in recipekit.__file__, recipekit.__file__
from recipekit.data import _sample
assert os.path.getsize(_sample.path()) > 1_000_000, _sample.path()
print("wheel:", recipekit.__file__)
PY
"$work/venv/bin/recipekit-tta" --help > /dev/null
out="$work/run"
"$work/venv/bin/python" "$OLDPWD/recipes/cifar10_fast.py" --quick --epochs 1 --out "$out" > "$work/run.log"
test -f "$out/metrics.json"
echo "wheel check passed: $(basename "$work"/dist/*.whl)"
