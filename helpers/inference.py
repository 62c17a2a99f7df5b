"""Prediction of whole images and volumes: padded, tile by tile, window by window, without seams.

How tiles are joined decides whether seams show: ``"mean"`` averages overlapping tiles;
``"gaussian"`` (as MONAI and nnU-Net) weighs tile centres more than borders; ``"overlap-tile"``
(the U-Net paper) gives each tile a mirrored margin of context and keeps only its centre, which
equals predicting the image whole when the margin covers the receptive field.
"""

import numpy as np

from helpers._checks import as_image, as_volume

__all__ = [
    "BLENDING_MODES",
    "window_starts",
    "gaussian_weights",
    "tile_grid",
    "predict_tiled",
    "activation_numbers",
    "receptive_field",
    "predict_volume",
    "pad_to",
    "predict_padded",
]

BLENDING_MODES = ("mean", "gaussian", "overlap-tile")


def _check_tiles(tile, overlap, divisible_by, blending):
    if blending not in BLENDING_MODES:
        raise ValueError(f"blending must be one of {BLENDING_MODES}, got {blending!r}.")
    if not isinstance(tile, (int, np.integer)) or tile < 1:
        raise ValueError(f"tile must be a positive whole number of pixels, got {tile!r}.")
    if overlap < 0 or overlap >= tile:
        raise ValueError(
            f"overlap ({overlap}) must be at least 0 and smaller than the tile ({tile}); "
            f"use a larger tile or a smaller overlap."
        )
    if tile % divisible_by:
        raise ValueError(
            f"tile {tile} is not divisible by {divisible_by} (2**n_poolings of the model): the poolings "
            f"would not halve it evenly. Use a tile that is a multiple of {divisible_by}."
        )


def window_starts(size, window, stride):
    """Return the first pixel of each window along one axis so that the windows cover ``size`` pixels.

    Windows start every ``stride`` pixels; the last one is moved back to end at the border.

    >>> window_starts(10, 4, 3)
    [0, 3, 6]
    >>> window_starts(11, 4, 3)
    [0, 3, 6, 7]
    >>> window_starts(3, 4, 3)
    [0]
    """
    starts = list(range(0, max(size - window, 0) + 1, stride))
    if starts[-1] < size - window:
        starts.append(size - window)
    return starts


def gaussian_weights(tile, sigma_fraction=1 / 8):
    """Return the (tile, tile) Gaussian weight map of MONAI/nnU-Net (sigma = tile / 8), at least 1e-3 of the peak."""
    centre = (tile - 1) / 2
    distance = (np.arange(tile) - centre) ** 2
    one_side = np.exp(-distance / (2 * (sigma_fraction * tile) ** 2))
    weights = np.outer(one_side, one_side)
    weights /= weights.max()
    # tile corners would get almost no weight: a floor keeps every weight positive
    return np.maximum(weights, 1e-3).astype(np.float32)


def _predictor(model):
    """Return a function batch -> predictions from a Keras model (``predict_on_batch``: one graph) or a function."""
    if hasattr(model, "predict_on_batch"):
        return lambda batch: np.asarray(model.predict_on_batch(batch))
    if hasattr(model, "predict"):  # an object that predicts like a Keras model
        return lambda batch: np.asarray(model.predict(batch, verbose=0))
    if callable(model):
        return lambda batch: np.asarray(model(batch))
    raise TypeError(f"model must be a Keras model or a function of a batch of tiles, got {type(model).__name__}.")


def tile_grid(height, width, tile=256, overlap=64, blending="gaussian"):
    """Return the tiles as (top, left, height, width) boxes, for drawing (``"overlap-tile"``: the kept centres)."""
    if blending == "overlap-tile":
        core = tile - 2 * overlap
        return [
            (top, left, min(core, height - top), min(core, width - left))
            for top in range(0, height, core)
            for left in range(0, width, core)
        ]
    stride = tile - overlap
    return [
        (top, left, min(tile, height), min(tile, width))
        for top in window_starts(height, tile, stride)
        for left in window_starts(width, tile, stride)
    ]


def predict_tiled(model, image, tile=256, overlap=64, blending="gaussian", batch_size=8, divisible_by=16):
    """Predict an image of any size tile by tile and stitch the predictions; returns (height, width, classes).

    ``overlap``: pixels shared by neighbouring tiles, or for ``"overlap-tile"`` the margin of
    context thrown away on every side. ``batch_size``: tiles predicted at once (memory grows with
    it, not with the image). ``divisible_by``: 2**n_poolings of the U-Net (16 for 4 poolings);
    tiles (and overlap-tile centres) must be multiples of it.
    """
    _check_tiles(tile, overlap, divisible_by, blending)
    picture, _ = as_image(image)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    predict = _predictor(model)
    if blending == "overlap-tile":
        return _overlap_tile(predict, picture, tile, overlap, batch_size, divisible_by)
    height, width = picture.shape[:2]
    # an image smaller than a tile is padded up to one tile
    picture = np.pad(picture, ((0, max(0, tile - height)), (0, max(0, tile - width)), (0, 0)), mode="reflect")
    weight = gaussian_weights(tile) if blending == "gaussian" else np.ones((tile, tile), np.float32)
    blended = _blend_windows(predict, picture, (tile, tile), (tile - overlap, tile - overlap), weight, batch_size)
    return blended[:height, :width]


def _blend_windows(predict, array, window, strides, weight, batch_size):
    """Predict ``array`` (spatial axes..., channels) window by window, 2-D or 3-D; average with ``weight``."""
    import itertools

    spatial = array.shape[:-1]
    corners = list(itertools.product(*(window_starts(size, w, s) for size, w, s in zip(spatial, window, strides))))
    total, weights = None, np.zeros(spatial + (1,), np.float32)
    weight = np.asarray(weight, np.float32)[..., np.newaxis]
    for first in range(0, len(corners), batch_size):
        chunk = corners[first : first + batch_size]
        boxes = [tuple(slice(c, c + w) for c, w in zip(corner, window)) for corner in chunk]
        predictions = predict(np.stack([array[box] for box in boxes]))
        if total is None:
            total = np.zeros(spatial + predictions.shape[-1:], np.float32)
        for box, prediction in zip(boxes, predictions):
            total[box] += prediction * weight
            weights[box] += weight
    return total / weights  # every pixel has weight > 0: no division by zero


def _overlap_tile(predict, picture, tile, margin, batch_size, divisible_by):
    """The U-Net paper's overlap-tile strategy: mirrored context (read tile by tile), centres kept."""
    core = tile - 2 * margin
    if core < 1:
        raise ValueError(
            f"With overlap-tile the margin ({margin}) is thrown away on both sides: the tile "
            f"({tile}) must be larger than 2 * margin = {2 * margin}."
        )
    if core % divisible_by:
        raise ValueError(
            f"tile - 2 * overlap = {core} is not divisible by {divisible_by}: tile origins would fall "
            f"off the pooling grid. Use an overlap that is a multiple of {divisible_by // 2 or 1}."
        )
    height, width = picture.shape[:2]
    boxes = [(top, left) for top in range(0, height, core) for left in range(0, width, core)]
    result = None
    for first in range(0, len(boxes), batch_size):
        batch_boxes = boxes[first : first + batch_size]
        tiles = np.stack([_read_mirrored(picture, top - margin, left - margin, tile) for top, left in batch_boxes])
        predictions = predict(tiles)
        if result is None:
            result = np.zeros((height, width, predictions.shape[-1]), np.float32)
        for (top, left), prediction in zip(batch_boxes, predictions):
            kept = result[top : top + core, left : left + core]  # shorter at the bottom and right borders
            kept[...] = prediction[margin : margin + kept.shape[0], margin : margin + kept.shape[1]]
    return result


def _mirrored_indices(start, length, size):
    """Indices of positions ``start ..`` of a side of ``size``, mirrored as ``numpy.pad(mode="reflect")``.

    >>> _mirrored_indices(-2, 6, 3).tolist()
    [2, 1, 0, 1, 2, 1]
    """
    period = max(2 * (size - 1), 1)
    folded = np.abs(np.arange(start, start + length)) % period
    return np.where(folded > size - 1, period - folded, folded)


def _read_mirrored(picture, top, left, tile):
    """Cut a (tile, tile, channels) square at (top, left) that may reach outside the picture."""
    if 0 <= top and top + tile <= picture.shape[0] and 0 <= left and left + tile <= picture.shape[1]:
        return picture[top : top + tile, left : left + tile]
    rows = _mirrored_indices(top, tile, picture.shape[0])
    return picture[np.ix_(rows, _mirrored_indices(left, tile, picture.shape[1]))]


def activation_numbers(model):
    """Return how many numbers all layer outputs of ``model`` (fixed ``input_shape``) hold for ONE image.

    At 4 bytes each, an estimate of the memory prediction needs (TensorFlow frees some and adds workspace).
    """
    total = 0
    for layer in model.layers:
        outputs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
        for tensor in outputs:
            if any(side is None for side in tensor.shape[1:]):
                raise ValueError("Build the model with a fixed input_shape (no None) to count its activations.")
            total += int(np.prod(tensor.shape[1:]))
    return total


def predict_volume(model, volume, window, overlap=0.25, batch_size=1):
    """Predict a (D, H, W[, C]) volume with a 3-D model, window by window; returns (D, H, W, K).

    ``window``: (depth, height, width) the model was built for; a smaller volume is edge-padded.
    ``overlap``: in [0, 1), the share of a window shared with the next (averaged: hides seams).
    """
    volume = as_volume(volume, "volume")
    if len(window) != 3 or min(window) < 1:
        raise ValueError(f"window must be 3 positive sizes (depth, height, width); got {window!r}.")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1); got {overlap!r}.")
    original = volume.shape[:3]
    padding = [(0, max(0, w - s)) for s, w in zip(original, window)] + [(0, 0)]
    volume = np.pad(volume, padding, mode="edge")
    strides = [max(1, int(round(w * (1 - overlap)))) for w in window]
    result = _blend_windows(_predictor(model), volume, tuple(window), strides, np.ones(window, np.float32), batch_size)
    return result[: original[0], : original[1], : original[2]]


def pad_to(array, height, width):
    """Mirror-pad an (H, W, C) array at the bottom and right (numpy's ``"symmetric"``) to ``height`` x ``width``.

    >>> pad_to(np.array([[1, 2, 3]]).reshape(1, 3, 1), height=1, width=5)[..., 0].tolist()
    [[1, 2, 3, 3, 2]]
    """
    extra_h, extra_w = max(height - array.shape[0], 0), max(width - array.shape[1], 0)
    return np.pad(array, ((0, extra_h), (0, extra_w), (0, 0)), mode="symmetric")


def predict_padded(model, image, n_poolings=4):
    """Predict one (H, W, C) image whole: mirror-pad to a multiple of ``2**n_poolings``, then cut back."""
    step = 2**n_poolings
    height, width = image.shape[:2]
    padded = pad_to(image, -(-height // step) * step, -(-width // step) * step)
    probability = _predictor(model)(padded[np.newaxis])[0]
    return probability[:height, :width]


#: Layers that leave a pixel's receptive field as it is (the ones the course's U-Nets use).
_PIXELWISE_LAYERS = ("InputLayer", "BatchNormalization", "Activation", "Dropout", "SpatialDropout2D", "Cropping2D")


def _as_pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _window_reach(reach, step, size, stride, dilation, padding):
    """Reach (left, right) in input pixels after a convolution or pooling along one axis (``step``: input pixels per pixel)."""
    left, right = reach
    span = dilation * (size - 1)  # how far the window reaches, in pixels of its input
    before = span // 2 if padding == "same" else 0  # Keras pads (size - 1) // 2 before, the rest after
    after = span - before
    # the output pixel's own square grows from ``step`` to ``stride * step`` input pixels
    return left + before * step, right + after * step - (stride - 1) * step


def _layer_reach(layer, reach, step):
    """Return (reach, step) of a layer's output from those of its input, along rows and columns."""
    kind = type(layer).__name__
    if kind in _PIXELWISE_LAYERS:
        return reach, step
    if kind in ("Conv2D", "MaxPooling2D"):
        sizes = _as_pair(layer.kernel_size if kind == "Conv2D" else layer.pool_size)
        strides = _as_pair(layer.strides)
        dilations = _as_pair(getattr(layer, "dilation_rate", 1))
        reach = tuple(
            _window_reach(reach[axis], step[axis], sizes[axis], strides[axis], dilations[axis], layer.padding)
            for axis in range(2)
        )
        return reach, tuple(step[axis] * strides[axis] for axis in range(2))
    if kind == "Conv2DTranspose" or (kind == "UpSampling2D" and layer.interpolation == "nearest"):
        factors = _as_pair(layer.size if kind == "UpSampling2D" else layer.strides)
        extra = [0, 0]  # input pixels a transpose convolution adds beyond the one it copies
        if kind == "Conv2DTranspose":
            sizes = _as_pair(layer.kernel_size)
            extra = [-(-sizes[axis] // factors[axis]) - 1 for axis in range(2)]
        new_step = tuple(step[axis] / factors[axis] for axis in range(2))
        # a pixel of the larger image copies the pixel of the smaller one it lies in: up to
        # (factor - 1) of its own width away from it on either side, wherever it lies on the grid
        grow = [(factors[axis] - 1) * new_step[axis] + extra[axis] * step[axis] for axis in range(2)]
        return tuple((left + g, right + g) for (left, right), g in zip(reach, grow)), new_step
    raise ValueError(
        f"receptive_field follows the layers of the course's U-Nets (Conv2D, MaxPooling2D, UpSampling2D "
        f"'nearest', Conv2DTranspose, Concatenate, {', '.join(_PIXELWISE_LAYERS)}), not layer {layer.name!r} "
        f"of type {kind}. Compute the receptive field of this model by hand."
    )


def receptive_field(model):
    """Return the side, in input pixels, of the square that a pixel of the model's output depends on.

    Each convolution and pooling adds ``(kernel size - 1)`` pixels of its input (2, 4, 8 ... input
    pixels after each pooling); an upsampling copy may lie one of its widths away. Overlap-tile
    prediction is exact with a margin of ``(receptive_field(model) - 1) // 2``.

    >>> import keras
    >>> image = keras.Input((32, 32, 1))
    >>> convolutions = keras.layers.Conv2D(1, 3, padding="same")(keras.layers.Conv2D(1, 3, padding="same")(image))
    >>> receptive_field(keras.Model(image, convolutions))  # 3, and 2 more
    5
    """
    fields = {}  # id(tensor) -> (((left, right) per axis), step per axis)
    for layer in model.layers:
        inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        known = [fields[id(tensor)] for tensor in inputs if id(tensor) in fields]
        if not known:  # the model's input: one input pixel stands for itself
            reach, step = ((0, 0), (0, 0)), (1, 1)
        elif type(layer).__name__ == "Concatenate":
            reach = tuple(tuple(max(field[0][axis][side] for field in known) for side in range(2)) for axis in range(2))
            step = known[0][1]
        else:
            reach, step = _layer_reach(layer, known[0][0], known[0][1])
        outputs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
        for tensor in outputs:
            fields[id(tensor)] = (reach, step)
    outputs = model.outputs if isinstance(model.outputs, (list, tuple)) else [model.outputs]
    reach, step = fields[id(outputs[0])]
    return int(max(np.ceil(left + right + step[axis]) for axis, (left, right) in enumerate(reach)))
