"""How good is a segmentation? Dice, IoU, accuracy, precision, recall, per-class and ISBI scores.

A mask holds 0/1 (1 = foreground); a probability becomes a mask with ``probability >= threshold``
(:func:`foreground`, the one rule of the course, as Keras's ``BinaryIoU``). Every score is
*pooled*: the pixels of all images count together, as Keras metrics report at the end of an epoch.
Light to import (numpy only).
"""

import numpy as np

from helpers._checks import as_class_ids, as_mask, as_probabilities, check_same_shape, check_threshold, foreground

__all__ = [
    "foreground",
    "dice_score",
    "iou_score",
    "pixel_accuracy",
    "precision_recall",
    "evaluate_segmentation",
    "choose_threshold",
    "THRESHOLD_GRID",
    "confusion_matrix",
    "per_class_scores",
    "keras_dice",
    "cells_from_membranes",
    "isbi_errors",
]


def _masks(truth, prediction):
    """Check and convert a pair of masks: same shape, 0/1 values."""
    truth = as_mask(truth, "truth")
    prediction = as_mask(prediction, "prediction")
    check_same_shape(truth, prediction)
    return truth, prediction


def _masks_and_probabilities(truth, probabilities):
    """Check and convert true masks (0/1) and probabilities (0..1) of the same shape."""
    truth = as_mask(truth, "truth")
    probabilities = as_probabilities(probabilities, "probabilities")
    check_same_shape(truth, probabilities, "probabilities")
    return truth, probabilities


def _counts(truth, prediction):
    """Check a pair of masks; return their true positive, false positive and false negative pixels."""
    truth, prediction = _masks(truth, prediction)
    true_positives = np.count_nonzero(truth & prediction)
    false_positives = np.count_nonzero(~truth & prediction)
    false_negatives = np.count_nonzero(truth & ~prediction)
    return true_positives, false_positives, false_negatives


def dice_score(truth, prediction):
    """Dice coefficient of two 0/1 masks of any shape: ``2 |truth AND prediction| / (|truth| + |prediction|)``.

    1.0 if both masks are empty (nothing found where there was nothing to find).

    >>> dice_score([1, 1, 0, 0], [1, 0, 0, 0])  # 2 x 1 / (2 + 1)
    0.6666666666666666
    """
    true_positives, false_positives, false_negatives = _counts(truth, prediction)
    total = 2 * true_positives + false_positives + false_negatives
    return float(2 * true_positives / total) if total else 1.0


def iou_score(truth, prediction):
    """Intersection over union of two 0/1 masks; ``Dice = 2 IoU / (1 + IoU)``; 1.0 if both are empty.

    >>> iou_score([1, 1, 0, 0], [1, 0, 0, 0])
    0.5
    """
    true_positives, false_positives, false_negatives = _counts(truth, prediction)
    union = true_positives + false_positives + false_negatives
    return float(true_positives / union) if union else 1.0


def pixel_accuracy(truth, prediction):
    """Fraction of pixels predicted right (high for "background everywhere" when foreground is rare)."""
    truth, prediction = _masks(truth, prediction)
    return float(np.mean(truth == prediction))


def precision_recall(truth, prediction):
    """Return ``(precision, recall)`` of the foreground, never NaN (0/0 is 1.0 if both masks are empty, else 0.0).

    Precision: the share of predicted foreground that is true; recall: the share of true foreground found.
    """
    true_positives, false_positives, false_negatives = _counts(truth, prediction)
    predicted, actual = true_positives + false_positives, true_positives + false_negatives
    if not predicted and not actual:
        return 1.0, 1.0
    return float(true_positives / predicted if predicted else 0.0), float(true_positives / actual if actual else 0.0)


def evaluate_segmentation(truth, probabilities, threshold=0.5):
    """Score probabilities against true 0/1 masks of the same shape, all images pooled.

    Returns ``{"accuracy", "dice", "iou", "precision", "recall"}`` of ``probabilities >= threshold``.
    """
    truth, probabilities = _masks_and_probabilities(truth, probabilities)
    prediction = foreground(probabilities, threshold)
    precision, recall = precision_recall(truth, prediction)
    scores = {name: _SCORES[name](truth, prediction) for name in ("accuracy", "dice", "iou")}
    return {**scores, "precision": precision, "recall": recall}


#: The scores :func:`choose_threshold` can choose by.
_SCORES = {"dice": dice_score, "iou": iou_score, "accuracy": pixel_accuracy}


#: The thresholds :func:`choose_threshold` tries by default: 0.01, 0.02, ..., 0.99.
THRESHOLD_GRID = np.round(np.arange(0.01, 0.995, 0.01), 2)


def choose_threshold(truth, probabilities, thresholds=None, score="dice"):
    """Return ``(best_threshold, scores)``: the threshold with the best ``score``, on the VALIDATION images.

    Choosing it on the test images would make the test score look better than it is. ``thresholds``:
    by default :data:`THRESHOLD_GRID`; a line warns when the best one lies at the edge of the grid.
    ``score``: "dice", "iou" or "accuracy". Ties go to the lowest threshold.
    """
    if score not in _SCORES:
        raise ValueError(f"score must be one of {', '.join(_SCORES)}, got {score!r}.")
    thresholds = np.asarray(THRESHOLD_GRID if thresholds is None else thresholds, dtype=np.float64).ravel()
    if thresholds.size == 0:
        raise ValueError("thresholds is empty; give at least one threshold to try.")
    for threshold in thresholds:
        check_threshold(threshold)
    truth, probabilities = _masks_and_probabilities(truth, probabilities)
    score_function = _SCORES[score]
    scores = np.array([score_function(truth, foreground(probabilities, t)) for t in thresholds])
    best = int(np.argmax(scores))
    if len(thresholds) > 2 and best in (0, len(thresholds) - 1):
        print(
            f"The best threshold, {thresholds[best]:g}, is at the edge of the thresholds tried "
            f"({thresholds[0]:g} to {thresholds[-1]:g}): the best one may lie beyond it."
        )
    return float(thresholds[best]), scores


def confusion_matrix(truth, prediction, n_classes):
    """Count pixels of two label maps by (true class = row, predicted class = column), as scikit-learn.

    >>> confusion_matrix([0, 1, 1], [0, 1, 0], n_classes=2).tolist()
    [[1, 0], [1, 1]]
    """
    truth = as_class_ids(truth, n_classes, "truth")
    prediction = as_class_ids(prediction, n_classes, "prediction")
    if truth.shape != prediction.shape:
        raise ValueError(f"truth and prediction must have the same shape, got {truth.shape} and {prediction.shape}.")
    pairs = truth.ravel() * n_classes + prediction.ravel()
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_scores(truth, prediction, n_classes):
    """Return ``{"iou": (K,), "dice": (K,)}`` of two label maps, all pixels pooled (absent class: 1.0)."""
    matrix = confusion_matrix(truth, prediction, n_classes).astype(np.float64)
    true_positives = np.diag(matrix)
    false_negatives = matrix.sum(axis=1) - true_positives
    false_positives = matrix.sum(axis=0) - true_positives
    union = true_positives + false_positives + false_negatives
    empty = union == 0
    iou = np.where(empty, 1.0, true_positives / np.where(empty, 1, union))
    dice = np.where(empty, 1.0, 2 * true_positives / np.where(empty, 1, union + true_positives))
    return {"iou": iou, "dice": dice}


def keras_dice(name="dice"):
    """Return a Keras metric for ``model.compile``: :func:`dice_score` at threshold 0.5, pooled over the epoch.

    Keras 3 has a Dice loss but no Dice metric. ``name``: the name in the training log.
    """
    from helpers.keras_metrics import DiceMetric

    return DiceMetric(threshold=0.5, name=name)


def cells_from_membranes(membrane_mask):
    """Label the cells a (height, width[, 1]) membrane mask separates: 4-connected regions, 0 on membranes."""
    from skimage.measure import label

    mask = as_mask(membrane_mask, "membrane_mask")
    mask = mask.reshape(mask.shape[:2]) if mask.ndim == 3 and mask.shape[-1] == 1 else mask
    if mask.ndim != 2:
        raise ValueError(f"membrane_mask must be one 2-D image, got shape {np.shape(membrane_mask)}.")
    return label(~mask.astype(bool), connectivity=1)


def isbi_errors(truth, probabilities, threshold=0.5):
    """The ISBI 2012 challenge's measures, which count cells, not pixels: a one-pixel gap merges two cells.

    Cells are :func:`cells_from_membranes` of the true mask and of ``probability >= threshold``;
    predicted membrane pixels go to the nearest predicted cell, true membrane pixels are left out
    (the challenge's "foreground-restricted" measures); images are scored alone, then averaged.
    Returns ``adapted_rand_error``, ``vi_split`` (cells cut), ``vi_merge`` (cells glued) and
    ``variation_of_information`` (their sum, in bits); 0 means the same cells.
    """
    from skimage.metrics import adapted_rand_error, variation_of_information
    from skimage.segmentation import expand_labels

    truth, probabilities = _masks_and_probabilities(truth, probabilities)
    check_threshold(threshold)
    if truth.ndim == 2 or (truth.ndim == 3 and truth.shape[-1] == 1 and probabilities.ndim == 3):
        truth, probabilities = truth[np.newaxis], probabilities[np.newaxis]
    scores = []
    for true_mask, probability in zip(truth, probabilities):
        true_cells = cells_from_membranes(true_mask)
        predicted_cells = expand_labels(
            cells_from_membranes(foreground(probability, threshold)), distance=max(true_cells.shape)
        )
        rand_error = adapted_rand_error(true_cells, predicted_cells, ignore_labels=(0,))[0]
        split, merge = variation_of_information(true_cells, predicted_cells, ignore_labels=(0,))
        scores.append((rand_error, split, merge))
    rand_error, split, merge = (float(value) for value in np.mean(scores, axis=0))
    return dict(adapted_rand_error=rand_error, vi_split=split, vi_merge=merge, variation_of_information=split + merge)
