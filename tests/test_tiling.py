"""Tiled prediction: exact reconstruction, overlap-tile equals whole-image prediction, clear errors."""

import numpy as np
import pytest

from helpers import inference, models, plotting


def identity(batch):
    return batch


@pytest.mark.parametrize("blending", inference.BLENDING_MODES)
@pytest.mark.parametrize("shape", [(37, 53), (100, 70, 3), (20, 20), (130, 97, 2)])
def test_identity_model_reconstructs_the_image(blending, shape):
    image = np.random.default_rng(0).random(shape).astype(np.float32)
    overlap = 16 if blending == "overlap-tile" else 24
    result = inference.predict_tiled(identity, image, tile=64, overlap=overlap, blending=blending, batch_size=3)
    assert result.shape == shape[:2] + ((shape[2],) if len(shape) == 3 else (1,))
    assert np.abs(result.reshape(shape) - image).max() <= 1e-6


def test_tile_starts_cover_the_side_and_stay_inside():
    assert inference.window_starts(10, 4, 3) == [0, 3, 6]
    assert inference.window_starts(11, 4, 3) == [0, 3, 6, 7]
    assert inference.window_starts(3, 4, 3) == [0]


def test_gaussian_weights_peak_in_the_middle_and_are_never_zero():
    weights = inference.gaussian_weights(64)
    assert weights.max() == pytest.approx(1.0, abs=1e-3)
    assert weights.min() >= 1e-3
    # sigma = 64 / 8 = 8 pixels, centre at 31.5: column 23 is 8.5 from it, column 31 is 0.5
    centre = weights[31:33, 31:33].mean()
    assert weights[31, 23] / weights[31, 31] == pytest.approx(np.exp(-(8.5**2 - 0.5**2) / (2 * 8**2)), rel=1e-5)
    assert centre > weights[0, 32]


@pytest.mark.parametrize("shape", [(90, 70), (21, 13)])  # (21, 13): context reaches past the far side
def test_overlap_tile_equals_whole_image_prediction_of_a_real_unet(shape):
    import keras

    keras.utils.set_random_seed(0)
    model = models.build_unet(input_shape=(None, None, 1), filters=4, n_poolings=2, dropout=0.0)
    image = np.random.default_rng(1).random(shape).astype(np.float32)
    tile, margin = 96, 32  # tile centres of 32 px: origins on the 4-pixel pooling grid
    tiled = inference.predict_tiled(
        model, image, tile=tile, overlap=margin, blending="overlap-tile", divisible_by=4, batch_size=4
    )
    # the whole image mirrored by numpy: the margin on every side, and on the far sides what completes the last centre
    height, width = shape
    extra_h, extra_w = -height % (tile - 2 * margin), -width % (tile - 2 * margin)
    padded = np.pad(image[..., np.newaxis], ((margin, margin + extra_h), (margin, margin + extra_w), (0, 0)), "reflect")
    whole = np.asarray(model(padded[np.newaxis], training=False))[0, margin : margin + height, margin : margin + width]
    assert np.abs(tiled - whole).max() <= 1e-5


def test_overlap_tile_holds_no_second_copy_of_the_image():
    import tracemalloc

    image = np.random.default_rng(0).random((1024, 1024)).astype(np.float32)
    tracemalloc.start()
    result = inference.predict_tiled(identity, image, tile=128, overlap=16, blending="overlap-tile", batch_size=4)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # the result is one image's worth; a padded copy of the image would add another
    assert result.nbytes == image.nbytes
    assert peak < 1.2 * image.nbytes


def test_bad_arguments_get_clear_errors():
    image = np.zeros((64, 64))
    with pytest.raises(ValueError, match="smaller than the tile"):
        inference.predict_tiled(identity, image, tile=32, overlap=32)
    with pytest.raises(ValueError, match="not divisible by 16"):
        inference.predict_tiled(identity, image, tile=40, overlap=8)
    with pytest.raises(ValueError, match="2 \\* margin"):
        inference.predict_tiled(identity, image, tile=32, overlap=16, blending="overlap-tile")
    with pytest.raises(ValueError, match="pooling grid"):
        inference.predict_tiled(identity, image, tile=64, overlap=12, blending="overlap-tile")
    with pytest.raises(ValueError, match="blending"):
        inference.predict_tiled(identity, image, tile=64, overlap=8, blending="median")
    with pytest.raises(ValueError, match="height, width"):
        inference.predict_tiled(identity, np.zeros((2, 64, 64, 1)), tile=64, overlap=8)


def test_activation_numbers_of_a_one_convolution_model():
    import keras

    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Conv2D(2, 3, padding="same")(inputs)
    # input layer 8*8*1 + convolution 8*8*2
    assert inference.activation_numbers(keras.Model(inputs, outputs)) == 64 + 128


def test_exercise_checks_of_notebook_03(capsys):
    from helpers import exercises, inference

    height, width = exercises.TILE_COUNT_IMAGE
    stride = exercises.TILE_COUNT_TILE - exercises.TILE_COUNT_OVERLAP
    count = len(inference.window_starts(height, 256, stride)) * len(inference.window_starts(width, 256, stride))
    assert count == 5 * 4  # 1000: 0, 192, 384, 576, 744; 700: 0, 192, 384, 444
    assert exercises.check_tile_count(count)
    assert not exercises.check_tile_count(16)
    assert not exercises.check_tile_count(None)
    assert exercises.check_feature_map_memory(2048 * 2048 * 64 * 4 / 2**20)
    assert not exercises.check_feature_map_memory(256)
    assert "4 bytes" in capsys.readouterr().out
    assert exercises.check_kept_centre(256 - 2 * 48)
    assert not exercises.check_kept_centre(208)


def test_tile_grid_boxes_cover_the_image_and_the_explorer_builds():
    boxes = inference.tile_grid(100, 70, tile=64, overlap=16, blending="overlap-tile")
    covered = np.zeros((100, 70), int)
    for top, left, height, width in boxes:
        covered[top : top + height, left : left + width] += 1
    assert (covered == 1).all()  # overlap-tile centres: each pixel kept from exactly one tile
    assert len(inference.tile_grid(100, 70, tile=64, overlap=16)) == 2 * 2  # rows start at 0, 36; columns at 0, 6
    widget = plotting.tile_explorer(np.zeros((100, 70)), np.zeros((100, 70)), tile=64, overlap=16)
    assert widget.children[0].max == 4
    with pytest.raises(ValueError, match="height and width"):
        plotting.tile_explorer(np.zeros((100, 70)), np.zeros((10, 70)))
