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

__all__ = [
    "OKABE_ITO",
    "to_one_hot",
    "to_label_map",
    "class_weights",
    "pixel_weights",
    "label_colors",
    "color_labels",
]


def to_one_hot(labels, n_classes):
    """Turn a label map into a one-hot mask.

    Parameters
    ----------
    labels : array_like of int
        Class ids 0..n_classes-1, shape (..., H, W) or (..., H, W, 1).
    n_classes : int
        K, the number of classes (>= 2).

    Returns
    -------
    ndarray of float32, shape (..., H, W, K)

    Raises
    ------
    ValueError
        If a label lies outside 0..K-1 or is not a whole number.
    """
    labels = as_class_ids(labels, n_classes)
    return np.eye(n_classes, dtype=np.float32)[labels]


def to_label_map(one_hot_or_probabilities):
    """Return the class with the largest value in each pixel (argmax over the last axis).

    Parameters
    ----------
    one_hot_or_probabilities : array_like, shape (..., K)
        A one-hot mask or the softmax output of a network.

    Returns
    -------
    ndarray of int64, shape (...)
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

    Parameters
    ----------
    labels : array_like of int
        Label maps of the training images.
    n_classes : int

    Returns
    -------
    ndarray of float64, shape (K,)
        A class with no pixel gets weight 0 (there is nothing to weigh). With these weights
        the mean weight over all pixels is 1, so the loss keeps its usual size.
    """
    labels = as_class_ids(labels, n_classes)
    counts = np.bincount(labels.ravel(), minlength=n_classes).astype(np.float64)
    weights = np.zeros(n_classes)
    present = counts > 0
    weights[present] = labels.size / (present.sum() * counts[present])
    return weights


def pixel_weights(labels, weights):
    """One weight per pixel, from the weight of its class: pass as ``sample_weight`` to Keras.

    ``model.fit(class_weight=...)`` does not work for segmentation (it expects one label per
    image); per-pixel ``sample_weight`` does.

    Parameters
    ----------
    labels : array_like of int
        Label maps, shape (N, H, W) or (N, H, W, 1).
    weights : sequence of float, length K

    Returns
    -------
    ndarray of float32, shape (N, H, W)
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
    """Return K colours that people with the common colour-vision deficiencies can tell apart.

    Up to 8 classes the colours are Okabe and Ito's palette (:data:`OKABE_ITO`), in its order.
    For 9 to 20 classes (a researcher's own data can have more classes than any palette is
    safe for) they are matplotlib's ``tab20``: distinct, but not colour-blind safe; a line says so.

    Parameters
    ----------
    n_classes : int
        K, from 1 to 20.

    Returns
    -------
    ndarray of float64, shape (K, 3)
        RGB values in 0..1.
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
    """Paint a label map in colours, optionally blended over a grey image.

    Parameters
    ----------
    labels : array_like of int, shape (H, W) or (H, W, 1)
    n_classes : int
    image : array_like, shape (H, W) or (H, W, 1), optional
        Grey image in [0, 1] to draw under the colours.
    alpha : float
        Weight of the colours over the image.

    Returns
    -------
    ndarray of float64, shape (H, W, 3), values in 0..1
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
