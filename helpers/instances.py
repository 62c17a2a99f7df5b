"""From a semantic mask to objects: count, separate, match and measure them.

A U-Net answers "is this pixel a nucleus?"; a biologist asks "how many nuclei, and how big is each?".
A *label image* answers that: 0 is background, every object has its own number 1, 2, 3 ...
"""

import numpy as np
import scipy.ndimage
import skimage.feature
import skimage.filters
import skimage.measure
import skimage.segmentation

from helpers._checks import as_2d, as_label_image, as_mask

__all__ = [
    "MATCH_IOU",
    "label_objects",
    "distance_to_background",
    "separate_touching",
    "threshold_objects",
    "iou_matrix",
    "match_objects",
    "match_many",
    "DSB_THRESHOLDS",
    "average_precision",
    "measure_objects",
    "format_table",
]

#: Objects count as found when their IoU with a true object is at least this (DSB 2018 lowest).
MATCH_IOU = 0.5

#: The IoU thresholds of the 2018 Data Science Bowl's score: 0.5, 0.55, ..., 0.95.
DSB_THRESHOLDS = tuple(round(0.5 + 0.05 * step, 2) for step in range(10))


def label_objects(mask, connectivity=1, min_area=0):
    """Give every connected group of foreground pixels of a mask its own number: an int32 label image.

    ``connectivity`` 1: pixels touch through a side (4 neighbours); 2: sides or corners (8).
    Groups smaller than ``min_area`` pixels are dropped (specks of noise are not nuclei).
    """
    if connectivity not in (1, 2):
        raise ValueError(f"connectivity must be 1 (sides) or 2 (sides and corners); got {connectivity!r}.")
    if not (isinstance(min_area, (int, np.integer)) and min_area >= 0):
        raise ValueError(f"min_area must be a whole number of pixels >= 0; got {min_area!r}.")
    labels = skimage.measure.label(as_mask(as_2d(mask, "mask"), "mask"), connectivity=connectivity)
    if min_area > 0:
        areas = np.bincount(labels.ravel())
        labels[areas[labels] < min_area] = 0
        labels = skimage.segmentation.relabel_sequential(labels)[0]
    return labels.astype(np.int32)


def distance_to_background(mask):
    """Return, for each foreground pixel, its distance in pixels to the nearest background pixel (0 on background).

    >>> distance_to_background([[0, 1, 1, 1]]).tolist()
    [[0.0, 1.0, 2.0, 3.0]]
    """
    return scipy.ndimage.distance_transform_edt(as_mask(as_2d(mask, "mask"), "mask"))


def separate_touching(mask, min_distance=5, connectivity=1, min_area=0):
    """Split touching objects of a mask into an int32 label image: distance transform, seeds, watershed.

    The local maxima of the distance to the background (at least ``min_distance`` pixels apart,
    about the radius of the smallest object) become seeds; the watershed grows them until they
    meet, so two round nuclei that touch are cut at their neck. ``connectivity`` and ``min_area``
    as in :func:`label_objects`.
    """
    if not (isinstance(min_distance, (int, np.integer)) and min_distance >= 1):
        raise ValueError(f"min_distance must be a whole number of pixels >= 1; got {min_distance!r}.")
    components = label_objects(mask, connectivity, min_area)
    mask = components > 0
    distance = scipy.ndimage.distance_transform_edt(mask)
    peaks = skimage.feature.peak_local_max(
        distance, min_distance=int(min_distance), labels=components, exclude_border=False
    )
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    # a component whose maximum is a plateau may get no peak: give it one seed anyway
    seeded = np.unique(components[markers > 0])
    for missing in np.setdiff1d(np.arange(1, components.max() + 1), seeded):
        markers[components == missing] = 0
        row, col = np.argwhere(components == missing)[0]
        markers[row, col] = markers.max() + 1
    labels = skimage.segmentation.watershed(-distance, markers, mask=mask)
    return skimage.segmentation.relabel_sequential(labels)[0].astype(np.int32)


def threshold_objects(image, min_distance=5, min_area=0, threshold=None):
    """Objects without a network, the classical baseline: ``image >= threshold``, then :func:`separate_touching`.

    For bright objects on a dark background; ``threshold``: a grey value, or None for Otsu's threshold
    of this image (the value that best splits its histogram in two). An even image has no objects.
    """
    image = as_2d(image, "image").astype(np.float64)
    if threshold is None:
        if image.min() == image.max():
            return np.zeros(image.shape, np.int32)
        threshold = skimage.filters.threshold_otsu(image)
    return separate_touching(image >= threshold, min_distance, min_area=min_area)


def iou_matrix(true_labels, predicted_labels):
    """Return ``(iou, true_ids, predicted_ids)``: the IoU of every true object (row) with every predicted one."""
    truth = as_label_image(true_labels, "true_labels")
    prediction = as_label_image(predicted_labels, "predicted_labels")
    if truth.shape != prediction.shape:
        raise ValueError(
            f"true_labels has shape {truth.shape} but predicted_labels has {prediction.shape}; "
            f"compare label images of the same image."
        )
    true_ids = np.unique(truth[truth > 0])
    predicted_ids = np.unique(prediction[prediction > 0])
    t = np.searchsorted(true_ids, truth[(truth > 0) & (prediction > 0)])
    p = np.searchsorted(predicted_ids, prediction[(truth > 0) & (prediction > 0)])
    overlap = np.zeros((len(true_ids), len(predicted_ids)))
    np.add.at(overlap, (t, p), 1)
    true_area = np.array([np.sum(truth == i) for i in true_ids], float)
    predicted_area = np.array([np.sum(prediction == j) for j in predicted_ids], float)
    union = true_area[:, None] + predicted_area[None, :] - overlap
    iou = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    return iou, true_ids, predicted_ids


def match_objects(true_labels, predicted_labels, iou_threshold=MATCH_IOU):
    """Pair predicted objects with true objects one to one, best IoU first, at IoU >= ``iou_threshold``.

    Returns a dict: ``true_objects``, ``predicted_objects``, ``matched`` (true positives),
    ``missed`` (false negatives), ``extra`` (false positives), ``precision``, ``recall``, ``f1``
    (1.0 when both are empty), ``mean_matched_iou`` and ``pairs`` (true id, predicted id, IoU).
    """
    if not 0 < iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be in (0, 1]; got {iou_threshold!r}.")
    iou, true_ids, predicted_ids = iou_matrix(true_labels, predicted_labels)
    pairs, used_true, used_predicted = [], set(), set()
    for row, col in zip(*np.unravel_index(np.argsort(-iou, axis=None), iou.shape)):
        if iou[row, col] < iou_threshold:
            break
        if row in used_true or col in used_predicted:
            continue
        used_true.add(row)
        used_predicted.add(col)
        pairs.append((int(true_ids[row]), int(predicted_ids[col]), float(iou[row, col])))
    summary = _match_summary(len(true_ids), len(predicted_ids), [pair[2] for pair in pairs])
    return {**summary, "pairs": pairs}


def _match_summary(n_true, n_predicted, matched_ious):
    """Counts, precision, recall, F1 and mean IoU from the IoUs of the matched pairs."""
    matched = len(matched_ious)
    return {
        "true_objects": n_true,
        "predicted_objects": n_predicted,
        "matched": matched,
        "missed": n_true - matched,
        "extra": n_predicted - matched,
        "precision": matched / n_predicted if n_predicted else float(n_true == 0),
        "recall": matched / n_true if n_true else float(n_predicted == 0),
        "f1": 2 * matched / (n_true + n_predicted) if n_true + n_predicted else 1.0,
        "mean_matched_iou": float(np.mean(matched_ious)) if matched_ious else 0.0,
    }


def match_many(true_label_images, predicted_label_images, iou_threshold=MATCH_IOU):
    """Match objects image by image and add up the counts: :func:`match_objects`' keys without ``pairs``."""
    if len(true_label_images) != len(predicted_label_images):
        raise ValueError(
            f"Got {len(true_label_images)} true and {len(predicted_label_images)} predicted "
            f"label images; give one prediction per image."
        )
    results = [match_objects(t, p, iou_threshold) for t, p in zip(true_label_images, predicted_label_images)]
    return _match_summary(
        sum(r["true_objects"] for r in results),
        sum(r["predicted_objects"] for r in results),
        [pair[2] for r in results for pair in r["pairs"]],
    )


def average_precision(true_labels, predicted_labels, thresholds=DSB_THRESHOLDS):
    """The 2018 Data Science Bowl's "average precision" of one image's objects (not a detection AP).

    At each IoU threshold t (0.5, 0.55, ..., 0.95) objects pair as in :func:`match_objects` (IoU >= t; the
    challenge wrote "> t") and the image scores ``TP / (TP + FP + FN)``; returns the mean over the thresholds.
    """
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if thresholds.size == 0 or np.any((thresholds <= 0) | (thresholds > 1)):
        raise ValueError(f"thresholds must be one or more IoU values in (0, 1]; got {thresholds.tolist()}.")
    scores = []
    for threshold in thresholds:
        counts = match_objects(true_labels, predicted_labels, float(threshold))
        wrong_or_right = counts["matched"] + counts["extra"] + counts["missed"]
        scores.append(counts["matched"] / wrong_or_right if wrong_or_right else 1.0)
    return float(np.mean(scores))


def measure_objects(labels, image):
    """Measure every object of a label image in ``image`` (e.g. the grey image): the table for a spreadsheet.

    Returns a dict of arrays, one entry per object sorted by id: ``label``, ``area`` (pixels),
    ``mean_intensity``, ``max_intensity``, ``centroid_row``, ``centroid_column``, ``eccentricity`` (0 = circle).
    """
    labels = as_label_image(labels, "labels")
    image = as_2d(image, "image").astype(np.float64)
    if image.shape != labels.shape:
        raise ValueError(f"labels has shape {labels.shape} but image {image.shape}; measure the image they come from.")
    names = {"label": "label", "area": "area", "mean_intensity": "intensity_mean", "max_intensity": "intensity_max"}
    names.update(centroid_row="centroid-0", centroid_column="centroid-1", eccentricity="eccentricity")
    properties = ("label", "area", "intensity_mean", "intensity_max", "centroid", "eccentricity")
    table = skimage.measure.regionprops_table(labels, intensity_image=image, properties=properties)
    return {name: table[key].astype(int) if name in ("label", "area") else table[key] for name, key in names.items()}


def format_table(table, rows=10):
    """Return the first ``rows`` rows of a :func:`measure_objects` table as aligned text."""
    names = list(table)
    count = len(table[names[0]]) if names else 0
    lines = ["".join(f"{name:>16}" for name in names)]
    for index in range(min(rows, count)):
        values = [table[name][index] for name in names]
        lines.append("".join(f"{v:>16d}" if np.issubdtype(type(v), np.integer) else f"{v:>16.3f}" for v in values))
    if count > rows:
        lines.append(f"... {count - rows} more objects")
    return "\n".join(lines)
