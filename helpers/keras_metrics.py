"""The Keras metric class of the course: a Dice score accumulated over the batches of an epoch.

Keras 3 has a Dice *loss* but no Dice *metric*. Create it with
:func:`helpers.metrics.keras_dice`, which imports this module (and so Keras) only when asked.
Registered as serializable, so a saved model that used it loads again.
"""

import keras
from keras import ops

from helpers._checks import check_threshold

__all__ = ["DiceMetric"]


@keras.saving.register_keras_serializable(package="unet_course")
class DiceMetric(keras.metrics.Metric):
    """Dice score of thresholded predictions (``probability >= threshold``), accumulated over batches.

    Counts true positive, false positive and false negative pixels over every batch and
    reports ``2 TP / (2 TP + FP + FN)``, exactly like :func:`helpers.metrics.dice_score` on all
    the images at once (1.0 when it has seen no foreground at all).
    """

    def __init__(self, threshold=0.5, name="dice", dtype=None):
        super().__init__(name=name, dtype=dtype)
        check_threshold(threshold)
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
