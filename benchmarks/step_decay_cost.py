"""What the StepDecay callback costs per warm-up step: its rate in NumPy vs
the schedule's tensor call, side by side in one process.

    python benchmarks/step_decay_cost.py
"""

import json
import time

import recipekit


def per_call_us(function, calls=2000):
    start = time.perf_counter()
    for i in range(calls):
        function(i)
    return round((time.perf_counter() - start) / calls * 1e6, 2)


def main():
    callback = recipekit.callbacks.StepDecay([91, 136], warmup_epochs=2)
    callback.base_learning_rate, callback._steps = 0.1, 391  # as fit sets them
    schedule = recipekit.optimizers.StepDecay(0.1, [35581, 53176], warmup_steps=782)
    print(json.dumps({
        "benchmark": "step_decay_cost",
        "callback_learning_rate_us": per_call_us(
            lambda i: callback.learning_rate(1, i % 391)),
        "schedule_rate_numpy_us": per_call_us(lambda i: schedule.rate(391 + i)),
        "schedule_call_tensor_us": per_call_us(lambda i: float(schedule(391 + i))),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
