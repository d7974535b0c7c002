#!/usr/bin/env bash
# Issue 12's hand check: a ResNet --quick run killed with SIGKILL mid-epoch and
# rerun ends like an uninterrupted run (TensorFlow op determinism on).
#   bash benchmarks/kill_resume.sh [OUT]   (default runs/kill_resume; ~6 min)
set -u
cd "$(dirname "$0")/.."
OUT=${1:-runs/kill_resume}
export TF_DETERMINISTIC_OPS=1 TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
CMD="python recipes/cifar10_resnet.py --quick --epochs 3"
rm -rf "$OUT/a" "$OUT/b"; mkdir -p "$OUT"
$CMD --out "$OUT/a" > "$OUT/a.log" 2>&1
$CMD --out "$OUT/b" > "$OUT/b1.log" 2>&1 &
pid=$!
# Wait until epoch 1 is logged, then a few seconds into epoch 2.
until [ -f "$OUT/b/log.csv" ] && [ "$(wc -l < "$OUT/b/log.csv")" -ge 2 ]; do sleep 1; done
sleep 6
kill -9 $pid; wait $pid 2>/dev/null
echo "killed during epoch 2; log rows: $(($(wc -l < "$OUT/b/log.csv") - 1))"
$CMD --out "$OUT/b" > "$OUT/b2.log" 2>&1
OUT="$OUT" python - <<'PY'
import json, os, numpy as np, keras, recipekit
a, b = os.environ["OUT"] + "/a", os.environ["OUT"] + "/b"
timing = {"wall_time_s", "train_images_per_s", "epoch_times_s", "config"}
ma = {k: v for k, v in json.load(open(f"{a}/metrics.json")).items() if k not in timing}
mb = {k: v for k, v in json.load(open(f"{b}/metrics.json")).items() if k not in timing}
print("metrics.json equal (timing fields aside):", ma == mb)
print("log.csv identical:", open(f"{a}/log.csv").read() == open(f"{b}/log.csv").read())
for name in ("model.keras", "model_ema.keras"):
    wa = keras.saving.load_model(f"{a}/{name}").get_weights()
    wb = keras.saving.load_model(f"{b}/{name}").get_weights()
    diff = max(float(np.abs(x - y).max()) for x, y in zip(wa, wb, strict=True))
    print(name, "max abs weight difference:", diff)
PY
