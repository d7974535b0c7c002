"""`PCALighting`: AlexNet's PCA lighting noise as a Keras layer."""

import keras

from recipekit._checks import check_factor
from recipekit.augment._layer_base import UnitRangeLayer
from recipekit.augment._lighting import IMAGENET_PCA, check_pca, lighting_unit


@keras.saving.register_keras_serializable(package="recipekit")
class PCALighting(UnitRangeLayer):
    """Adds `eigenvectors @ (alpha * eigenvalues)`, `alpha ~ N(0, alpha_std)`.

    The layer form of `recipekit.augment.pca_lighting` (Krizhevsky et al.,
    2012), one `alpha` per image and component. Keras has no lighting layer.

    Args:
        alpha_std: standard deviation of `alpha` (AlexNet: 0.1).
        eigenvalues: shape `(3,)` for pixels in [0, 1]; default ImageNet's.
        eigenvectors: shape `(3, 3)`, one eigenvector per column; default
            ImageNet's.
        value_range: `(low, high)` of the inputs, `(0, 255)` (default) or `(0, 1)`.
        seed: an int for repeatable draws, or None.

    Call arguments:
        inputs: RGB images `(H, W, 3)` or `(B, H, W, 3)`.
        training: add noise when True, identity when False.

    Examples:

    >>> x = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), np.uint8)
    >>> values, vectors = recipekit.augment.fit_pca_lighting(x)
    >>> layer = recipekit.augment.PCALighting(0.1, values, vectors, seed=0)
    >>> tuple(layer(x).shape)
    (4, 8, 8, 3)
    """

    def __init__(
        self,
        alpha_std=0.1,
        eigenvalues=None,
        eigenvectors=None,
        value_range=(0, 255),
        seed=None,
        **kwargs,
    ):
        super().__init__(value_range=value_range, seed=seed, **kwargs)
        self.alpha_std = check_factor("alpha_std", alpha_std)
        if (eigenvalues is None) != (eigenvectors is None):
            raise ValueError(
                "Arguments `eigenvalues` and `eigenvectors` must be given together "
                "(or neither, for the ImageNet values)."
            )
        if eigenvalues is None:
            eigenvalues, eigenvectors = IMAGENET_PCA
        self.eigenvalues, self.eigenvectors = check_pca(eigenvalues, eigenvectors)

    def augment_unit(self, ops, x, key):
        pca = (self.eigenvalues, self.eigenvectors)
        return lighting_unit(ops, x, *pca, self.alpha_std, key)

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_std": self.alpha_std,
            "eigenvalues": self.eigenvalues.tolist(),
            "eigenvectors": self.eigenvectors.tolist(),
        }
