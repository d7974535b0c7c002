"""A recipe over several seeds: one run folder each, then mean and std."""

import dataclasses
import os

import numpy as np

from recipekit import report
from recipekit._io import write_json
from recipekit.run._folder import RunFolder


def _leaves(tree, prefix=""):
    """(`"a / b"`, number) for every number in a nest of dicts."""
    for name, value in tree.items():
        label = f"{prefix}{name}"
        if isinstance(value, dict):
            yield from _leaves(value, f"{label} / ")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield label, float(value)


def over_seeds(recipe, main, config, key, *, free=("out", "force_resume")):
    """Runs `main` for seeds `config.seed` .. `config.seed + config.seeds - 1`.

    Each run gets its own folder, `OUT/seed<k>/`, and resumes on its own;
    the parent folder is locked and checked like a run's (more seeds may join
    later: `seed` and `seeds` are free). Then every number under
    `metrics[key]` gets its mean and sample standard deviation over the seeds,
    written to `OUT/seeds.json` and printed as a table. With `config.seeds ==
    1` this is just `main(config)`.

    Args:
        recipe: the recipe's name, for the folder's mark.
        main: `main(config) -> metrics`, one seed into `config.out`.
        config: a dataclass with `seed`, `seeds`, `out` and `force_resume`.
        key: the metrics entry to summarize, e.g. `"accuracy"`.
        free: settings a resumed run may change.

    Returns:
        `{"seeds": [...], key: {name: {"mean", "std", "runs"}}}`.
    """
    if config.seeds == 1:
        return main(config)
    parent = RunFolder(
        config.out, f"{recipe} --seeds", dataclasses.asdict(config),
        free=(*free, "seed", "seeds"), force_resume=config.force_resume,
    )  # fmt: skip
    with parent:
        runs = {}
        for seed in range(config.seed, config.seed + config.seeds):
            out = os.path.join(config.out, f"seed{seed}")
            runs[seed] = main(dataclasses.replace(config, seed=seed, seeds=1, out=out))
        values = {seed: dict(_leaves(metrics[key])) for seed, metrics in runs.items()}
        rows = {}
        for name in values[config.seed]:
            each = [values[seed][name] for seed in runs]
            rows[name] = {
                "mean": round(float(np.mean(each)), 4),
                "std": round(float(np.std(each, ddof=1)), 4),
                "runs": each,
            }
        summary = {"seeds": list(runs), key: rows}
        write_json(os.path.join(config.out, "seeds.json"), summary)
    report.phase(f"{config.seeds} seeds: mean and std")
    table = {name: {"mean": r["mean"], "std": r["std"]} for name, r in rows.items()}
    print(report.table(table, corner=key))
    return summary
