"""How good is a segmentation? Dice, IoU, accuracy, precision and recall.

Two kinds of tools live here:

- numpy functions (``dice_score``, ``iou_score``, ``pixel_accuracy``, ``precision_recall``,
  ``evaluate_segmentation``, ``choose_threshold``) to score predictions on held-out images
  after training;
- Keras metric factories (``keras_iou``, ``keras_dice``) to follow the same scores during
  training, in ``model.compile(metrics=[...])``.

Course convention: a mask holds 0 and 1 (or False and True), with 1 = foreground (for
example membrane); a prediction of the network holds probabilities between 0 and 1. A
probability becomes a 0/1 mask with ``probabilities >= threshold``, the rule Keras's
``BinaryIoU`` uses as well.

Every score is *pooled*: the pixels of all images are counted together, as if they formed
one big image. That is what the Keras metrics report at the end of an epoch too.

Importing this module loads Keras (and so TensorFlow), because ``DiceMetric`` is a Keras class.
"""

import keras
import numpy as np
from keras import ops

__all__ = [
    "dice_score",
    "iou_score",
    "pixel_accuracy",
    "precision_recall",
    "evaluate_segmentation",
    "choose_threshold",
    "keras_iou",
    "keras_dice",
    "DiceMetric",
]


def _as_mask(array, name):
    """Return ``array`` as a boolean numpy array, or raise if it holds anything but 0 and 1."""
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


def _as_probabilities(array, name):
    """Return ``array`` as a float numpy array, or raise if a value lies outside 0..1."""
    array = np.asarray(array, dtype=np.float64)
    if array.size and (np.nanmin(array) < 0 or np.nanmax(array) > 1 or np.isnan(array).any()):
        raise ValueError(
            f"{name} must be probabilities between 0 and 1, but they range from "
            f"{np.nanmin(array):g} to {np.nanmax(array):g}"
            f"{' and include NaN' if np.isnan(array).any() else ''}. "
            "Did the model's last layer forget its sigmoid activation?"
        )
    return array


def _check_same_shape(truth, prediction, prediction_name="prediction"):
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


def _masks(truth, prediction):
    """Check and convert a pair of masks: same shape, 0/1 values."""
    truth = _as_mask(truth, "truth")
    prediction = _as_mask(prediction, "prediction")
    _check_same_shape(truth, prediction)
    return truth, prediction


def _counts(truth, prediction):
    """Return the number of true positive, false positive and false negative pixels."""
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
        Between 0 and 1. If both masks are empty (no foreground at all) the score is 1.0:
        the prediction found nothing where there was nothing to find, which is a perfect
        answer, and 0/0 would otherwise give no number.

    Raises
    ------
    ValueError
        If the shapes differ or a mask holds values other than 0 and 1.
    """
    truth, prediction = _masks(truth, prediction)
    true_positives, false_positives, false_negatives = _counts(truth, prediction)
    total = 2 * true_positives + false_positives + false_negatives
    if total == 0:
        return 1.0
    return float(2 * true_positives / total)


def iou_score(truth, prediction):
    """Intersection over union (Jaccard index) of two binary masks.

    ``IoU = |truth AND prediction| / |truth OR prediction|``. It is never larger than the
    Dice score of the same masks: ``Dice = 2 IoU / (1 + IoU)``.

    Parameters
    ----------
    truth, prediction : array_like of bool or 0/1
        Masks of the same shape (any number of dimensions).

    Returns
    -------
    float
        Between 0 and 1; 1.0 if both masks are empty, for the same reason as in
        :func:`dice_score`. (Keras's ``BinaryIoU`` reports 0.0 in that case instead; it only
        happens when a whole evaluation holds no foreground at all.)

    Raises
    ------
    ValueError
        If the shapes differ or a mask holds values other than 0 and 1.
    """
    truth, prediction = _masks(truth, prediction)
    true_positives, false_positives, false_negatives = _counts(truth, prediction)
    union = true_positives + false_positives + false_negatives
    if union == 0:
        return 1.0
    return float(true_positives / union)


def pixel_accuracy(truth, prediction):
    """Fraction of pixels whose predicted class equals the true class.

    Beware: when the foreground is rare, predicting "background everywhere" already scores
    high. Dice and IoU do not have this weakness.

    Parameters
    ----------
    truth, prediction : array_like of bool or 0/1
        Masks of the same shape (any number of dimensions).

    Returns
    -------
    float
        Between 0 and 1.

    Raises
    ------
    ValueError
        If the shapes differ or a mask holds values other than 0 and 1.
    """
    truth, prediction = _masks(truth, prediction)
    return float(np.mean(truth == prediction))


def precision_recall(truth, prediction):
    """Precision and recall of the foreground.

    - precision: of the pixels predicted as foreground, the fraction that truly are;
    - recall: of the true foreground pixels, the fraction that were found.

    Parameters
    ----------
    truth, prediction : array_like of bool or 0/1
        Masks of the same shape (any number of dimensions).

    Returns
    -------
    precision, recall : float
        Each between 0 and 1, never NaN. When a fraction would be 0/0 (nothing predicted,
        or nothing to find) it is 1.0 if both masks are empty (a perfect answer, as in
        :func:`dice_score`) and 0.0 otherwise. With this rule the Dice score is always the
        harmonic mean of the two: ``Dice = 2 P R / (P + R)`` (0 when both are 0).

    Raises
    ------
    ValueError
        If the shapes differ or a mask holds values other than 0 and 1.
    """
    truth, prediction = _masks(truth, prediction)
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
        ``{"accuracy", "dice", "iou", "precision", "recall"}``, each a float computed over
        all pixels of all images together.

    Raises
    ------
    ValueError
        If the shapes differ, the masks are not 0/1, the probabilities lie outside 0..1 or
        the threshold is not between 0 and 1.
    """
    truth = _as_mask(truth, "truth")
    probabilities = _as_probabilities(probabilities, "probabilities")
    _check_same_shape(truth, probabilities, "probabilities")
    _check_threshold(threshold)
    prediction = probabilities >= threshold
    precision, recall = precision_recall(truth, prediction)
    return {
        "accuracy": pixel_accuracy(truth, prediction),
        "dice": dice_score(truth, prediction),
        "iou": iou_score(truth, prediction),
        "precision": precision,
        "recall": recall,
    }


def _check_threshold(threshold):
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}.")


_SCORES = {"dice": dice_score, "iou": iou_score, "accuracy": pixel_accuracy}


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
        Thresholds to try. By default 0.05, 0.10, ..., 0.95.
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
        thresholds = np.round(np.arange(0.05, 0.951, 0.05), 2)
    thresholds = np.asarray(thresholds, dtype=np.float64).ravel()
    if thresholds.size == 0:
        raise ValueError("thresholds is empty; give at least one threshold to try.")
    for threshold in thresholds:
        _check_threshold(threshold)
    truth = _as_mask(truth, "truth")
    probabilities = _as_probabilities(probabilities, "probabilities")
    _check_same_shape(truth, probabilities, "probabilities")
    score_function = _SCORES[score]
    scores = np.array([score_function(truth, probabilities >= t) for t in thresholds])
    return float(thresholds[np.argmax(scores)]), scores


# ---------------------------------------------------------------------------------------
# Keras metrics, for model.compile(metrics=[...])
# ---------------------------------------------------------------------------------------


def keras_iou(name="iou"):
    """Keras metric: IoU of the foreground at threshold 0.5, for ``model.compile``.

    Parameters
    ----------
    name : str
        The name shown in the training log and in ``history.history``.

    Returns
    -------
    keras.metrics.BinaryIoU
        ``BinaryIoU(target_class_ids=[1], threshold=0.5)``: the same number as
        :func:`iou_score` on ``probabilities >= 0.5``, pooled over the epoch.
    """
    return keras.metrics.BinaryIoU(target_class_ids=[1], threshold=0.5, name=name)


def keras_dice(name="dice"):
    """Keras metric: Dice of the foreground at threshold 0.5, for ``model.compile``.

    Keras 3 has a Dice *loss* but no Dice *metric*, so this returns a small
    :class:`DiceMetric`.

    Parameters
    ----------
    name : str
        The name shown in the training log and in ``history.history``.

    Returns
    -------
    DiceMetric
        The same number as :func:`dice_score` on ``probabilities >= 0.5``, pooled over the
        epoch.
    """
    return DiceMetric(threshold=0.5, name=name)


@keras.saving.register_keras_serializable(package="unet_course")
class DiceMetric(keras.metrics.Metric):
    """Dice score of thresholded predictions, accumulated over batches.

    The metric counts true positive, false positive and false negative pixels over every
    batch it sees and reports ``2 TP / (2 TP + FP + FN)``: one Dice over all pixels seen,
    exactly like :func:`dice_score` on all the images at once (and 1.0 when it has seen no
    foreground at all). Create it with :func:`keras_dice`.

    Parameters
    ----------
    threshold : float
        A pixel counts as predicted foreground when its probability is ``>= threshold``.
    name : str
        Name of the metric.
    dtype : str, optional
        Keras dtype of the counts.
    """

    def __init__(self, threshold=0.5, name="dice", dtype=None):
        super().__init__(name=name, dtype=dtype)
        _check_threshold(threshold)
        self.threshold = threshold
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")
        self.false_positives = self.add_variable(shape=(), initializer="zeros", name="false_positives")
        self.false_negatives = self.add_variable(shape=(), initializer="zeros", name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the pixel counts of one batch.

        ``y_true`` and ``y_pred`` may differ by a trailing channel axis of size 1; both are
        flattened. ``sample_weight``, if given, is one weight per image or per pixel.
        """
        y_true = ops.reshape(ops.cast(y_true, self.dtype), (-1,))
        y_pred = ops.reshape(ops.cast(ops.convert_to_tensor(y_pred) >= self.threshold, self.dtype), (-1,))
        if sample_weight is None:
            weight = ops.ones_like(y_true)
        else:
            weight = ops.cast(sample_weight, self.dtype)
            per_image = ops.reshape(weight, (ops.shape(weight)[0], -1))
            pixels_per_image = ops.size(y_true) // ops.shape(weight)[0]
            weight = ops.reshape(ops.broadcast_to(per_image, (ops.shape(weight)[0], pixels_per_image)), (-1,))
        self.true_positives.assign_add(ops.sum(weight * y_true * y_pred))
        self.false_positives.assign_add(ops.sum(weight * (1 - y_true) * y_pred))
        self.false_negatives.assign_add(ops.sum(weight * y_true * (1 - y_pred)))

    def result(self):
        """Return ``2 TP / (2 TP + FP + FN)``, or 1.0 when there was no foreground at all."""
        overlap_twice = 2 * self.true_positives
        total = overlap_twice + self.false_positives + self.false_negatives
        return ops.where(total > 0, ops.divide_no_nan(overlap_twice, total), ops.ones_like(total))

    def reset_state(self):
        """Set the counts back to zero (Keras does this at the start of every epoch)."""
        for variable in (self.true_positives, self.false_positives, self.false_negatives):
            variable.assign(ops.zeros_like(variable))

    def get_config(self):
        """Return the settings needed to rebuild the metric when a saved model is loaded."""
        return {**super().get_config(), "threshold": self.threshold}
