"""The Keras Dice metric of the course; create it with :func:`helpers.metrics.keras_dice`."""

import keras
from keras import ops

from helpers._checks import check_threshold

__all__ = ["DiceMetric"]


@keras.saving.register_keras_serializable(package="unet_course")
class DiceMetric(keras.metrics.Metric):
    """Dice of ``probability >= threshold``, pooled over the batches as :func:`helpers.metrics.dice_score`."""

    def __init__(self, threshold=0.5, name="dice", dtype=None):
        super().__init__(name=name, dtype=dtype)
        check_threshold(threshold)
        self.threshold = threshold
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")
        self.false_positives = self.add_variable(shape=(), initializer="zeros", name="false_positives")
        self.false_negatives = self.add_variable(shape=(), initializer="zeros", name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the pixel counts of one batch; ``sample_weight``: one weight per image or per pixel."""
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
        overlap_twice = 2 * self.true_positives
        total = overlap_twice + self.false_positives + self.false_negatives
        return ops.where(total > 0, ops.divide_no_nan(overlap_twice, total), ops.ones_like(total))

    def reset_state(self):
        for variable in (self.true_positives, self.false_positives, self.false_negatives):
            variable.assign(ops.zeros_like(variable))

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}
