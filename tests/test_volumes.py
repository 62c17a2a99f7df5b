"""Tests for helpers.volumes: the seed-002 3-D U-Net, 3-D crops, whole-volume prediction."""

import keras
import numpy as np
import pytest

from helpers import datasets, inference, models, pipeline


def hand_count_seed_002():
    """Parameters of seed 002's layers, counted by hand: 3x3x3 kernels + biases, then a 1x1x1 output."""

    def conv(inputs, filters, kernel=27):
        return inputs * kernel * filters + filters

    return (
        conv(4, 32)
        + conv(32, 64)
        + conv(64, 64)
        + conv(64, 128)
        + conv(128 + 64, 64)
        + conv(64, 64)
        + conv(64, 3, kernel=1)
    )


def test_seed_002_unet_has_833507_parameters():
    model = models.build_unet_3d((16, 160, 160, 4), filters=32, n_poolings=1, n_classes=3)
    assert hand_count_seed_002() == 833_507
    assert model.count_params() == 833_507
    assert model.output_shape == (None, 16, 160, 160, 3)
    skip = model.get_layer("up0_skip")
    assert tuple(skip.output.shape[1:]) == (16, 160, 160, 192)  # 128 from below + 64 across, as in seed 002
    assert [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv3D)] == [
        32,
        64,
        64,
        128,
        64,
        64,
        3,
    ]


def test_anisotropic_pooling_keeps_the_sections():
    model = models.build_unet_3d((4, 32, 32, 1), filters=4, n_poolings=2, n_classes=1, pool_size=(1, 2, 2))
    assert tuple(model.get_layer("down1_pool").output.shape[1:4]) == (4, 8, 8)
    assert model.output_shape == (None, 4, 32, 32, 1)


def test_bad_shapes_are_explained():
    with pytest.raises(ValueError, match="not divisible by 2"):
        models.build_unet_3d((5, 32, 32, 1), n_poolings=1)
    with pytest.raises(ValueError, match="depth, height, width, channels"):
        models.build_unet_3d((32, 32, 1))
    with pytest.raises(ValueError, match="crop_shape"):
        pipeline.random_crops_3d(np.zeros((4, 8, 8)), np.zeros((4, 8, 8)), (5, 4, 4), 1)
    with pytest.raises(ValueError, match="must match"):
        pipeline.random_crops_3d(np.zeros((4, 8, 8)), np.zeros((4, 8, 9)), (2, 4, 4), 1)


def test_random_crops_keep_volume_and_mask_together():
    volume = np.arange(6 * 10 * 10, dtype=np.float32).reshape(6, 10, 10)
    crops, masks = pipeline.random_crops_3d(volume, volume * 2, (3, 4, 4), count=20, seed=1)
    assert crops.shape == (20, 3, 4, 4, 1) and masks.shape == (20, 3, 4, 4, 1)
    assert np.array_equal(masks, crops * 2)
    # each crop is a flipped/transposed box of the volume: its z values step by 100 along z
    assert np.all(np.diff(crops[..., 0], axis=1) == 100)
    again, _ = pipeline.random_crops_3d(volume, volume * 2, (3, 4, 4), count=20, seed=1)
    assert np.array_equal(again, crops)


def test_window_starts_cover_everything():
    assert inference.window_starts(10, 4, 3) == [0, 3, 6]
    assert inference.window_starts(4, 8, 6) == [0]
    assert inference.window_starts(9, 4, 4) == [0, 4, 5]


def test_predict_volume_with_an_identity_model_returns_the_volume():
    inputs = keras.Input((4, 8, 8, 2))
    convolution = keras.layers.Conv3D(2, 1, use_bias=False)
    identity = keras.Model(inputs, convolution(inputs))
    convolution.set_weights([np.eye(2).reshape(1, 1, 1, 2, 2)])
    volume = np.random.default_rng(0).random((6, 13, 11, 2)).astype(np.float32)
    predicted = inference.predict_volume(identity, volume, window=(4, 8, 8), overlap=0.5, batch_size=3)
    assert predicted.shape == volume.shape
    assert np.allclose(predicted, volume, atol=1e-6)
    small = volume[:2, :5, :5]  # smaller than the window: padded, then cropped back
    assert np.allclose(inference.predict_volume(identity, small, window=(4, 8, 8)), small, atol=1e-6)


def test_predict_volume_averages_overlaps():
    inputs = keras.Input((2, 4, 4, 1))
    ones = keras.layers.Lambda(lambda x: keras.ops.ones_like(x) * keras.ops.mean(x, axis=(1, 2, 3, 4), keepdims=True))(
        inputs
    )
    model = keras.Model(inputs, ones)
    volume = np.zeros((2, 4, 6, 1), np.float32)
    volume[:, :, 4:] = 1.0  # window x 0..3 has mean 0, window x 2..5 has mean 0.5
    predicted = inference.predict_volume(model, volume, window=(2, 4, 4), overlap=0.5)
    assert np.allclose(predicted[0, 0, :, 0], [0, 0, 0.25, 0.25, 0.5, 0.5])


def test_split_volumes_by_volume_and_along_z():
    several = np.arange(5)[:, None, None, None, None] * np.ones((5, 4, 2, 2, 1))
    train, validation, test = datasets.split_volumes(several, several)
    assert [len(part[0]) for part in (train, validation, test)] == [3, 1, 1]
    assert test[0][0][0, 0, 0, 0] == 4
    one = np.arange(20)[None, :, None, None, None] * np.ones((1, 20, 2, 2, 1))
    train, validation, test = datasets.split_volumes(one, one)
    assert [part[0][0].shape[0] for part in (train, validation, test)] == [12, 4, 4]
    assert test[0][0][:, 0, 0, 0].tolist() == [16, 17, 18, 19]
    with pytest.raises(ValueError, match="too few"):
        datasets.split_volumes(one[:, :2], one[:, :2])


def test_split_volumes_takes_stacks_of_different_sizes():
    stacks = [np.full((z, 3 + z, 2, 1), z, np.float32) for z in (5, 7, 4, 6, 9)]
    train, validation, test = datasets.split_volumes(stacks, stacks)
    assert [[v.shape[0] for v in part[0]] for part in (train, validation, test)] == [[5, 7, 4], [6], [9]]
    with pytest.raises(ValueError, match="depth, height, width, channels"):
        datasets.split_volumes(stacks, [s[:, :2] for s in stacks])


def test_bundled_volumes_are_two_channel_stacks_with_binary_masks():
    from helpers import datasets

    bundled = datasets.load_volumes("smoke")
    assert bundled.volumes.shape == (6, 8, 64, 64, 2) and bundled.masks.shape == (6, 8, 64, 64, 1)
    assert set(np.unique(bundled.masks).tolist()) == {0.0, 1.0}
    assert 0 <= bundled.volumes.min() and bundled.volumes.max() <= 1


def test_load_volumes_default_reads_the_vnc_stack_as_one_volume(mirror):
    from support import fake_vnc

    from helpers import datasets

    fake_vnc(mirror, n=3)
    stack = datasets.load_volumes("default", shrink=1)
    assert stack.volumes.shape == (1, 3, 4, 4, 1) and stack.masks.shape == (1, 3, 4, 4, 1)
    # GREYS: 0..128 are membrane -> the first 5 pixels in reading order are 1, the next three 0
    assert stack.masks[0, 0, :2, :, 0].ravel().tolist() == [1, 1, 1, 1, 1, 0, 0, 0]
    assert np.allclose(stack.volumes[0, :, 0, 0, 0], [51 / 255, 102 / 255, 153 / 255])
    assert "membrane" in stack.source
