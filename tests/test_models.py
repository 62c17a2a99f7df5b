"""The 2-D U-Net: the seed's shape and parameter count, sizes, classes and clear errors."""

import re

import numpy as np
import pytest

from helpers.models import build_unet


def test_seed_unet_has_the_seed_articles_parameter_count():
    # seed 001: model.summary() of the 256x256x1 U-Net reports 34,512,193 parameters
    assert build_unet((256, 256, 1)).count_params() == 34_512_193


def test_seed_unet_keeps_the_image_size_and_has_four_skip_connections():
    model = build_unet((64, 64, 1), filters=4)
    assert model.output_shape == (None, 64, 64, 1)
    skips = [layer for layer in model.layers if layer.name.endswith("_skip")]
    assert len(skips) == 4
    # the deepest skip joins 8x8 features: 64 / 2**3 with 32 channels up + 32 channels across
    deepest = model.get_layer("up4_skip")
    assert tuple(deepest.output.shape) == (None, 8, 8, 64)


def test_small_unet_on_any_size_divisible_by_two_to_the_poolings():
    model = build_unet((None, None, 1), filters=4, n_poolings=3, batch_norm=True)
    prediction = model.predict(np.zeros((1, 40, 56, 1), np.float32), verbose=0)
    assert prediction.shape == (1, 40, 56, 1)
    assert np.all((prediction >= 0) & (prediction <= 1))


def test_multi_class_unet_gives_probabilities_that_sum_to_one():
    model = build_unet((32, 32, 1), filters=4, n_poolings=2, n_classes=3, output_activation="softmax")
    prediction = model.predict(np.random.default_rng(0).random((2, 32, 32, 1)), verbose=0)
    np.testing.assert_allclose(prediction.sum(axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "arguments, words",
    [
        (dict(input_shape=(100, 100, 1)), "divisible by 2**n_poolings = 16"),
        (dict(input_shape=(64, 64)), "(height, width, channels)"),
        (dict(n_poolings=0), "n_poolings"),
        (dict(dropout=1.0), "dropout"),
    ],
)
def test_bad_unet_arguments_get_clear_errors(arguments, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        build_unet(**{"input_shape": (64, 64, 1), **arguments})


def test_blocks_table_lists_the_levels_with_hand_counted_parameters():
    from helpers import models

    table = models.blocks_table(models.build_unet(input_shape=(256, 256, 1)))
    rows = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert list(rows) == [
        "image",
        "down1",
        "down2",
        "down3",
        "down4",
        "bottom",
        "up4",
        "up3",
        "up2",
        "up1",
        "probability",
        "total",
    ]
    # down1: 3x3x1x64 + 64 biases, then 3x3x64x64 + 64 = 640 + 36,928; the 1x1 output: 64 + 1
    assert rows["down1"].endswith("(256, 256, 64)        37,568")
    assert rows["probability"].endswith("65") and rows["total"].endswith("34,512,193")
    assert rows["bottom"].split()[-4:-1] == ["(16,", "16,", "1024)"]
