"""The checks every module shares: one place for each rule about the shape and values of inputs.

Private to the helpers: modules call these at their boundary, so the same mistake gets the same
message everywhere. :func:`foreground` is THE threshold rule, ``probability >= threshold``.
"""

import numpy as np

from helpers.course import MODES


def as_mask(array, name="mask"):
    """Return ``array`` as a bool numpy array, or raise if it holds anything but 0 and 1.

    >>> as_mask([0, 1, 1]).tolist()
    [False, True, True]
    """
    array = np.asarray(array)
    if array.dtype == bool:
        return array
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be a mask of 0 and 1, but it holds values of type {array.dtype}.")
    is_zero_or_one = (array == 0) | (array == 1)
    if not np.all(is_zero_or_one):
        example = array[~is_zero_or_one].flat[0]
        raise ValueError(
            f"{name} must be a binary mask of 0 and 1 (or False and True), but it contains {example!r}. "
            "If these are probabilities, turn them into a mask first, e.g. probabilities >= 0.5."
        )
    return array.astype(bool)


def as_probabilities(array, name="probabilities"):
    """Return ``array`` as a float64 numpy array, or raise if a value lies outside 0..1 or is NaN."""
    array = np.asarray(array, dtype=np.float64)
    if array.size and (np.nanmin(array) < 0 or np.nanmax(array) > 1 or np.isnan(array).any()):
        raise ValueError(
            f"{name} must be probabilities between 0 and 1, but they range from "
            f"{np.nanmin(array):g} to {np.nanmax(array):g}"
            f"{' and include NaN' if np.isnan(array).any() else ''}. "
            "Did the model's last layer forget its sigmoid activation?"
        )
    return array


def check_same_shape(truth, prediction, prediction_name="prediction"):
    """Raise a ValueError naming both shapes if they differ, or if the arrays are empty."""
    if truth.shape != prediction.shape:
        hint = ""
        if truth.shape + (1,) == prediction.shape or truth.shape == prediction.shape + (1,):
            hint = " One of them has an extra channel axis of size 1; remove it with np.squeeze(..., axis=-1)."
        raise ValueError(
            f"truth and {prediction_name} must have the same shape, but truth has shape "
            f"{truth.shape} and {prediction_name} has shape {prediction.shape}.{hint}"
        )
    if truth.size == 0:
        raise ValueError(f"truth and {prediction_name} are empty (shape {truth.shape}); there is nothing to score.")


def check_threshold(threshold):
    """Raise a ValueError unless ``threshold`` is a number between 0 and 1."""
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}.")


def foreground(probabilities, threshold=0.5):
    """Turn probabilities into a mask: THE rule of the course, ``probability >= threshold``.

    >>> foreground([0.2, 0.5, 0.9]).tolist()
    [False, True, True]
    """
    check_threshold(threshold)
    return np.asarray(probabilities) >= threshold


def as_image(image):
    """Return a float32 (height, width, channels) array and whether the input was 2-D."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        return image[..., np.newaxis], True
    if image.ndim != 3:
        raise ValueError(f"image must be (height, width) or (height, width, channels); got shape {image.shape}.")
    return image, False


def as_2d(array, name):
    """Return one 2-D image; a trailing channel axis of size 1 is dropped."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be one 2-D image (height, width) or (height, width, 1); got shape "
            f"{array.shape}. Pass one image at a time, e.g. {name}[0]."
        )
    return array


def as_picture(array, name):
    """Return one image as (height, width) or (height, width, 3), dropping axes of size 1 around it."""
    array = np.asarray(array)
    if array.ndim == 4 and array.shape[0] == 1:  # a Keras batch holding one image
        array = array[0]
    while array.ndim > 2 and array.shape[-1] == 1:  # channel axis of a grey image
        array = array[..., 0]
    if array.ndim == 3 and array.shape[0] == 1 and array.shape[-1] != 3:
        array = array[0]
    if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3):
        return array
    raise ValueError(
        f"{name} must be one image of shape (height, width), (height, width, 1) or "
        f"(height, width, 3), but it has shape {array.shape}."
    )


def as_volume(volume, name):
    """Return a float32 (depth, height, width, channels) volume; a 3-D array gets one channel."""
    volume = np.asarray(volume, dtype=np.float32)
    if volume.ndim == 3:
        volume = volume[..., np.newaxis]
    if volume.ndim != 4:
        raise ValueError(
            f"{name} must be a volume (depth, height, width) or (depth, height, width, channels); "
            f"got shape {volume.shape}."
        )
    return volume


def as_class_ids(labels, n_classes, name="labels"):
    """Return a label map as int64 without a trailing channel axis of 1, checked against ``n_classes``."""
    if not (isinstance(n_classes, (int, np.integer)) and n_classes >= 2):
        raise ValueError(f"n_classes must be a whole number of at least 2, got {n_classes!r}.")
    labels = np.asarray(labels)
    if labels.ndim >= 3 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if labels.dtype == bool or not np.all(np.mod(labels, 1) == 0):
            raise ValueError(
                f"{name} must hold whole class ids 0..{n_classes - 1}, but holds values of type {labels.dtype}"
                f"{'' if labels.dtype == bool else ' that are not whole numbers'}. Is it a one-hot mask or "
                "probabilities? Use label_maps.to_label_map() first."
            )
    labels = labels.astype(np.int64)
    outside = (labels < 0) | (labels >= n_classes)
    if np.any(outside):
        bad = np.unique(labels[outside])[:5].tolist()
        raise ValueError(
            f"{name} holds class ids {bad} outside 0..{n_classes - 1} (n_classes={n_classes}). Number the "
            f"classes 0, 1, ..., {n_classes - 1} (e.g. with np.searchsorted on the grey values), or raise n_classes."
        )
    return labels


def as_label_image(labels, name):
    """Return a label image (0 = background, 1, 2, ... = one number per object) as int64, checked."""
    labels = as_2d(labels, name)
    if labels.dtype.kind not in "iub" or (labels.size and labels.min() < 0):
        raise ValueError(
            f"{name} must be a label image of whole numbers >= 0 (0 = background, 1, 2, ... = "
            f"objects); got type {labels.dtype}. Use instances.label_objects() or "
            f"instances.separate_touching() to make one."
        )
    return labels.astype(np.int64)


def check_mode(mode):
    """Raise a ValueError unless ``mode`` is one of the notebook modes (``"default"``, ``"smoke"``)."""
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; use one of {', '.join(MODES)}.")
