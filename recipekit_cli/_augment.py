"""The recipes' pixel-value augmentations, built from their `Config`."""


def pixel_layers(config, x_train):
    """The layers after the device's crops and flips, in timm's order: an
    automatic policy (`auto_augment`), color jitter (`jitter`), PCA lighting
    fitted on `x_train` (`lighting`), Cutout (`cutout`), random erasing
    (`erasing`). A field the recipe's `Config` lacks, or leaves at 0 or "",
    adds nothing; every layer is seeded with `config.seed`.
    """
    import recipekit

    augment, seed = recipekit.augment, config.seed
    layers = []
    if getattr(config, "auto_augment", ""):
        layers.append(augment.auto_augment_layer(config.auto_augment, seed=seed))
    if getattr(config, "jitter", 0):
        layers.append(augment.ColorJitter(*(config.jitter,) * 3, seed=seed))
    if getattr(config, "lighting", 0):
        pca = augment.fit_pca_lighting(x_train)
        layers.append(augment.PCALighting(config.lighting, *pca, seed=seed))
    if getattr(config, "cutout", 0):
        layers.append(augment.Cutout(config.cutout, seed=seed))
    if getattr(config, "erasing", 0):
        layers.append(augment.RandomErasing(config.erasing, seed=seed))
    return layers


def check_pixel_flags(config):
    """Refuses a bad `--auto-augment` name before the data loads."""
    if getattr(config, "auto_augment", ""):
        import recipekit

        recipekit.augment.auto_augment_layer(config.auto_augment)
