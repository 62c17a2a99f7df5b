"""K classes stored two ways: label maps and one-hot masks, class weights, and class colours.

- a **label map**: one whole number per pixel, the class id 0..K-1, shape (..., H, W) or
  (..., H, W, 1). Train with ``keras.losses.SparseCategoricalCrossentropy``;
- a **one-hot mask**: K channels, 1 in the channel of the pixel's class and 0 in the others,
  shape (..., H, W, K). Train with ``keras.losses.CategoricalCrossentropy``.

The network ends with K channels and a softmax, so each pixel gets K probabilities that add
up to 1; ``argmax`` over the channels gives the predicted label map (:func:`to_label_map`).
Per-class scores are in :mod:`helpers.metrics`, multi-class losses in :mod:`helpers.losses`.

>>> to_one_hot([[0, 2]], 3).tolist()
[[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]]
"""

import numpy as np

from helpers._checks import as_class_ids

__all__ = ["OKABE_ITO", "to_one_hot", "to_label_map", "class_weights", "pixel_weights", "label_colors", "color_labels"]


def to_one_hot(labels, n_classes):
    """Turn a label map (..., H, W[, 1]) of class ids 0..K-1 (checked) into a float32 one-hot mask (..., H, W, K)."""
    labels = as_class_ids(labels, n_classes)
    return np.eye(n_classes, dtype=np.float32)[labels]


def to_label_map(one_hot_or_probabilities):
    """Return the class with the largest value in each pixel of a one-hot mask or softmax output (..., K).

    >>> to_label_map([[0.2, 0.7, 0.1]]).tolist()
    [1]
    """
    array = np.asarray(one_hot_or_probabilities)
    if array.ndim < 1 or array.shape[-1] < 2:
        raise ValueError(
            f"Expected K >= 2 channels in the last axis, got shape {array.shape}. A label map is "
            "already what this function returns."
        )
    return np.argmax(array, axis=-1)


def class_weights(labels, n_classes):
    """Weights that make every class count the same in total: ``pixels / (K x pixels of class)``.

    The mean weight over all pixels is 1, so the loss keeps its usual size; an absent class gets 0.

    >>> class_weights([0, 0, 0, 1], 2).tolist()
    [0.6666666666666666, 2.0]
    """
    labels = as_class_ids(labels, n_classes)
    counts = np.bincount(labels.ravel(), minlength=n_classes).astype(np.float64)
    weights = np.zeros(n_classes)
    present = counts > 0
    weights[present] = labels.size / (present.sum() * counts[present])
    return weights


def pixel_weights(labels, weights):
    """One weight per pixel, from the weight of its class: pass it as ``sample_weight`` to Keras.

    ``model.fit(class_weight=...)`` expects one label per image; per-pixel ``sample_weight`` works
    for segmentation. ``labels`` (N, H, W[, 1]) give (N, H, W) float32 weights.
    """
    weights = np.asarray(weights, dtype=np.float32)
    if weights.ndim != 1 or np.any(weights < 0):
        raise ValueError(f"weights must be one number >= 0 per class, got {weights!r}.")
    return weights[as_class_ids(labels, len(weights))]


#: Okabe & Ito's colour-blind-safe palette (Okabe M, Ito K. Color Universal Design, 2008;
#: Wong B. Nature Methods 8, 441, 2011), hex codes; black last, so it is used only for the 8th class.
OKABE_ITO = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",  # black
)


def label_colors(n_classes):
    """Return K (1 to 20) RGB colours in 0..1, shape (K, 3), that colour-blind people can tell apart.

    Up to 8 classes Okabe and Ito's palette (:data:`OKABE_ITO`); 9 to 20 matplotlib's ``tab20``,
    distinct but not colour-blind safe (a printed line says so).
    """
    if not 1 <= n_classes <= 20:
        raise ValueError(
            f"label_colors has colours for 1 to 20 classes, got {n_classes}; merge classes or draw them in groups."
        )
    if n_classes > len(OKABE_ITO):
        import matplotlib

        print(f"{n_classes} classes: more than the {len(OKABE_ITO)} colour-blind-safe colours; using tab20.")
        return np.asarray(matplotlib.colormaps["tab20"].colors[:n_classes], dtype=np.float64)
    return np.array([[int(code[i : i + 2], 16) / 255 for i in (1, 3, 5)] for code in OKABE_ITO[:n_classes]])


def color_labels(labels, n_classes, image=None, alpha=0.5):
    """Paint a label map (H, W[, 1]) in the class colours, RGB (H, W, 3) in 0..1.

    With a grey ``image`` in [0, 1] of the same size, the colours are blended over it with weight ``alpha``.
    """
    labels = as_class_ids(labels, n_classes)
    painted = label_colors(n_classes)[labels]
    if image is None:
        return painted
    grey = np.asarray(image, dtype=np.float64)
    if grey.ndim == 3:
        grey = grey[..., 0]
    if grey.shape != labels.shape:
        raise ValueError(f"image has shape {grey.shape} but labels {labels.shape}; they must match.")
    return (1 - alpha) * np.repeat(grey[..., None], 3, axis=-1) + alpha * painted
