"""run_layer gives the numbers a student computes by hand."""

import keras
import numpy as np
import pytest

from helpers.models import run_layer

EDGE_IMAGE = [[0, 0, 0, 9]] * 4
EDGE_KERNEL = [[-1, 0, 1]] * 3


def test_valid_convolution_of_an_edge():
    # flat part: -0 + 0 + 0 = 0; over the edge: three rows of (0*-1 + 0*0 + 9*1) = 27
    result = run_layer(keras.layers.Conv2D(1, 3, use_bias=False), EDGE_IMAGE, kernel=EDGE_KERNEL)
    np.testing.assert_array_equal(result, [[0, 27], [0, 27]])


def test_same_convolution_pads_with_zeros_and_keeps_the_size():
    result = run_layer(keras.layers.Conv2D(1, 3, padding="same", use_bias=False), EDGE_IMAGE, kernel=EDGE_KERNEL)
    # top-left corner sees only 2 rows of the image: 0; the right column loses its right neighbour: -2 * 0 = 0
    np.testing.assert_array_equal(result, [[0, 0, 18, 0], [0, 0, 27, 0], [0, 0, 27, 0], [0, 0, 18, 0]])


def test_max_pooling_keeps_the_largest_of_each_2x2_block():
    image = [[1, 2, 5, 6], [3, 4, 7, 8], [9, 10, 13, 14], [11, 12, 15, 16]]
    np.testing.assert_array_equal(run_layer(keras.layers.MaxPooling2D(2), image), [[4, 8], [12, 16]])


def test_transpose_convolution_of_ones_copies_each_value_into_a_2x2_block():
    layer = keras.layers.Conv2DTranspose(1, 2, strides=2, use_bias=False)
    result = run_layer(layer, [[1, 2], [3, 4]], kernel=np.ones((2, 2)))
    np.testing.assert_array_equal(result, [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])


def test_layer_with_several_channels_keeps_the_channel_axis():
    result = run_layer(keras.layers.SpatialDropout2D(0.5, seed=1), np.ones((2, 2, 6)), training=True)
    assert result.shape == (2, 2, 6)
    # each channel is dropped whole (0) or kept and scaled by 1 / (1 - 0.5) = 2
    for channel in np.moveaxis(result, -1, 0):
        assert np.all(channel == 0) or np.all(channel == 2)


def test_kernel_that_does_not_fit_the_layer_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        run_layer(keras.layers.Conv2D(1, 3), EDGE_IMAGE, kernel=np.ones((2, 2)))
