"""Exercises of notebook 01 (introduction to U-Net), each with a ``check_...()`` function."""

import numpy as np

from helpers.exercises.common import as_number, judge_array, judge_number, say
from helpers.exercises.predictions import judge_choice, judge_direction, read_word

__all__ = [
    "CONVOLUTION_IMAGE",
    "CONVOLUTION_KERNEL",
    "POOLING_IMAGE",
    "DICE_TRUTH",
    "DICE_PREDICTION",
    "check_convolution",
    "check_max_pooling",
    "check_unet_output_size",
    "check_dice",
    "unet_valid_output_size",
    "GAP_TRUTH",
    "reference_small_unet",
    "check_small_unet",
    "check_recall_prediction",
    "membrane_with_gap",
    "check_gap_prediction",
    "check_learning_rate_prediction",
]

#: Exercise 1: a 4x4 image ...
CONVOLUTION_IMAGE = np.array([[3, 1, 0, 2], [1, 4, 2, 0], [0, 2, 5, 1], [2, 0, 1, 3]])
#: ... and a 3x3 kernel that responds to vertical edges (bright on the left, dark on the right).
CONVOLUTION_KERNEL = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]])

#: Exercise 2: a 4x4 image for 2x2 max pooling with stride 2.
POOLING_IMAGE = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 3, 2], [6, 2, 0, 1]])

#: Exercise 4: a true mask (6 foreground pixels) ...
DICE_TRUTH = np.array([[0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
#: ... and a predicted mask (5 foreground pixels, 4 of them on the true mask).
DICE_PREDICTION = np.array([[0, 0, 1, 0], [0, 1, 1, 1], [0, 1, 0, 0], [0, 0, 0, 0]])


# --- the expected answers, computed plainly -------------------------------------------


def _cross_correlate_valid(image, kernel):
    """Slide ``kernel`` over ``image`` without flipping it, only where it fits ('valid')."""
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
    return np.einsum("ijkl,kl->ij", windows, kernel)


def _pool_2x2(image, reduce):
    """Apply ``reduce`` (e.g. ``np.max``) to each non-overlapping 2x2 block of an image of even sides."""
    return reduce(image.reshape(image.shape[0] // 2, 2, image.shape[1] // 2, 2), axis=(1, 3))


def unet_valid_output_size(input_size, n_poolings=4):
    """Side of the original U-Net's output (valid padding, ``n_poolings`` poolings) for a square input.

    Down, each level trims 4 pixels (two 3x3 convolutions) and halves; the bottom trims 4; up,
    each level doubles and trims 4. Ronneberger et al. (2015): 572 -> 388.
    """
    size = input_size
    for level in range(1, n_poolings + 1):
        size -= 4
        if size <= 0 or size % 2:
            raise ValueError(
                f"An input of {input_size!r} pixels does not fit the U-Net: at level {level} the feature map "
                f"is {size} pixels wide, which 2x2 pooling cannot halve. 252 and 572 fit."
            )
        size //= 2
    size -= 4
    for _ in range(n_poolings):
        size = 2 * size - 4
    if size <= 0:
        raise ValueError(f"An input of {input_size} pixels is too small for the U-Net: its convolutions leave nothing.")
    return size


EXPECTED_CONVOLUTION = _cross_correlate_valid(CONVOLUTION_IMAGE, CONVOLUTION_KERNEL)
EXPECTED_MAX_POOLING = _pool_2x2(POOLING_IMAGE, np.max)


# --- the checks -----------------------------------------------------------------------


def check_convolution(answer):
    """Check your 2x2 'valid' convolution of ``CONVOLUTION_IMAGE`` with ``CONVOLUTION_KERNEL``, as Keras's
    ``Conv2D(1, 3, padding="valid", use_bias=False)`` computes it (the kernel is not flipped)."""
    flipped = _cross_correlate_valid(CONVOLUTION_IMAGE, CONVOLUTION_KERNEL[::-1, ::-1])
    return judge_array(
        answer,
        EXPECTED_CONVOLUTION,
        "Correct! A Conv2D layer does exactly this at every position, with kernel numbers it learns during training.",
        "Not yet: {right}. For each position multiply the 3x3 patch by the kernel, number by number, and add the 9 products.",
        shape_hints=[
            (
                CONVOLUTION_IMAGE.shape,
                "Expected a 2 x 2 array: with 'valid' padding the kernel must fit inside the image, "
                "so the output is smaller than the input (4 - 3 + 1 = 2).",
            ),
            (None, "Expected a 2 x 2 array (4 - 3 + 1 = 2 positions each way), got shape {shape}."),
        ],
        mistakes=[
            (flipped, "Did you flip the kernel? Keras does not: lay it on the image as printed."),
            (
                EXPECTED_CONVOLUTION.T,
                "Rows and columns are swapped: the first row of the output comes from the top of the image.",
            ),
        ],
    )


def check_max_pooling(answer):
    """Check your 2x2 result of 2x2 max pooling with stride 2 of ``POOLING_IMAGE``."""
    return judge_array(
        answer,
        EXPECTED_MAX_POOLING,
        "Correct! Pooling halves the image and keeps the strongest response, so deeper layers see a wider area.",
        "Not yet: {right}. Split the image into four 2x2 blocks and keep the largest number of each.",
        shape_hints=[
            (
                (3, 3),
                "Expected a 2 x 2 array: with stride 2 the 2x2 windows do not overlap, they jump 2 pixels at a time.",
            ),
            (None, "Expected a 2 x 2 array (pooling 2x2 halves each side of the 4 x 4 image), got shape {shape}."),
        ],
        mistakes=[
            (
                _pool_2x2(POOLING_IMAGE, np.mean),
                "That is average pooling; max pooling keeps the largest number of each 2x2 block.",
            ),
            (
                _pool_2x2(POOLING_IMAGE, np.min),
                "That is the smallest number of each block; max pooling keeps the largest.",
            ),
        ],
    )


def check_unet_output_size(answer, input_size=252):
    """Check the output side of the original (valid padding) U-Net for a square ``input_size`` (572 in the paper)."""
    if answer is not None and np.size(answer) == 2:
        return say(False, "Give one number: the side of the square output in pixels.")
    number, _ = as_number(answer)
    if number is not None and number > input_size:
        return say(
            False,
            "The output cannot be larger than the input: convolutions trim, pooling halves and "
            "the up-convolutions only undo the poolings.",
        )
    expected = unet_valid_output_size(input_size)
    return judge_number(
        answer,
        expected,
        f"Correct! {input_size} pixels in, {expected} out: a valid-padding U-Net predicts only "
        "the centre of each tile, so tiles must overlap to cover a whole image.",
        f"Not yet. Follow the side down: {input_size} -> {input_size - 2} -> {input_size - 4} "
        f"-> pool -> {(input_size - 4) // 2} -> ..., then up: double, then trim 4.",
        mistakes=[
            (
                input_size,
                "With 'valid' padding every 3x3 convolution trims 2 pixels, so the output is smaller than the input.",
            )
        ],
    )


#: How far a Dice answer may be from 8/11: 0.73 (rounded to two decimals) is right, 0.72 is not.
DICE_TOLERANCE = 0.005


def check_dice(answer):
    """Check the Dice score of ``DICE_PREDICTION`` against ``DICE_TRUTH`` (rounded to 2 decimals counts as right)."""
    truth, prediction = DICE_TRUTH, DICE_PREDICTION
    overlap = np.sum(truth * prediction)
    dice = 2 * overlap / (truth.sum() + prediction.sum())
    one_mask = "You divided the overlap by one mask only. Dice divides twice the overlap by both masks together."
    return judge_number(
        answer,
        dice,
        "Correct! Dice counts the overlap twice against both mask sizes; unlike pixel accuracy "
        "it ignores the easy background.",
        "Not yet: Dice lies between 0 (no overlap) and 1 (identical masks). Count the pixels that are 1 in "
        "both masks (the overlap), then compute 2 x overlap / (pixels in truth + pixels in prediction).",
        mistakes=[
            (100 * dice, "Right number, as a percentage: give it as a fraction between 0 and 1.", 0.5),
            (
                overlap / np.sum(np.maximum(truth, prediction)),
                "That is the IoU (overlap / union). Dice is 2 x overlap / (pixels in truth + pixels in prediction).",
            ),
            (1 - dice, "That is 1 - Dice, the Dice loss; the score is the other part."),
            (
                np.mean(truth == prediction),
                "That is pixel accuracy, which also counts the background. Dice looks only at the foreground pixels.",
            ),
            (overlap / prediction.sum(), one_mask),
            (overlap / truth.sum(), one_mask),
        ],
        atol=DICE_TOLERANCE,
    )


#: Hints that ``exercises.hint(name)`` prints, before you open the solution.
HINTS = {
    "convolution": "Put the kernel on the top-left 3x3 window, multiply pixel by weight and add the 9 products; "
    "then move it one column right, then one row down.",
    "max_pooling": "Cut the 4x4 image into four 2x2 blocks (top-left, top-right, bottom-left, bottom-right) "
    "and keep the largest number of each.",
    "unet_output_size": "Down: -2, -2, then halve, four times; bottom: -2, -2; up: double, -2, -2, four times.",
    "dice": "Count the pixels that are 1 in both masks, the 1s of the truth and the 1s of the prediction.",
    "small_unet": "Level 1: two Conv2D(8, 3, padding='same', activation='relu'), keep the result for the skip, "
    "MaxPooling2D(2). Level 2 the same with 16 filters. Bottom: two with 32. Up: Conv2DTranspose(16, 2, strides=2), "
    "Concatenate()([up, level-2 result]), two Conv2D(16, 3...); then the same with 8 filters and level 1; "
    "last Conv2D(1, 1, activation='sigmoid').",
    "threshold": "A pixel is called membrane when its probability is at least the threshold. Lower the threshold "
    "and more pixels pass: which of the true membrane pixels can that lose?",
    "learning_rate": "Adam moves each weight by about the learning rate per step. 30 times smaller: how far does "
    "the network get in the same epochs? 10 times larger: do the steps still land near a minimum?",
    "gap": "Dice counts pixels: how many of the 156 membrane pixels did the gap remove? The Rand error "
    "counts pairs of pixels in the same cell: how many cells are left once the gap joins the two halves?",
}


def reference_small_unet(filters=8, side=64):
    """The U-Net with 2 poolings of exercise 4, which :func:`check_small_unet` compares yours with."""
    import keras
    from keras import layers

    def two_convolutions(x, count):
        x = layers.Conv2D(count, 3, padding="same", activation="relu")(x)
        return layers.Conv2D(count, 3, padding="same", activation="relu")(x)

    image = keras.Input((side, side, 1))
    level1 = two_convolutions(image, filters)
    level2 = two_convolutions(layers.MaxPooling2D(2)(level1), 2 * filters)
    bottom = two_convolutions(layers.MaxPooling2D(2)(level2), 4 * filters)
    up2 = layers.Conv2DTranspose(2 * filters, 2, strides=2)(bottom)
    up2 = two_convolutions(layers.Concatenate()([up2, level2]), 2 * filters)
    up1 = layers.Conv2DTranspose(filters, 2, strides=2)(up2)
    up1 = two_convolutions(layers.Concatenate()([up1, level1]), filters)
    return keras.Model(image, layers.Conv2D(1, 1, activation="sigmoid")(up1))


def check_small_unet(model, filters=8, side=64):
    """Check a U-Net with 2 poolings that you assembled: output shape, parameters, skips and sigmoid.

    ``model``: Your model, for ``side`` x ``side`` grey images, ``filters`` filters on the first level.
    """
    from keras import layers

    if model is None:
        return say(False, "Replace None with your model: keras.Model(image, output).")
    if not hasattr(model, "count_params") or not hasattr(model, "output_shape"):
        return say(False, f"Give a keras.Model, not a {type(model).__name__}.")
    reference = reference_small_unet(filters, side)
    expected_shape, shape = tuple(reference.output_shape[1:]), tuple(model.output_shape[1:])
    if shape != expected_shape:
        return say(
            False,
            f"Your output has shape {shape}, it should be {expected_shape}: one probability per pixel. "
            "Check padding='same', that each Conv2DTranspose doubles (strides=2) and the last Conv2D(1, 1).",
        )
    expected, count = reference.count_params(), model.count_params()
    if count != expected:
        advice = (
            "a Concatenate is missing (the convolution after it sees fewer channels)"
            if count < expected
            else "a layer has more filters than the plan (8, 16, 32 at the bottom, 16, 8)"
        )
        return say(False, f"Right shape, but {count:,} parameters instead of {expected:,}: perhaps {advice}.")
    pooled = {id(layer.input) for layer in model.layers if isinstance(layer, layers.MaxPooling2D)}
    joins = [layer for layer in model.layers if isinstance(layer, layers.Concatenate)]
    skips = sum(any(id(tensor) in pooled for tensor in layer.input) for layer in joins)
    if skips < len(joins) or not joins:
        return say(
            False,
            f"Right size, but {len(joins) - skips} Concatenate of {len(joins)} joins no feature map from the way "
            "down: each skip joins the up-sampled features with level2 or level1, the tensors you pooled.",
        )
    output = np.asarray(model(np.random.default_rng(0).normal(size=(1, side, side, 1)).astype("float32")))
    if output.min() <= 0 or output.max() >= 1:
        return say(
            False,
            f"Right layers, but the output runs from {output.min():.2g} to {output.max():.2g}: a probability "
            "lies between 0 and 1. Give the last Conv2D(1, 1) activation='sigmoid'.",
        )
    return say(
        True,
        f"Correct! Output {shape}, {count:,} parameters, two skips and a sigmoid, as the reference. build_unet "
        "differs in one place: it goes up with UpSampling2D + Conv2D instead of Conv2DTranspose.",
    )


def check_recall_prediction(prediction, threshold, truth, probabilities, chosen_threshold):
    """Predict, then run: is the recall (the share of true membrane pixels found) higher or lower at ``threshold``
    than at ``chosen_threshold``, the one chosen on validation? ``truth, probabilities``: test masks, U-Net output.
    """
    from helpers import metrics

    if threshold is None or not 0 < float(threshold) < 1 or abs(float(threshold) - chosen_threshold) < 1e-9:
        return say(False, f"Set my_threshold to a number between 0 and 1 other than {chosen_threshold:.2f}.")
    threshold = float(threshold)
    chosen, yours = (metrics.evaluate_segmentation(truth, probabilities, t) for t in (chosen_threshold, threshold))
    why = (
        "a lower threshold calls more pixels membrane: it can only find more true ones (recall up), "
        "at the price of false alarms (precision down)"
        if threshold < chosen_threshold
        else "a higher threshold calls fewer pixels membrane: true ones are lost (recall down), "
        "but what remains is more often right (precision up)"
    )
    also = f"Precision {chosen['precision']:.3f} -> {yours['precision']:.3f}, Dice {chosen['dice']:.3f} -> {yours['dice']:.3f}"
    what = f"recall at threshold {chosen_threshold:.2f} -> {threshold:.2f}"
    return judge_direction(prediction, chosen["recall"], yours["recall"], what, 0, f"{also}: {why}.")


#: The hand-made example of the gap exercise: two cells of 32 x 15 pixels, one membrane column between them.
GAP_TRUTH = np.zeros((32, 33), dtype=np.uint8)
GAP_TRUTH[:, 16] = 1
GAP_TRUTH[[0, -1], :] = 1  # membranes along the top and the bottom too
GAP_TRUTH[:, [0, -1]] = 1  # and on both sides


def membrane_with_gap(gap):
    """Return ``GAP_TRUTH`` with ``gap`` membrane pixels removed from the middle column (a predicted mask)."""
    if not isinstance(gap, (int, np.integer)) or not 0 <= gap <= 30:
        raise ValueError(f"gap must be a whole number of pixels from 0 to 30, got {gap!r}.")
    predicted = GAP_TRUTH.copy()
    start = (GAP_TRUTH.shape[0] - gap) // 2
    predicted[start : start + gap, 16] = 0
    return predicted


def check_gap_prediction(prediction, gap):
    """Predict, then run: does a gap of ``gap`` pixels in the membrane of ``GAP_TRUTH`` cost more Dice ("dice")
    than it adds adapted Rand error ("rand")?"""
    from helpers import metrics

    word, problem = read_word(prediction, ("dice", "rand"))
    if problem:
        return say(False, problem)
    predicted = membrane_with_gap(gap)
    dice = metrics.dice_score(GAP_TRUTH, predicted)
    rand = metrics.isbi_errors(GAP_TRUTH, predicted)["adapted_rand_error"]
    numbers = f"with a gap of {gap} pixels Dice is {dice:.3f} (lost {1 - dice:.3f}), the adapted Rand error {rand:.3f}."
    if gap == 0:
        return say(False, f"Set my_gap to 1 or more pixels: {numbers}")
    happened = "rand" if rand > 1 - dice else "dice"
    why = (
        "one gap merges the two cells, so every pair of pixels taken from the two halves is now wrongly "
        "in one cell, while only a few of the 156 membrane pixels are missing"
        if happened == "rand"
        else "the gap removed many membrane pixels"
    )
    return judge_choice(word, happened, f"{why}; {numbers}")


def check_learning_rate_prediction(prediction, learning_rate, history, default_rate, default_history):
    """Predict, then retrain: is the validation Dice "higher", "lower" or "the same" with your learning rate than
    with the default after as many epochs? ``history, default_history``: what the two ``fit`` calls returned."""
    if learning_rate == default_rate:
        return say(False, f"Change my_learning_rate: it is the default, {default_rate:g}.")
    optimizer = getattr(getattr(history, "model", None), "optimizer", None)  # what the fit really trained with
    started = optimizer.get_config().get("learning_rate") if optimizer is not None else None
    if isinstance(started, float) and not np.isclose(started, learning_rate):
        return say(
            False, f"Your fit trained at {started:g}, not at my_learning_rate = {learning_rate:g}: give it to Adam."
        )
    mine, default = (getattr(h, "history", h)["val_dice"] for h in (history, default_history))
    epochs = min(len(mine), len(default))
    ratio = learning_rate / default_rate
    why = (
        f"Your rate is {ratio:.3g} x the default. Too small, and the weights have moved little in {epochs} epochs; "
        "too large, and the steps overshoot (the loss jumps). One seed: a few hundredths can be chance."
    )
    what = f"validation Dice after {epochs} epochs (default rate -> yours)"
    return judge_direction(prediction, float(default[epochs - 1]), float(mine[epochs - 1]), what, 0.01, why)
