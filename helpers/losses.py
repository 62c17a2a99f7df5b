"""Losses for training a U-Net: soft Dice and binary cross-entropy plus Dice.

The network outputs a probability per pixel (sigmoid), the masks hold 0 and 1. A loss
must be smooth so that gradients can flow, which is why the *soft* Dice uses the
probabilities themselves instead of a thresholded mask:

``soft Dice loss = 1 - 2 sum(truth * probability) / (sum(truth) + sum(probability))``

- :func:`soft_dice_loss` is that formula in a few lines of ``keras.ops``, to read;
- :func:`dice_loss` returns Keras's own ``keras.losses.Dice``, to train with (the tests
  check that the two give the same number);
- :func:`bce_dice_loss` adds binary cross-entropy, a common and robust choice for
  membranes: cross-entropy looks at every pixel, Dice at the overlap of the foreground.
"""

import keras
from keras import ops

__all__ = ["soft_dice_loss", "dice_loss", "bce_dice_loss", "BceDiceLoss"]


def soft_dice_loss(y_true, y_pred, smooth=1e-7):
    """Soft Dice loss, written out by hand; the same number as ``keras.losses.Dice()``.

    Computes ``1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + smooth)``, where the
    sums run over *every* pixel of *every* image in the batch together: one Dice for the
    whole batch, not one per image. That is what ``keras.losses.Dice()`` does with its
    default ``axis=None``.

    Parameters
    ----------
    y_true : tensor or array
        True masks of 0 and 1, e.g. shape (batch, height, width, 1).
    y_pred : tensor or array
        Predicted probabilities, same shape.
    smooth : float
        Added to the denominator only, so that an all-empty batch does not divide by zero.
        Keras uses ``keras.config.epsilon()``, which is 1e-7. As in Keras, a batch with no
        foreground in the truth nor in the prediction gets a loss of 1, not 0.

    Returns
    -------
    scalar tensor
        Between 0 (perfect overlap) and 1 (no overlap).
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    overlap = ops.sum(y_true * y_pred)
    total = ops.sum(y_true) + ops.sum(y_pred)
    return 1.0 - 2.0 * overlap / (total + smooth)


def dice_loss():
    """Return Keras's soft Dice loss, for ``model.compile(loss=dice_loss())``.

    Returns
    -------
    keras.losses.Dice
        One Dice over all pixels of the batch; see :func:`soft_dice_loss` for the formula.
    """
    return keras.losses.Dice(name="dice_loss")


def bce_dice_loss(bce_weight=1.0, dice_weight=1.0):
    """Return the loss ``bce_weight * binary cross-entropy + dice_weight * Dice loss``.

    Parameters
    ----------
    bce_weight, dice_weight : float
        How much each part counts. Both 1.0 gives plain ``BCE + Dice``.

    Returns
    -------
    BceDiceLoss
        A Keras loss named ``"bce_dice"``, for ``model.compile(loss=bce_dice_loss())``. Its
        value equals ``bce_weight * keras.losses.BinaryCrossentropy()(y_true, y_pred)
        + dice_weight * keras.losses.Dice()(y_true, y_pred)``.
    """
    return BceDiceLoss(bce_weight=bce_weight, dice_weight=dice_weight)


def _match_rank(y_true, y_pred):
    """Drop or add a trailing channel axis of size 1 so both tensors have the same rank."""
    if len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, axis=-1)
    elif len(y_pred.shape) == len(y_true.shape) + 1 and y_pred.shape[-1] == 1:
        y_pred = ops.squeeze(y_pred, axis=-1)
    return y_true, y_pred


@keras.saving.register_keras_serializable(package="unet_course")
class BceDiceLoss(keras.losses.Loss):
    """Binary cross-entropy plus soft Dice loss; create it with :func:`bce_dice_loss`.

    Parameters
    ----------
    bce_weight, dice_weight : float
        Weights of the two parts.
    name : str
        Name of the loss.
    reduction : str
        How Keras averages the per-pixel values; keep the default.
    """

    def __init__(self, bce_weight=1.0, dice_weight=1.0, name="bce_dice", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        for label, weight in (("bce_weight", bce_weight), ("dice_weight", dice_weight)):
            if weight < 0:
                raise ValueError(f"{label} must be zero or positive, got {weight}.")
        self.bce_weight = bce_weight
        self.dice_weight = dice_weight

    def call(self, y_true, y_pred):
        """Return, per pixel, ``bce_weight * BCE + dice_weight * Dice`` (Dice is one number).

        Keras then averages over all pixels, which gives the mean cross-entropy plus the
        Dice loss of the batch. As with ``keras.losses.BinaryCrossentropy``, a
        ``sample_weight`` must give one weight per pixel, shape (batch, height, width).
        """
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        y_true, y_pred = _match_rank(y_true, y_pred)
        cross_entropy = keras.losses.binary_crossentropy(y_true, y_pred)
        dice = keras.losses.dice(y_true, y_pred)
        return self.bce_weight * cross_entropy + self.dice_weight * dice

    def get_config(self):
        """Return the settings needed to rebuild the loss when a saved model is loaded."""
        return {**super().get_config(), "bce_weight": self.bce_weight, "dice_weight": self.dice_weight}
