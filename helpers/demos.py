"""Run one Keras layer on a small 2-D example, so students can check the numbers by hand."""

import numpy as np

__all__ = ["run_layer"]


def run_layer(layer, image, kernel=None, training=False):
    """Apply a Keras layer to one small grey image and return the result as a 2-D array.

    ``layer``: E.g. ``keras.layers.Conv2D(1, 3, use_bias=False)`` or ``keras.layers.MaxPooling2D(2)``. A layer with
    several output channels returns (height, width, channels).
    ``image``: The example, e.g. a 4x4 list of lists.
    ``kernel``: Weights to put in a one-filter convolution layer before running it (no bias).
    ``training``: Run as during training (matters for dropout layers).
    Returns: The output without the batch axis, and without the channel axis when it has one channel.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"image must be (height, width) or (height, width, channels); got shape {image.shape}.")
    batch = image[None]
    if kernel is not None:
        kernel = np.asarray(kernel, dtype=np.float32)
        layer.build(batch.shape)
        expected = tuple(layer.kernel.shape)
        if kernel.shape != expected[:2] or expected[2:] != (1, 1):
            raise ValueError(
                f"kernel of shape {kernel.shape} does not fit this layer, whose kernel is {expected} "
                f"(height, width, channels in, filters). Use a layer with one filter of size {kernel.shape}."
            )
        layer.set_weights([kernel[:, :, None, None]] + [w * 0 for w in layer.get_weights()[1:]])
    result = np.asarray(layer(batch, training=training))[0]
    return result[..., 0] if result.shape[-1] == 1 else result
