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

__all__ = [
    "soft_dice_loss",
    "dice_loss",
    "bce_dice_loss",
    "BceDiceLoss",
    "binary_cross_entropy",
    "weighted_binary_cross_entropy",
    "positive_weights",
    "focal_loss",
    "soft_jaccard_loss",
    "tversky_loss",
    "keras_unet_jaccard_distance",
    "training_loss",
    "LOSS_NAMES",
]


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


# ---------------------------------------------------------------------------------------
# More losses, each written out by hand to read (notebook 04), tested equal to Keras
# ---------------------------------------------------------------------------------------

_EPSILON = 1e-7  # keras.config.epsilon(): probabilities are clipped to [eps, 1 - eps]


def _pair(y_true, y_pred):
    """Return (truth, prediction) as float tensors of the same rank."""
    y_pred = ops.convert_to_tensor(y_pred, dtype="float32")
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    if len(y_true.shape) != len(y_pred.shape):
        y_true, y_pred = _match_rank(y_true, y_pred)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            f"y_true and y_pred must have the same shape, got {tuple(y_true.shape)} and {tuple(y_pred.shape)}."
        )
    return y_true, y_pred


def binary_cross_entropy(y_true, y_pred):
    """Mean binary cross-entropy, by hand: ``mean(-(y log p + (1 - y) log(1 - p)))``.

    The probabilities are first clipped to ``[1e-7, 1 - 1e-7]`` as Keras does, so a
    confident wrong answer costs about 16.1 (``-log(1e-7)``), not infinity. Equals
    ``keras.losses.BinaryCrossentropy()(y_true, y_pred)``.

    Parameters
    ----------
    y_true : tensor or array
        Masks of 0 and 1.
    y_pred : tensor or array
        Probabilities, same shape.

    Returns
    -------
    scalar tensor
        The mean over every pixel of the batch.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    y_pred = ops.clip(y_pred, _EPSILON, 1 - _EPSILON)
    return ops.mean(-(y_true * ops.log(y_pred) + (1 - y_true) * ops.log(1 - y_pred)))


def positive_weights(y_true, positive_weight):
    """Per-pixel weights: ``positive_weight`` on foreground pixels, 1 on background.

    Parameters
    ----------
    y_true : tensor or array
        Masks of 0 and 1.
    positive_weight : float
        Weight of a foreground pixel, > 0. A common choice is background pixels / foreground
        pixels, which makes both classes count the same in total.

    Returns
    -------
    tensor
        Same shape as ``y_true``; pass it as ``sample_weight`` (without a trailing channel
        axis) to ``keras.losses.BinaryCrossentropy``.
    """
    if not positive_weight > 0:
        raise ValueError(f"positive_weight must be a number above 0, got {positive_weight}.")
    y_true = ops.cast(ops.convert_to_tensor(y_true), "float32")
    return 1.0 + (positive_weight - 1.0) * y_true


def weighted_binary_cross_entropy(y_true, y_pred, positive_weight=1.0):
    """Binary cross-entropy where each foreground pixel counts ``positive_weight`` times.

    ``mean(-(w y log p + (1 - y) log(1 - p)))``; with ``positive_weight=1`` it is plain
    binary cross-entropy. Equals ``keras.losses.BinaryCrossentropy()`` called with
    ``sample_weight=positive_weights(y_true, positive_weight)`` (one weight per pixel).

    Parameters
    ----------
    y_true, y_pred : tensor or array
        Masks of 0 and 1 and probabilities, same shape.
    positive_weight : float
        Weight of a foreground pixel, > 0.

    Returns
    -------
    scalar tensor
    """
    y_true, y_pred = _pair(y_true, y_pred)
    weights = ops.cast(positive_weights(y_true, positive_weight), y_pred.dtype)
    y_pred = ops.clip(y_pred, _EPSILON, 1 - _EPSILON)
    return ops.mean(-(weights * y_true * ops.log(y_pred) + (1 - y_true) * ops.log(1 - y_pred)))


def focal_loss(y_true, y_pred, gamma=2.0):
    """Focal loss (Lin et al. 2017): cross-entropy scaled down on easy pixels.

    With ``p_t`` the probability given to the *true* class of a pixel (``p`` on foreground,
    ``1 - p`` on background), the loss of a pixel is ``-(1 - p_t)**gamma log(p_t)``. A pixel
    already right with ``p_t = 0.9`` keeps only ``0.1**2 = 1%`` of its cross-entropy, so the
    many easy background pixels stop drowning the few hard ones. ``gamma=0`` gives plain
    cross-entropy. Equals ``keras.losses.BinaryFocalCrossentropy(gamma=gamma)``.

    Parameters
    ----------
    y_true, y_pred : tensor or array
        Masks of 0 and 1 and probabilities, same shape.
    gamma : float
        Focusing strength, >= 0.

    Returns
    -------
    scalar tensor
        The mean over every pixel.
    """
    if gamma < 0:
        raise ValueError(f"gamma must be zero or positive, got {gamma}.")
    y_true, y_pred = _pair(y_true, y_pred)
    y_pred = ops.clip(y_pred, _EPSILON, 1 - _EPSILON)
    p_true_class = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    return ops.mean(-ops.power(1 - p_true_class, gamma) * ops.log(p_true_class))


def soft_jaccard_loss(y_true, y_pred, smooth=1e-7):
    """Soft Jaccard (IoU) loss: ``1 - sum(y p) / (sum(y) + sum(p) - sum(y p))``.

    The soft version of ``1 - IoU``, pooled over the whole batch like
    :func:`soft_dice_loss`. On 0/1 predictions it is exactly ``1 - IoU``: an all-zero
    prediction of a mask with foreground scores 1.0. Compare
    :func:`keras_unet_jaccard_distance`.

    Parameters
    ----------
    y_true, y_pred : tensor or array
        Masks of 0 and 1 and probabilities, same shape.
    smooth : float
        Added to the denominator so an empty batch does not divide by zero (its loss is 1).

    Returns
    -------
    scalar tensor
        Between 0 and 1.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    overlap = ops.sum(y_true * y_pred)
    union = ops.sum(y_true) + ops.sum(y_pred) - overlap
    return 1.0 - overlap / (union + smooth)


def tversky_loss(y_true, y_pred, false_positive_weight=0.5, false_negative_weight=0.5):
    """Tversky loss (Salehi et al. 2017): a Dice loss that weighs the two mistakes apart.

    ``1 - TP / (TP + a FP + b FN)`` with soft counts ``TP = sum(y p)``,
    ``FP = sum((1 - y) p)``, ``FN = sum(y (1 - p))``. ``a = b = 0.5`` is the Dice loss;
    ``b > a`` punishes missed foreground more, which raises recall on small structures.

    Beware, Keras 3.15: ``keras.losses.Tversky(alpha, beta)`` puts ``alpha`` on the false
    *negatives* and ``beta`` on the false positives, the other way round from its
    documentation. So this function equals ``keras.losses.Tversky(alpha=b, beta=a)``
    (see :func:`training_loss`, which does the swap for you).

    Parameters
    ----------
    y_true, y_pred : tensor or array
        Masks of 0 and 1 and probabilities, same shape.
    false_positive_weight, false_negative_weight : float
        ``a`` and ``b``, each >= 0.

    Returns
    -------
    scalar tensor
        Between 0 and 1, pooled over the batch.
    """
    for label, weight in (("false_positive_weight", false_positive_weight),
                          ("false_negative_weight", false_negative_weight)):
        if weight < 0:
            raise ValueError(f"{label} must be zero or positive, got {weight}.")
    y_true, y_pred = _pair(y_true, y_pred)
    true_positives = ops.sum(y_true * y_pred)
    false_positives = ops.sum((1 - y_true) * y_pred)
    false_negatives = ops.sum(y_true * (1 - y_pred))
    denominator = true_positives + false_positive_weight * false_positives + false_negative_weight * false_negatives
    return 1.0 - true_positives / (denominator + _EPSILON)


def keras_unet_jaccard_distance(y_true, y_pred, smooth=100):
    """keras-unet's ``jaccard_distance``, averaged over pixels the way Keras trains with it.

    keras-unet sums over the *last* axis only. With one channel that is one pixel, so each
    pixel gets its own "Jaccard" and the loss behaves like a mean absolute error, not
    ``1 - IoU``: on a mask with 22% foreground an all-zero prediction scores about 0.22,
    where the true soft Jaccard loss (:func:`soft_jaccard_loss`) is 1.0. Shown in notebook 04
    as the pitfall; do not train with it on one-channel masks.

    Parameters
    ----------
    y_true, y_pred : tensor or array
        Masks of shape (..., 1) and probabilities, same shape.
    smooth : float
        keras-unet's default, 100.

    Returns
    -------
    scalar tensor
        The mean over pixels of keras-unet's per-pixel value.
    """
    from helpers.models import import_keras_unet

    import_keras_unet()
    from keras_unet.losses import jaccard_distance

    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(jaccard_distance(y_true, y_pred, smooth=smooth))


def _jaccard_for_training(y_true, y_pred):
    return soft_jaccard_loss(y_true, y_pred)


def _weighted_bce_for_training(positive_weight):
    def weighted_bce(y_true, y_pred):
        return weighted_binary_cross_entropy(y_true, y_pred, positive_weight)

    return weighted_bce


#: The names :func:`training_loss` knows, in the order notebook 04 compares them.
LOSS_NAMES = ("bce", "weighted bce", "focal", "jaccard", "dice", "tversky", "bce + dice")


def training_loss(name, positive_weight=10.0, gamma=2.0, false_positive_weight=0.3, false_negative_weight=0.7):
    """Return a loss for ``model.compile(loss=...)`` by name, Keras built-ins first.

    Parameters
    ----------
    name : str
        One of :data:`LOSS_NAMES`: ``"bce"`` (``keras.losses.BinaryCrossentropy``),
        ``"weighted bce"`` (:func:`weighted_binary_cross_entropy` with ``positive_weight``),
        ``"focal"`` (``keras.losses.BinaryFocalCrossentropy(gamma)``), ``"jaccard"``
        (:func:`soft_jaccard_loss`), ``"dice"`` (``keras.losses.Dice``), ``"tversky"``
        (``keras.losses.Tversky``, with the weights put where :func:`tversky_loss` says)
        and ``"bce + dice"`` (:func:`bce_dice_loss`).
    positive_weight, gamma, false_positive_weight, false_negative_weight : float
        Settings of the losses that have them.

    Returns
    -------
    keras.losses.Loss or callable
    """
    if name == "bce":
        return keras.losses.BinaryCrossentropy(name="bce")
    if name == "weighted bce":
        return _weighted_bce_for_training(positive_weight)
    if name == "focal":
        return keras.losses.BinaryFocalCrossentropy(gamma=gamma, name="focal")
    if name == "jaccard":
        return _jaccard_for_training
    if name == "dice":
        return dice_loss()
    if name == "tversky":
        # Keras 3.15 puts alpha on the false negatives (see tversky_loss)
        return keras.losses.Tversky(alpha=false_negative_weight, beta=false_positive_weight, name="tversky")
    if name == "bce + dice":
        return bce_dice_loss()
    raise ValueError(f"Unknown loss {name!r}; choose one of {', '.join(map(repr, LOSS_NAMES))}.")
