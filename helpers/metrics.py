"""How good is a segmentation? Dice, IoU, accuracy, precision and recall.

Two kinds of tools live here:

- numpy functions (``dice_score``, ``iou_score``, ``pixel_accuracy``, ``precision_recall``,
  ``evaluate_segmentation``, ``choose_threshold``) to score predictions on held-out images
  after training;
- ``confusion_matrix`` and ``per_class_scores`` for K classes (label maps, see
  :mod:`helpers.label_maps`);
- ``cells_from_membranes`` and ``isbi_errors``: the ISBI 2012 challenge's own measures
  (adapted Rand error, variation of information), which judge the cells a membrane map
  separates rather than its pixels (scikit-image, imported when called);
- ``keras_dice``, a Keras metric that follows the same Dice during training, in
  ``model.compile(metrics=[...])`` (the Keras class lives in :mod:`helpers.keras_metrics`,
  imported only when asked for).

Course convention: a mask holds 0 and 1 (or False and True), with 1 = foreground (for
example membrane); a prediction of the network holds probabilities between 0 and 1. A
probability becomes a 0/1 mask with ``probabilities >= threshold`` (``foreground``, written once in
``helpers._checks`` and exported here for the notebooks: the one rule of the course), the rule Keras's
``BinaryIoU`` uses as well.

Every score is *pooled*: the pixels of all images are counted together, as if they formed
one big image. That is what the Keras metrics report at the end of an epoch too.

Importing this module is light (numpy only); ``keras_dice`` imports Keras when called.
"""

import numpy as np

from helpers._checks import (
    as_class_ids,
    as_mask,
    as_probabilities,
    check_same_shape,
    check_threshold,
    foreground,
)

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
    """Dice coefficient of two binary masks: twice the overlap over the total size.

    ``Dice = 2 |truth AND prediction| / (|truth| + |prediction|)``, where ``|...|`` counts
    foreground pixels. 1 means the masks are identical, 0 that they do not touch.

    Parameters
    ----------
    truth, prediction : array_like of bool or 0/1
        Masks of the same shape (any number of dimensions, e.g. one image or a batch).

    Returns
    -------
    float
        Between 0 and 1. If both masks are empty the score is 1.0: the prediction found
        nothing where there was nothing to find, a perfect answer (0/0 would give no number).
    """
    true_positives, false_positives, false_negatives = _counts(truth, prediction)
    total = 2 * true_positives + false_positives + false_negatives
    if total == 0:
        return 1.0
    return float(2 * true_positives / total)


def iou_score(truth, prediction):
    """Intersection over union (Jaccard index) of two binary masks.

    ``IoU = |truth AND prediction| / |truth OR prediction|``. It is never larger than the
    Dice score of the same masks: ``Dice = 2 IoU / (1 + IoU)``.

    1.0 if both masks are empty, as :func:`dice_score` (Keras's ``BinaryIoU`` reports 0.0 there).
    """
    true_positives, false_positives, false_negatives = _counts(truth, prediction)
    union = true_positives + false_positives + false_negatives
    if union == 0:
        return 1.0
    return float(true_positives / union)


def pixel_accuracy(truth, prediction):
    """Fraction of pixels whose predicted class equals the true class.

    Beware: when the foreground is rare, predicting "background everywhere" already scores
    high. Dice and IoU do not have this weakness.
    """
    truth, prediction = _masks(truth, prediction)
    return float(np.mean(truth == prediction))


def precision_recall(truth, prediction):
    """Precision and recall of the foreground.

    - precision: of the pixels predicted as foreground, the fraction that truly are;
    - recall: of the true foreground pixels, the fraction that were found.

    Returns ``(precision, recall)``, never NaN: a fraction that would be 0/0 is 1.0 if both
    masks are empty (as :func:`dice_score`) and 0.0 otherwise, so Dice is always their
    harmonic mean, ``2 P R / (P + R)``.
    """
    true_positives, false_positives, false_negatives = _counts(truth, prediction)
    if true_positives + false_positives + false_negatives == 0:
        return 1.0, 1.0
    predicted = true_positives + false_positives
    actual = true_positives + false_negatives
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / actual if actual else 0.0
    return float(precision), float(recall)


def evaluate_segmentation(truth, probabilities, threshold=0.5):
    """Score predicted probabilities against the true masks, all images pooled.

    Parameters
    ----------
    truth : array_like of bool or 0/1
        True masks, e.g. shape (images, height, width, 1).
    probabilities : array_like of float
        The network's output for the same images, same shape, values between 0 and 1.
    threshold : float
        A pixel counts as foreground when its probability is ``>= threshold``.

    Returns
    -------
    dict
        ``{"accuracy", "dice", "iou", "precision", "recall"}``, over all pixels of all images together.
    """
    truth, probabilities = _masks_and_probabilities(truth, probabilities)
    prediction = foreground(probabilities, threshold)
    precision, recall = precision_recall(truth, prediction)
    return {
        "accuracy": pixel_accuracy(truth, prediction),
        "dice": dice_score(truth, prediction),
        "iou": iou_score(truth, prediction),
        "precision": precision,
        "recall": recall,
    }


_SCORES = {"dice": dice_score, "iou": iou_score, "accuracy": pixel_accuracy}


#: The thresholds :func:`choose_threshold` tries by default: 0.01, 0.02, ..., 0.99.
THRESHOLD_GRID = np.round(np.arange(0.01, 0.995, 0.01), 2)


def choose_threshold(truth, probabilities, thresholds=None, score="dice"):
    """Find the threshold that gives the best score, on the validation images.

    Use the validation split only. Choosing the threshold on the test images and then
    reporting the test score makes the result look better than it will be on new images.

    Parameters
    ----------
    truth : array_like of bool or 0/1
        True masks of the validation images.
    probabilities : array_like of float
        The network's output for the same images, same shape, values between 0 and 1.
    thresholds : sequence of float, optional
        Thresholds to try. By default 0.01, 0.02, ..., 0.99 (:data:`THRESHOLD_GRID`). When the best
        one is the first or the last of the grid, a line says so: the best threshold may lie
        outside it (the model is then badly calibrated; look at its probabilities).
    score : {"dice", "iou", "accuracy"}
        Which score to maximise.

    Returns
    -------
    best_threshold : float
        The threshold with the highest score (the lowest such threshold on a tie).
    scores : ndarray
        The score at each threshold, in the order of ``thresholds``.

    Raises
    ------
    ValueError
        For an unknown score, a threshold outside 0..1, or inputs that
        :func:`evaluate_segmentation` would refuse.
    """
    if score not in _SCORES:
        raise ValueError(f"score must be one of {', '.join(_SCORES)}, got {score!r}.")
    if thresholds is None:
        thresholds = THRESHOLD_GRID
    thresholds = np.asarray(thresholds, dtype=np.float64).ravel()
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
    """Count pixels by (true class, predicted class).

    Parameters
    ----------
    truth, prediction : array_like of int
        Label maps of the same shape (a trailing channel axis of 1 is dropped).
    n_classes : int

    Returns
    -------
    ndarray of int64, shape (K, K)
        Row = true class, column = predicted class (as ``sklearn.metrics.confusion_matrix``).
    """
    truth = as_class_ids(truth, n_classes, "truth")
    prediction = as_class_ids(prediction, n_classes, "prediction")
    if truth.shape != prediction.shape:
        raise ValueError(f"truth and prediction must have the same shape, got {truth.shape} and {prediction.shape}.")
    pairs = truth.ravel() * n_classes + prediction.ravel()
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_scores(truth, prediction, n_classes):
    """IoU and Dice of every class, all pixels pooled.

    Parameters
    ----------
    truth, prediction : array_like of int
        Label maps of the same shape.
    n_classes : int

    Returns
    -------
    dict
        ``{"iou": array (K,), "dice": array (K,)}``. A class absent from both truth and
        prediction scores 1.0. ``keras.metrics.IoU(num_classes=K, target_class_ids=[c],
        sparse_y_true=True, sparse_y_pred=True)`` gives the same IoU for a present class.
    """
    matrix = confusion_matrix(truth, prediction, n_classes).astype(np.float64)
    true_positives = np.diag(matrix)
    false_negatives = matrix.sum(axis=1) - true_positives
    false_positives = matrix.sum(axis=0) - true_positives
    union = true_positives + false_positives + false_negatives
    empty = union == 0
    safe = np.where(empty, 1, union)
    iou = np.where(empty, 1.0, true_positives / safe)
    dice = np.where(empty, 1.0, 2 * true_positives / np.where(empty, 1, union + true_positives))
    return {"iou": iou, "dice": dice}


def keras_dice(name="dice"):
    """Keras metric: Dice of the foreground at threshold 0.5, for ``model.compile``.

    Keras 3 has a Dice *loss* but no Dice *metric*, so this returns a small
    :class:`DiceMetric`.

    Parameters
    ----------
    name : str
        The name in the training log; ``history.history`` holds ``name`` (and ``"val_" + name`` with validation data).

    Returns
    -------
    DiceMetric
        The same number as :func:`dice_score` on ``probabilities >= 0.5``, pooled over the
        epoch.
    """
    from helpers.keras_metrics import DiceMetric

    return DiceMetric(threshold=0.5, name=name)


def cells_from_membranes(membrane_mask):
    """Label the cells that a membrane mask separates: 4-connected regions of non-membrane pixels.

    Parameters
    ----------
    membrane_mask : array_like of bool or 0/1, shape (height, width) or (height, width, 1)
        1 (True) on membranes.

    Returns
    -------
    ndarray of int, shape (height, width)
        0 on membranes, 1, 2, ... one number per cell. Pixels touch through their sides only, so
        a membrane one pixel thick that runs diagonally still separates two cells.
    """
    from skimage.measure import label

    mask = as_mask(membrane_mask, "membrane_mask")
    mask = mask.reshape(mask.shape[:2]) if mask.ndim == 3 and mask.shape[-1] == 1 else mask
    if mask.ndim != 2:
        raise ValueError(f"membrane_mask must be one 2-D image, got shape {np.shape(membrane_mask)}.")
    return label(~mask.astype(bool), connectivity=1)


def isbi_errors(truth, probabilities, threshold=0.5):
    """The ISBI 2012 challenge's measures: adapted Rand error and variation of information.

    Dice counts pixels; these count cells. A gap of one pixel in a membrane barely changes Dice,
    but it merges two cells, and these measures see it. Conventions (stated because papers
    differ):

    - cells are the 4-connected regions of non-membrane pixels (:func:`cells_from_membranes`)
      of the true mask and of the thresholded prediction (``probability >= threshold``);
    - the predicted membrane pixels are given to the nearest predicted cell
      (``skimage.segmentation.expand_labels``), so that a thick predicted membrane is not
      counted as one huge cell; the true membrane pixels are left out of the scores
      (``ignore_labels=(0,)`` of ``skimage.metrics``), as in the challenge's
      "foreground-restricted" measures;
    - each image is scored alone and the scores are averaged over the images.

    Parameters
    ----------
    truth : array_like of bool or 0/1
        True membrane masks, shape (height, width), (height, width, 1) or (images, height, width[, 1]).
    probabilities : array_like of float
        Predicted membrane probabilities (or a 0/1 mask), the same shape.
    threshold : float
        A pixel is predicted membrane when its probability is ``>= threshold``.

    Returns
    -------
    dict
        ``"adapted_rand_error"`` (0 = the same cells, up to 1), ``"vi_split"`` (cells cut in
        pieces: H(prediction | truth)), ``"vi_merge"`` (cells glued together: H(truth | prediction))
        and ``"variation_of_information"`` (their sum; 0 = the same cells), in bits, as
        scikit-image computes them.
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
    return {
        "adapted_rand_error": rand_error,
        "vi_split": split,
        "vi_merge": merge,
        "variation_of_information": split + merge,
    }
