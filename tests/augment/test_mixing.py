"""MixUp and CutMix: the weights' distribution, exact pasted areas, seeds, and
both paths (a batch in tf.data or eagerly; DeviceImages on the device)."""

import keras
import numpy as np
import pytest

import recipekit
from recipekit.augment import MixUpCutMix
from recipekit.data import DeviceImages, epoch_indices


def halves(count, size=4, channels=1):
    """Images 0..count/2-1 all 0, the rest all 255; labels 0 then 1. Image i's
    partner in a batch is count-1-i, so the first half's pixels read 255 x the
    partner's share."""
    images = np.zeros((count, size, size, channels), np.uint8)
    images[count // 2 :] = 255
    labels = (np.arange(count) >= count // 2).astype(np.int64)
    return images, labels


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def test_mixup_weights_follow_beta_and_the_pixels_and_labels_agree():
    from scipy import stats

    alpha, count = 0.4, 20_000
    images, labels = halves(count, size=2)
    mixed, targets = MixUpCutMix(2, mixup_alpha=alpha)(images, labels, seed=7)
    mixed, targets = numpy(mixed), numpy(targets)
    own = targets[: count // 2, 0]  # the first half's weight of its own label
    assert stats.kstest(own, stats.beta(alpha, alpha).cdf).pvalue > 0.01
    assert stats.kstest(own, stats.beta(1.0, 1.0).cdf).pvalue < 1e-6  # it can fail
    # Every pixel is w * 0 + (1 - w) * 255: the image's share is its label's.
    np.testing.assert_allclose(mixed[: count // 2, :, :, 0].max(axis=(1, 2)),
                               255 * (1 - own), atol=1e-3)  # fmt: skip
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-6)
    assert mixed.dtype == np.float32 and targets.dtype == np.float32


def test_cutmix_label_weight_is_the_exact_pasted_area():
    count, size = 512, 32
    images, labels = halves(count, size=size)
    mixed, targets = MixUpCutMix(2, cutmix_alpha=1.0)(images, labels, seed=3)
    mixed, targets = numpy(mixed)[: count // 2, :, :, 0], numpy(targets)
    pasted = (mixed == 255).mean(axis=(1, 2))  # the partner's pixels, counted
    np.testing.assert_allclose(1 - targets[: count // 2, 0], pasted, atol=1e-6)
    assert set(np.unique(mixed)) <= {0.0, 255.0}  # pasted, never blended
    assert (pasted < 1).all() and (pasted > 0).mean() > 0.9
    # Boxes clipped at the border count only the area inside.
    boxes = [np.argwhere(m == 255) for m in mixed if (m == 255).any()]
    assert any(b[:, 0].min() == 0 or b[:, 1].max() == size - 1 for b in boxes)


def test_both_on_each_image_takes_one_with_the_switch_probability():
    count = 4_000
    images, labels = halves(count, size=8)
    mix = MixUpCutMix(2, mixup_alpha=1.0, cutmix_alpha=1.0, switch_prob=0.3)
    mixed = numpy(mix(images, labels, seed=0)[0])[: count // 2, :, :, 0]
    cut = np.isin(mixed, (0.0, 255.0)).all(axis=(1, 2))  # pasted images only
    assert abs(cut.mean() - 0.3) < 0.03


def test_prob_zero_mixes_nothing_and_the_seed_decides_the_batch():
    images, labels = halves(8)
    mixed, targets = MixUpCutMix(2, mixup_alpha=1.0, prob=0.0)(images, labels, seed=0)
    np.testing.assert_array_equal(numpy(mixed), images.astype(np.float32))
    np.testing.assert_array_equal(numpy(targets), np.eye(2)[labels])
    mix = MixUpCutMix(2, mixup_alpha=1.0, cutmix_alpha=1.0)
    first, again = (numpy(mix(images, labels, seed=5)[1]) for _ in range(2))
    other = numpy(mix(images, labels, seed=6)[1])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_soft_labels_are_mixed_as_they_are():
    images, labels = halves(4)
    soft = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9]], np.float32)
    mix = MixUpCutMix(2, mixup_alpha=1.0)
    from_ints = numpy(mix(images, labels, seed=1)[1])
    from_soft = numpy(mix(images, soft, seed=1)[1])
    np.testing.assert_allclose(from_soft, 0.8 * from_ints + 0.1, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"num_classes": 1, "mixup_alpha": 1.0}, "`num_classes` must be an integer"),
        ({"num_classes": 10}, "needs `mixup_alpha` > 0, `cutmix_alpha` > 0 or both"),
        ({"num_classes": 10, "mixup_alpha": -1.0}, "`mixup_alpha` must be a number"),
        ({"num_classes": 10, "cutmix_alpha": 1.0, "switch_prob": 2}, "`switch_prob`"),
        ({"num_classes": 10, "cutmix_alpha": 1.0, "prob": -0.1}, "`prob` must be"),
    ],
)
def test_arguments_are_checked(kwargs, said):
    with pytest.raises(ValueError, match=said):
        MixUpCutMix(**kwargs)


def test_config_round_trip():
    mix = MixUpCutMix(10, mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5, prob=0.9)
    again = MixUpCutMix.from_config(mix.get_config())
    assert again.get_config() == mix.get_config()
    assert repr(again).startswith("MixUpCutMix(num_classes=10, mixup_alpha=0.8")


@pytest.mark.tf_only
def test_the_pipeline_mixes_after_augmenting_seeded_per_batch():
    import tensorflow as tf

    images, labels = halves(64, size=8, channels=3)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    mix = MixUpCutMix(2, mixup_alpha=1.0, cutmix_alpha=1.0)
    policy = recipekit.augment.cifar_policy(padding=1)

    def batches(**kwargs):
        data = recipekit.data.pipeline(dataset, 16, training=True, augment=policy,
                                       mix=mix, seed=3, **kwargs)  # fmt: skip
        return [(x.numpy(), y.numpy()) for x, y in data]

    for kwargs in ({}, {"epochs": 2}):
        first, again = batches(**kwargs), batches(**kwargs)
        assert len(first) == 4 * (2 if kwargs else 1)
        for (x, y), (x2, y2) in zip(first, again, strict=True):
            np.testing.assert_array_equal(x, x2)
            np.testing.assert_array_equal(y, y2)
            assert y.dtype == np.float32 and y.shape == (16, 2)
            np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-6)
        # Mixed: some targets lie strictly between 0 and 1.
        assert any(((y > 0.01) & (y < 0.99)).any() for _, y in first)
    with pytest.raises(ValueError, match="`mix` is applied to training batches"):
        recipekit.data.pipeline(dataset, 16, mix=mix)


def test_device_images_mix_on_the_device_as_the_inputs_say():
    count, size = 8, 6
    images, labels = halves(count, size=size, channels=3)
    layer = DeviceImages(count, (size, size, 3), images=images, flip="none",
                         translate=0, seed=0)  # fmt: skip
    mix = MixUpCutMix(2, mixup_alpha=1.0, cutmix_alpha=1.0)
    _, pairs = epoch_indices(count, 4, epochs=3, seed=0)
    inputs, targets = mix.device_inputs(pairs, labels, (size, size), seed=1)
    assert inputs.shape == (24, 8) and targets.shape == (24, 2)
    np.testing.assert_array_equal(inputs[:, :2], pairs)
    for epoch in range(3):  # each image is a partner once per epoch
        rows = inputs[:, 1] == epoch
        assert sorted(inputs[rows, 2]) == sorted(inputs[rows, 0])
    out = numpy(layer(inputs, training=True))[..., 0]
    own = targets[np.arange(24), labels[inputs[:, 0]]]
    own_value = images[inputs[:, 0], 0, 0, 0].astype(np.float32)
    partner_value = images[inputs[:, 2], 0, 0, 0].astype(np.float32)
    # The mean pixel is the label weights' mix of the two images' values.
    expect = own * own_value + (1 - own) * partner_value
    np.testing.assert_allclose(out.mean(axis=(1, 2)), expect, atol=1e-3)
    # Inference only gathers; a resumed run gets the same draws for its epochs.
    np.testing.assert_array_equal(numpy(layer(inputs, training=False)),
                                  images[inputs[:, 0]].astype(np.float32))  # fmt: skip
    _, later = epoch_indices(count, 4, epochs=3, seed=0, start_epoch=1)
    resumed, resumed_targets = mix.device_inputs(later, labels, (size, size), seed=1)
    np.testing.assert_array_equal(resumed, inputs[8:])
    np.testing.assert_array_equal(resumed_targets, targets[8:])


def test_a_device_model_trains_on_mixed_soft_targets():
    count = 32
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(count) % 4
    layer = DeviceImages(count, (8, 8, 3), images=images, seed=0, translate=1)
    net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
                            keras.layers.Flatten(), keras.layers.Dense(4)])  # fmt: skip
    model = layer.training_model(net, mixed=True)
    assert model.input_shape == (None, 8)
    mix = MixUpCutMix(4, mixup_alpha=0.2, cutmix_alpha=1.0)
    _, pairs = epoch_indices(count, 8, epochs=2, seed=0)
    inputs, targets = mix.device_inputs(pairs, labels, (8, 8), seed=0)
    model.compile("sgd", recipekit.losses.SmoothedCrossentropy(from_logits=True))
    history = model.fit(inputs, targets, batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
