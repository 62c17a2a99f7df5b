"""Losses for training a U-Net, each written out by hand to read and tested equal to Keras.

Every loss computes in float32, also when the model runs in mixed precision.

The *soft* Dice uses the probabilities themselves, so gradients flow:
``1 - 2 sum(truth * probability) / (sum(truth) + sum(probability))``. The formulas are plain
functions ``loss(y_true, y_pred, **settings)``; to train, ONE factory, :func:`training_loss`,
returns a Keras ``Loss`` by name, Keras built-ins first.
"""

import keras
from keras import ops

__all__ = [
    "soft_dice_loss",
    "binary_cross_entropy",
    "weighted_binary_cross_entropy",
    "positive_weights",
    "focal_loss",
    "soft_jaccard_loss",
    "tversky_loss",
    "multiclass_dice_loss",
    "training_loss",
    "LOSS_NAMES",
    "MULTICLASS_LOSS_NAMES",
    "BceDiceLoss",
    "CrossEntropyDiceLoss",
]


def soft_dice_loss(y_true, y_pred, smooth=1e-7):
    """Soft Dice loss over every pixel of the batch together; the same number as ``keras.losses.Dice()``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return 1.0 - 2.0 * ops.sum(y_true * y_pred) / (ops.sum(y_true) + ops.sum(y_pred) + smooth)


def _match_rank(y_true, y_pred):
    """Drop or add a trailing channel axis of size 1 so both tensors have the same rank."""
    if len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, axis=-1)
    elif len(y_pred.shape) == len(y_true.shape) + 1 and y_pred.shape[-1] == 1:
        y_pred = ops.squeeze(y_pred, axis=-1)
    return y_true, y_pred


@keras.saving.register_keras_serializable(package="unet_course")
class BceDiceLoss(keras.losses.Loss):
    """Binary cross-entropy plus soft Dice loss; create it with ``training_loss("bce + dice")``."""

    def __init__(self, bce_weight=1.0, dice_weight=1.0, name="bce_dice", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        _check_non_negative(bce_weight=bce_weight, dice_weight=dice_weight)
        self.bce_weight, self.dice_weight = bce_weight, dice_weight

    def call(self, y_true, y_pred):
        """Return, per pixel, ``bce_weight * BCE + dice_weight * Dice`` (the Dice of the batch)."""
        y_pred = ops.convert_to_tensor(y_pred, dtype="float32")
        y_true = ops.cast(y_true, y_pred.dtype)
        y_true, y_pred = _match_rank(y_true, y_pred)
        cross_entropy = keras.losses.binary_crossentropy(y_true, y_pred)
        dice = keras.losses.dice(y_true, y_pred)
        return self.bce_weight * cross_entropy + self.dice_weight * dice

    def get_config(self):  # the settings that rebuild the loss when a saved model is loaded
        return {**super().get_config(), "bce_weight": self.bce_weight, "dice_weight": self.dice_weight}


_EPSILON = 1e-7  # keras.config.epsilon(): probabilities are clipped to [eps, 1 - eps]


def _check_non_negative(**weights):
    for label, weight in weights.items():
        if weight < 0:
            raise ValueError(f"{label} must be zero or positive, got {weight}.")


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
    """Mean binary cross-entropy ``mean(-(y log p + (1 - y) log(1 - p)))``, p clipped to [1e-7, 1 - 1e-7] as Keras."""
    return weighted_binary_cross_entropy(y_true, y_pred, positive_weight=1.0)


def positive_weights(y_true, positive_weight):
    """Per-pixel weights, ``positive_weight`` on foreground and 1 on background (a ``sample_weight``)."""
    if not positive_weight > 0:
        raise ValueError(f"positive_weight must be a number above 0, got {positive_weight}.")
    y_true = ops.cast(ops.convert_to_tensor(y_true), "float32")
    return 1.0 + (positive_weight - 1.0) * y_true


def weighted_binary_cross_entropy(y_true, y_pred, positive_weight=1.0):
    """Binary cross-entropy where each foreground pixel counts ``positive_weight`` (> 0) times."""
    y_true, y_pred = _pair(y_true, y_pred)
    weights = ops.cast(positive_weights(y_true, positive_weight), y_pred.dtype)
    y_pred = ops.clip(y_pred, _EPSILON, 1 - _EPSILON)
    return ops.mean(-(weights * y_true * ops.log(y_pred) + (1 - y_true) * ops.log(1 - y_pred)))


def focal_loss(y_true, y_pred, gamma=2.0):
    """Focal loss (Lin et al. 2017): ``-(1 - p_t)**gamma log(p_t)``, cross-entropy scaled down on easy pixels.

    ``p_t`` is the probability of the true class; ``gamma=0`` gives plain cross-entropy.
    """
    _check_non_negative(gamma=gamma)
    y_true, y_pred = _pair(y_true, y_pred)
    y_pred = ops.clip(y_pred, _EPSILON, 1 - _EPSILON)
    p_true_class = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    return ops.mean(-ops.power(1 - p_true_class, gamma) * ops.log(p_true_class))


def soft_jaccard_loss(y_true, y_pred, smooth=1e-7):
    """Soft Jaccard (IoU) loss ``1 - sum(y p) / (sum(y) + sum(p) - sum(y p))``, pooled over the batch."""
    y_true, y_pred = _pair(y_true, y_pred)
    overlap = ops.sum(y_true * y_pred)
    union = ops.sum(y_true) + ops.sum(y_pred) - overlap
    return 1.0 - overlap / (union + smooth)


def tversky_loss(y_true, y_pred, false_positive_weight=0.5, false_negative_weight=0.5):
    """Tversky loss (Salehi et al. 2017): ``1 - TP / (TP + a FP + b FN)`` with soft counts, pooled over the batch.

    ``a = b = 0.5`` is the Dice loss; ``b > a`` punishes missed foreground more. Keras 3.15's
    ``Tversky(alpha, beta)`` puts ``alpha`` on the false negatives: this equals ``Tversky(alpha=b, beta=a)``.
    """
    _check_non_negative(false_positive_weight=false_positive_weight, false_negative_weight=false_negative_weight)
    y_true, y_pred = _pair(y_true, y_pred)
    true_positives = ops.sum(y_true * y_pred)
    false_positives, false_negatives = ops.sum((1 - y_true) * y_pred), ops.sum(y_true * (1 - y_pred))
    weighted_errors = false_positive_weight * false_positives + false_negative_weight * false_negatives
    return 1.0 - true_positives / (true_positives + weighted_errors + _EPSILON)


def multiclass_dice_loss(y_true, y_pred, smooth=1e-7):
    """Soft Dice loss of each class of one-hot masks, averaged over the classes (``keras.losses.Dice(axis=(0, 1, 2))``)."""
    y_pred = ops.convert_to_tensor(y_pred, dtype="float32")
    y_true = ops.cast(y_true, y_pred.dtype)
    axes = tuple(range(len(y_pred.shape) - 1))
    overlap = ops.sum(y_true * y_pred, axis=axes)
    total = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
    return ops.mean(1.0 - 2.0 * overlap / (total + smooth))


@keras.saving.register_keras_serializable(package="unet_course")
class CrossEntropyDiceLoss(keras.losses.Loss):
    """Sparse categorical cross-entropy plus ``dice_weight`` times multi-class Dice, for (N, H, W, 1) label maps."""

    def __init__(self, n_classes, dice_weight=1.0, name="cross_entropy_dice", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        if not (isinstance(n_classes, int) and n_classes >= 2):
            raise ValueError(f"n_classes must be a whole number of at least 2, got {n_classes!r}.")
        _check_non_negative(dice_weight=dice_weight)
        self.n_classes, self.dice_weight = n_classes, dice_weight
        self._cross_entropy = keras.losses.SparseCategoricalCrossentropy()

    def call(self, y_true, y_pred):
        return self._cross_entropy(y_true, y_pred) + self.dice_weight * _label_map_dice(y_true, y_pred, self.n_classes)

    def get_config(self):
        return {**super().get_config(), "n_classes": self.n_classes, "dice_weight": self.dice_weight}


#: The names :func:`training_loss` knows for one structure, in the order notebook 04 compares them.
LOSS_NAMES = ("bce", "weighted bce", "focal", "jaccard", "dice", "tversky", "bce + dice")
#: The names :func:`training_loss` knows for K classes (masks are label maps, outputs softmax).
MULTICLASS_LOSS_NAMES = ("cross-entropy", "cross-entropy + dice", "multi-class dice")


class FormulaLoss(keras.losses.Loss):
    """A Keras Loss around a formula of this module (which already averages the batch)."""

    def __init__(self, formula, name, **settings):
        super().__init__(name=name)
        self.formula, self.settings = formula, settings

    def call(self, y_true, y_pred):
        return self.formula(y_true, y_pred, **self.settings)


def _label_map_dice(y_true, y_pred, n_classes):
    """:func:`multiclass_dice_loss` of a label map (N, H, W, 1) against softmax probabilities."""
    class_ids = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:-1]), "int32")
    return multiclass_dice_loss(ops.one_hot(class_ids, n_classes, dtype=y_pred.dtype), y_pred)


def training_loss(
    name,
    *,
    positive_weight=10.0,
    gamma=2.0,
    false_positive_weight=0.3,
    false_negative_weight=0.7,
    bce_weight=1.0,
    dice_weight=1.0,
    n_classes=None,
):
    """Return a loss for ``model.compile(loss=...)`` by name, Keras built-ins first.

    ``name``: one of :data:`LOSS_NAMES` (0/1 masks, sigmoid output) or :data:`MULTICLASS_LOSS_NAMES`
    (label maps, softmax output; the Dice ones need ``n_classes``). The other settings go to the
    losses that have them.
    """
    if name in ("cross-entropy + dice", "multi-class dice") and n_classes is None:
        raise ValueError(f"The loss {name!r} needs n_classes=K, the number of classes.")
    makers = {
        "bce": lambda: keras.losses.BinaryCrossentropy(name="bce"),
        "weighted bce": lambda: FormulaLoss(
            weighted_binary_cross_entropy, "weighted_bce", positive_weight=positive_weight
        ),
        "focal": lambda: keras.losses.BinaryFocalCrossentropy(gamma=gamma, name="focal"),
        "jaccard": lambda: FormulaLoss(soft_jaccard_loss, "jaccard"),
        "dice": lambda: keras.losses.Dice(name="dice_loss"),
        # Keras 3.15 puts alpha on the false negatives (see tversky_loss)
        "tversky": lambda: keras.losses.Tversky(
            alpha=false_negative_weight, beta=false_positive_weight, name="tversky"
        ),
        "bce + dice": lambda: BceDiceLoss(bce_weight=bce_weight, dice_weight=dice_weight),
        "cross-entropy": lambda: keras.losses.SparseCategoricalCrossentropy(name="cross_entropy"),
        "cross-entropy + dice": lambda: CrossEntropyDiceLoss(n_classes, dice_weight=dice_weight),
        "multi-class dice": lambda: FormulaLoss(_label_map_dice, "multi_class_dice", n_classes=n_classes),
    }
    if name not in makers:
        raise ValueError(f"Unknown loss {name!r}; choose one of {', '.join(map(repr, makers))}.")
    return makers[name]()
