"""What every recipe does around its science: the output folder and its lock,
finished-run detection, the resume epoch, atomic metrics and model files, a
run over several seeds. (The command line's side, one-line errors and exit
codes, is `recipekit_cli.command`: the library raises, the command prints.)

    with recipekit.run.RunFolder(config.out, "my_recipe", settings) as run:
        if run.finished:
            return run.finished
        ...  # train with recipekit.callbacks.BackupAndRestore(run.backup_dir)
        return run.finish(metrics)
"""

from recipekit._io import strict_json, write_json
from recipekit.run._data_checks import check_translation, steps_per_epoch
from recipekit.run._folder import (
    RunFolder,
    RunFolderError,
    one_process_only,
    resume_or_train,
    save_model,
)
from recipekit.run._seeds import over_seeds

__all__ = [
    "RunFolder",
    "RunFolderError",
    "check_translation",
    "one_process_only",
    "over_seeds",
    "resume_or_train",
    "save_model",
    "steps_per_epoch",
    "strict_json",
    "write_json",
]
