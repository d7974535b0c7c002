"""Does a training step do the same on TensorFlow and JAX? First-epoch accuracy.

ResNet-20 from the same initial weights (saved on TensorFlow, loaded on JAX),
the same batches (`epoch_indices` of the bundled sample, no augmentation) and
the same optimizer (SGD 0.1, Nesterov 0.9), one epoch of 39 steps, for three
inits: if the backends' steps agree, the accuracies spread alike. Runs each
backend in a child process; prints one JSON object per backend.

    python benchmarks/backend_first_epoch.py
"""

import os
import subprocess
import sys
import tempfile

CHILD = """
import json, sys, keras, recipekit
folder = sys.argv[1]
x, y, _ = recipekit.data.load_arrays(recipekit.data.SAMPLE, "train")
mean, std = recipekit.data.channel_stats(x)
accuracies = []
for seed in (1, 2, 3):
    path = f"{folder}/init_{seed}.weights.h5"
    keras.utils.set_random_seed(seed)
    net = recipekit.models.cifar_resnet(20, 10, mean=mean, std=std, weight_decay=1e-4)
    if keras.backend.backend() == "tensorflow":
        net.save_weights(path)
    net.load_weights(path)
    positions, _ = recipekit.data.epoch_indices(len(x), 128, 1, seed)
    net.compile(keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = net.fit(x[positions].astype("float32"), y[positions], batch_size=128,
                      epochs=1, shuffle=False, verbose=0)
    accuracies.append(round(history.history["accuracy"][-1], 3))
print(json.dumps({"benchmark": "backend_first_epoch",
                  "backend": keras.backend.backend(), "accuracy": accuracies}))
"""


def main():
    with tempfile.TemporaryDirectory() as folder:
        for backend in ("tensorflow", "jax"):  # TensorFlow writes the inits.
            env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
            result = subprocess.run(
                [sys.executable, "-c", CHILD, folder],
                capture_output=True, text=True, env=env, check=True,
            )  # fmt: skip
            print(result.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
