"""The `>>>` examples of recipekit's docstrings that run on their own, as tests.

Examples that train on a user's data (`model.fit(train, ...)`) illustrate and
are not listed; every example below builds what it needs and prints exact
values, so a change in behaviour fails here.
"""

import doctest

import keras
import numpy as np
import pytest

import recipekit
from recipekit import augment, callbacks, data, evaluate, models, optimizers, report

RUNNABLE = [
    optimizers.PiecewiseLinear,
    optimizers.StepDecay,
    optimizers.StepDecay.at_fractions,
    optimizers.ScaledSchedule,
    optimizers.RateFactors,
    optimizers.EMA,
    optimizers.Lookahead,
    optimizers.Muon,
    optimizers.orthogonalize,
    recipekit.layers.BatchNormAct,
    data.DeviceImages,
    data.DeviceImages.training_model,
    augment.translate,
    data.epoch_indices,
    augment.pad_random_crop,
    augment.random_flip,
    augment.alternating_flip,
    augment.color_jitter,
    augment.pca_lighting,
    augment.ColorJitter,
    augment.PCALighting,
    recipekit.transfer.extract_features,
    evaluate.ten_crop,
    evaluate.flip_translate_views,
    evaluate.TTAViews,
    evaluate.ViewAverage,
    callbacks.backup_epoch,
    callbacks.BackupAndRestore,
    callbacks.EpochTimes,
    callbacks.BestCheckpoints,
    callbacks.SnapshotEnsemble.schedule,
    callbacks.StepDecay.at_fractions,
    data.load_arrays,
    recipekit.distribute.worker,
    recipekit.distribute.fit_data,
    recipekit.distribute.locally,
    models.sublayers,
    models.logits_model,
    models.patch_whitening_kernel,
    report.header,
    report.fit_verbosity,
    recipekit.run.RunFolder,
    recipekit.run.RunFolder.load_arrays,
    recipekit.run.save_model,
    optimizers.find_ema,
    optimizers.lr_find,
    optimizers.layer_decay_factors,
    recipekit.losses.SmoothedCrossentropy,
    report.Laps,
    report.phase,
    report.table,
    report.summary,
]


@pytest.mark.parametrize("obj", RUNNABLE, ids=lambda o: o.__qualname__)
def test_docstring_example_runs(obj):
    globs = {"keras": keras, "np": np, "recipekit": recipekit}
    globs.update({name: getattr(optimizers, name) for name in optimizers.__all__})
    globs.update({name: getattr(evaluate, name) for name in evaluate.__all__})
    globs.update({name: getattr(report, name) for name in report.__all__})
    globs.update(DeviceImages=data.DeviceImages, translate=augment.translate,
                 epoch_indices=data.epoch_indices, sublayers=models.sublayers,
                 SnapshotEnsemble=callbacks.SnapshotEnsemble,
                 EpochTimes=callbacks.EpochTimes,
                 BestCheckpoints=callbacks.BestCheckpoints,
                 SmoothedCrossentropy=recipekit.losses.SmoothedCrossentropy,
                 RunFolder=recipekit.run.RunFolder, os=__import__("os"),
                 save_model=recipekit.run.save_model)  # fmt: skip
    finder = doctest.DocTestFinder(recurse=False)
    tests = [t for t in finder.find(obj, globs=globs) if t.examples]
    assert tests, f"{obj.__qualname__} has no >>> example"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} example(s) of {obj} failed"
