#!/usr/bin/env bash
# Runs all six recipes with --quick on one backend and prints one JSON line per
# recipe (its metrics.json, trimmed), for the backends table in RESULTS.md.
#
#   bash benchmarks/recipes_quick.sh [PYTHON] [BACKEND] [OUT]
#
# PYTHON defaults to `python` (e.g. /tmp/venv-jax/bin/python for a venv without
# TensorFlow), BACKEND to tensorflow, OUT to runs/quick_<backend>.
set -euo pipefail
python=${1:-python}
backend=${2:-tensorflow}
out=${3:-runs/quick_${backend}}
cd "$(dirname "$0")/.."
mkdir -p "$out"
"$python" - <<EOF
import importlib.util
print({"tensorflow_installed": importlib.util.find_spec("tensorflow") is not None,
       "backend": "$backend"})
EOF
for recipe in cifar10_fast cifar10_resnet cifar_stochastic_depth \
    cifar_snapshot_ensemble transfer_learning optimizers_tour; do
    start=$(date +%s)
    KERAS_BACKEND=$backend "$python" "recipes/$recipe.py" --quick \
        --out "$out/$recipe" > "$out/$recipe.log" 2>&1
    seconds=$(( $(date +%s) - start ))
    "$python" - "$out/$recipe" "$recipe" "$seconds" <<'EOF'
import json, os, sys
folder, recipe, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
name = "results.json" if recipe == "optimizers_tour" else "metrics.json"
with open(os.path.join(folder, name)) as f:
    metrics = json.load(f)
keep = {k: v for k, v in metrics.items() if k not in ("config", "epoch_times_s")}
if recipe == "optimizers_tour":
    keep = {"cifar_test_accuracy": metrics["cifar_test_accuracy"]}
print(json.dumps({"recipe": recipe, "wall_s": seconds, **keep}))
EOF
done
