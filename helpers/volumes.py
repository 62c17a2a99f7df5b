"""3-D segmentation: the seed-002 3-D U-Net, random 3-D crops, and whole-volume prediction.

A volume is a float32 array ``(depth, height, width, channels)``: a stack of ``depth`` sections
(z first, as microscopes save them), each ``height`` x ``width`` pixels, with one value per
channel. Everything a 2-D U-Net does carries over with one more axis: ``Conv3D`` kernels are
3x3x3, pooling halves all three sides (or only y and x for anisotropic stacks, whose sections
are much thicker than their pixels are wide), and memory grows with the volume of the input.

Example
-------
>>> from helpers import volumes
>>> model = volumes.build_unet_3d((16, 160, 160, 4))   # seed 002's configuration
>>> model.count_params()
833507
"""

import numpy as np


def _conv_relu(x, filters, name):
    import keras

    x = keras.layers.Conv3D(filters, (3, 3, 3), padding="same", strides=(1, 1, 1), name=f"{name}_conv")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def build_unet_3d(input_shape=(16, 160, 160, 4), base_filters=32, depth=2, n_classes=3,
                  pool_size=(2, 2, 2), output_activation="sigmoid"):
    """Build the 3-D U-Net of seed 002 (channels last).

    Level ``i`` on the way down has two 3x3x3 convolutions with ``base_filters * 2**i`` and
    ``base_filters * 2**i * 2`` filters, each followed by ReLU, then max pooling (not at the
    bottom level). On the way up, upsampling, concatenation with the level's last down-layer,
    and two convolutions with as many filters as that layer. A 1x1x1 convolution gives one
    channel per class. Seed 002's configuration (depth 2, 32 filters, a 4-channel
    160x160x16 input, 3 classes) has 833,507 parameters.

    Parameters
    ----------
    input_shape : tuple of 4 ints (or None for the three sizes)
        ``(depth, height, width, channels)``; each size must be divisible by the pooling
        factor ``pool_size ** (depth - 1)`` along its axis.
    base_filters : int
        Filters of the first convolution (32 in seed 002).
    depth : int
        Number of levels, >= 1 (2 in seed 002: one pooling).
    n_classes : int
        Output channels, one probability each.
    pool_size : tuple of 3 ints
        ``(2, 2, 2)`` halves every axis; ``(1, 2, 2)`` keeps the number of sections (for thick
        anisotropic sections).
    output_activation : str
        ``"sigmoid"`` (seed 002; classes may overlap) or ``"softmax"``.

    Returns
    -------
    keras.Model
    """
    import keras

    if len(input_shape) != 4:
        raise ValueError(
            f"input_shape must be (depth, height, width, channels), 4 numbers; got {input_shape!r}. "
            f"A one-channel stack of 16 sections of 64x64 pixels is (16, 64, 64, 1)."
        )
    if depth < 1 or base_filters < 1 or n_classes < 1:
        raise ValueError(f"depth, base_filters and n_classes must be >= 1; got {depth}, {base_filters}, {n_classes}.")
    if len(pool_size) != 3:
        raise ValueError(f"pool_size must have 3 numbers (z, y, x); got {pool_size!r}.")
    factors = [p ** (depth - 1) for p in pool_size]
    for axis, (size, factor) in enumerate(zip(input_shape[:3], factors)):
        if size is not None and size % factor:
            raise ValueError(
                f"input_shape axis {axis} is {size}, not divisible by {factor} (pool_size {pool_size} "
                f"applied {depth - 1} times). Crop or pad the volume to a multiple of {factor}."
            )
    inputs = keras.Input(shape=tuple(input_shape), name="volume")
    x, skips = inputs, []
    for level in range(depth):
        filters = base_filters * 2**level
        x = _conv_relu(x, filters, f"down{level}_0")
        x = _conv_relu(x, filters * 2, f"down{level}_1")
        if level < depth - 1:
            skips.append(x)
            x = keras.layers.MaxPooling3D(pool_size=tuple(pool_size), name=f"down{level}_pool")(x)
    for level in reversed(range(depth - 1)):
        x = keras.layers.UpSampling3D(size=tuple(pool_size), name=f"up{level}_upsample")(x)
        x = keras.layers.Concatenate(axis=-1, name=f"up{level}_skip")([x, skips[level]])
        filters = skips[level].shape[-1]
        x = _conv_relu(x, filters, f"up{level}_1")
        x = _conv_relu(x, filters, f"up{level}_2")
    outputs = keras.layers.Conv3D(n_classes, (1, 1, 1), padding="valid", name="classes")(x)
    outputs = keras.layers.Activation(output_activation, name="probabilities")(outputs)
    return keras.Model(inputs, outputs, name=f"unet3d_depth{depth}")


def _as_volume(volume, name):
    volume = np.asarray(volume, dtype=np.float32)
    if volume.ndim == 3:
        volume = volume[..., np.newaxis]
    if volume.ndim != 4:
        raise ValueError(
            f"{name} must be a volume (depth, height, width) or (depth, height, width, channels); "
            f"got shape {volume.shape}."
        )
    return volume


def random_crops_3d(volume, mask, crop_shape, count, seed=0, flip=True):
    """Cut ``count`` random boxes from a volume and its mask, the same box from both.

    Parameters
    ----------
    volume : array_like, shape (D, H, W) or (D, H, W, C)
    mask : array_like, shape (D, H, W) or (D, H, W, K)
        Same D, H, W as ``volume``.
    crop_shape : tuple of 3 ints
        (depth, height, width) of each box; at most the volume's size.
    count : int
    seed : int
        The same seed gives the same boxes.
    flip : bool
        Also flip each box at random along y and x (and swap y and x when the box is square),
        the same way for volume and mask. z is never flipped into y or x: the sections of an
        anisotropic stack are thicker than their pixels.

    Returns
    -------
    volumes : ndarray of float32, shape (count, *crop_shape, C)
    masks : ndarray of float32, shape (count, *crop_shape, K)
    """
    volume, mask = _as_volume(volume, "volume"), _as_volume(mask, "mask")
    if volume.shape[:3] != mask.shape[:3]:
        raise ValueError(f"volume is {volume.shape[:3]} but mask is {mask.shape[:3]} (depth, height, width); they must match.")
    if len(crop_shape) != 3 or any(c < 1 or c > s for c, s in zip(crop_shape, volume.shape[:3])):
        raise ValueError(
            f"crop_shape {tuple(crop_shape)} must be 3 sizes between 1 and the volume's {volume.shape[:3]}."
        )
    rng = np.random.default_rng(seed)
    boxes, labels = [], []
    for _ in range(int(count)):
        start = [rng.integers(0, s - c + 1) for s, c in zip(volume.shape[:3], crop_shape)]
        window = tuple(slice(a, a + c) for a, c in zip(start, crop_shape))
        box, label = volume[window], mask[window]
        if flip:
            for axis in (1, 2):
                if rng.random() < 0.5:
                    box, label = np.flip(box, axis), np.flip(label, axis)
            if crop_shape[1] == crop_shape[2] and rng.random() < 0.5:
                box, label = np.swapaxes(box, 1, 2), np.swapaxes(label, 1, 2)
        boxes.append(box)
        labels.append(label)
    return np.stack(boxes), np.stack(labels)


def window_starts(size, window, step):
    """Return the start positions of windows of ``window`` covering ``0..size`` with at most ``step`` between them.

    The last window ends exactly at ``size``; ``size <= window`` gives ``[0]``.
    """
    if size <= window:
        return [0]
    starts = list(range(0, size - window, step))
    return starts + [size - window]


def predict_volume(model, volume, window, overlap=0.25, batch_size=1):
    """Predict a whole volume with a 3-D model, window by window, averaging where windows overlap.

    Parameters
    ----------
    model : keras.Model
        Takes (batch, *window, C) and returns (batch, *window, K).
    volume : array_like, shape (D, H, W) or (D, H, W, C)
    window : tuple of 3 ints
        (depth, height, width) fed to the model: a size it was built for (divisible by its
        pooling). A volume smaller than the window along an axis is padded with its edge
        values and cropped back after prediction.
    overlap : float
        In [0, 1): share of each window shared with the next; the borders of a window see
        less context, so overlapping and averaging hides the seams.
    batch_size : int

    Returns
    -------
    ndarray of float32, shape (D, H, W, K)
    """
    volume = _as_volume(volume, "volume")
    if len(window) != 3 or min(window) < 1:
        raise ValueError(f"window must be 3 positive sizes (depth, height, width); got {window!r}.")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1); got {overlap!r}.")
    original = volume.shape[:3]
    padding = [(0, max(0, w - s)) for s, w in zip(original, window)] + [(0, 0)]
    volume = np.pad(volume, padding, mode="edge")
    steps = [max(1, int(round(w * (1 - overlap)))) for w in window]
    corners = [
        (z, y, x)
        for z in window_starts(volume.shape[0], window[0], steps[0])
        for y in window_starts(volume.shape[1], window[1], steps[1])
        for x in window_starts(volume.shape[2], window[2], steps[2])
    ]
    total, weight = None, np.zeros(volume.shape[:3] + (1,), np.float32)
    for first in range(0, len(corners), batch_size):
        chunk = corners[first:first + batch_size]
        boxes = np.stack([volume[z:z + window[0], y:y + window[1], x:x + window[2]] for z, y, x in chunk])
        predictions = np.asarray(model.predict(boxes, verbose=0))
        if total is None:
            total = np.zeros(volume.shape[:3] + (predictions.shape[-1],), np.float32)
        for (z, y, x), prediction in zip(chunk, predictions):
            total[z:z + window[0], y:y + window[1], x:x + window[2]] += prediction
            weight[z:z + window[0], y:y + window[1], x:x + window[2]] += 1
    result = total / weight
    return result[: original[0], : original[1], : original[2]]


def split_volumes(volumes, masks, fractions=(0.6, 0.2, 0.2)):
    """Split volumes into training, validation and test parts.

    Several volumes are split volume by volume (at least one each for validation and test);
    a single volume is split along z into consecutive blocks of sections, so that no section
    is in two parts.

    Parameters
    ----------
    volumes : ndarray, shape (N, D, H, W, C)
    masks : ndarray, shape (N, D, H, W, K)
    fractions : tuple of 3 floats
        Shares for training, validation and test.

    Returns
    -------
    train, validation, test : tuple of (volumes, masks)
        Each a pair of arrays of shape (n, d, H, W, C) and (n, d, H, W, K).
    """
    volumes, masks = np.asarray(volumes), np.asarray(masks)
    if volumes.ndim != 5 or masks.shape[:4] != volumes.shape[:4]:
        raise ValueError(
            f"volumes must be (count, depth, height, width, channels) and masks the same but for the "
            f"last axis; got {volumes.shape} and {masks.shape}."
        )
    count, depth = volumes.shape[:2]
    n = count if count > 1 else depth
    n_validation = max(1, int(round(n * fractions[1])))
    n_test = max(1, int(round(n * fractions[2])))
    if n - n_validation - n_test < 1:
        raise ValueError(f"{n} {'volumes' if count > 1 else 'sections'} are too few to split into three parts.")
    bounds = [0, n - n_validation - n_test, n - n_test, n]
    if count > 1:
        return tuple((volumes[a:b], masks[a:b]) for a, b in zip(bounds, bounds[1:]))
    return tuple((volumes[:, a:b], masks[:, a:b]) for a, b in zip(bounds, bounds[1:]))


def slice_explorer(volume, probability, truth=None, *, threshold=0.5, channel=0, foreground="membrane"):
    """A z slider that walks through a volume, drawing prediction and truth over each section.

    Parameters
    ----------
    volume : array_like, shape (D, H, W) or (D, H, W, C)
    probability : array_like, shape (D, H, W) or (D, H, W, 1)
        The prediction for the volume (e.g. from :func:`predict_volume`).
    truth : array_like of 0/1, same shape as ``probability``, optional
    threshold : float
        Probabilities at or above it are drawn as foreground.
    channel : int
        The channel of ``volume`` shown in grey.
    foreground : str
        What the foreground is, for the titles.

    Returns
    -------
    ipywidgets.VBox
        An ``IntSlider`` "section" (0 .. D-1, starting in the middle), an ``HTML`` line with the
        Dice of that section, and an ``Image``.
    """
    import ipywidgets
    from matplotlib.figure import Figure

    from helpers import metrics, plotting, widgets

    volume = _as_volume(volume, "volume")
    probability = _as_volume(probability, "probability")[..., 0]
    if probability.shape != volume.shape[:3]:
        raise ValueError(f"probability is {probability.shape} but volume is {volume.shape[:3]}; predict this volume.")
    if truth is not None:
        truth = _as_volume(truth, "truth")[..., 0]
        if truth.shape != probability.shape:
            raise ValueError(f"truth is {truth.shape} but probability is {probability.shape}; they must match.")
    if not 0 <= channel < volume.shape[-1]:
        raise ValueError(f"channel must be between 0 and {volume.shape[-1] - 1}; got {channel!r}.")
    slider = ipywidgets.IntSlider(value=volume.shape[0] // 2, min=0, max=volume.shape[0] - 1, description="section")
    scores = ipywidgets.HTML()
    picture = ipywidgets.Image(format="png")

    def redraw(change=None):
        z = slider.value
        grey = volume[z, ..., channel]
        predicted = probability[z] >= threshold
        panels = [(grey, "image"), (plotting.overlay(grey, predicted), f"predicted {foreground}")]
        if truth is not None:
            panels.append((plotting.overlay(grey, truth[z]), f"true {foreground}"))
            scores.value = f"section {z}: <b>Dice</b> {metrics.dice_score(truth[z], predicted):.3f}"
        figure = Figure(figsize=(3.4 * len(panels), 3.6), layout="constrained")
        for ax, (shown, title) in zip(figure.subplots(1, len(panels)), panels):
            ax.imshow(shown, cmap="gray", interpolation="nearest")
            ax.set_title(title)
            ax.axis("off")
        picture.value = widgets._render(figure)

    slider.observe(redraw, names="value")
    redraw()
    return ipywidgets.VBox([slider, scores, picture])
