"""Exercises of notebook 01 (introduction to U-Net), each with a ``check_...()`` function.

In the notebook you compute an answer by hand (or with numpy), then call for example
``check_convolution(my_answer)``. The check prints one short line and returns ``True`` or
``False``: "Replace None with your answer", the shape it expected, a hint that points at
the usual mistake, or "Correct!" with a sentence on why it matters.

The inputs of the exercises are constants of this module, so the notebook and the check
always use the same numbers::

    from helpers.exercises import CONVOLUTION_IMAGE, CONVOLUTION_KERNEL, check_convolution
"""

import itertools
import numbers

import numpy as np

from helpers.exercises.common import as_array, as_number, count_right, say

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
]

#: Exercise 1: a 4x4 image ...
CONVOLUTION_IMAGE = np.array(
    [
        [3, 1, 0, 2],
        [1, 4, 2, 0],
        [0, 2, 5, 1],
        [2, 0, 1, 3],
    ]
)
#: ... and a 3x3 kernel that responds to vertical edges (bright on the left, dark on the right).
CONVOLUTION_KERNEL = np.array(
    [
        [1, 0, -1],
        [1, 0, -1],
        [1, 0, -1],
    ]
)

#: Exercise 2: a 4x4 image for 2x2 max pooling with stride 2.
POOLING_IMAGE = np.array(
    [
        [1, 3, 2, 0],
        [4, 2, 1, 5],
        [0, 1, 3, 2],
        [6, 2, 0, 1],
    ]
)

#: Exercise 4: a true mask (6 foreground pixels) ...
DICE_TRUTH = np.array(
    [
        [0, 1, 1, 0],
        [0, 1, 1, 0],
        [0, 1, 1, 0],
        [0, 0, 0, 0],
    ]
)
#: ... and a predicted mask (5 foreground pixels, 4 of them on the true mask).
DICE_PREDICTION = np.array(
    [
        [0, 0, 1, 0],
        [0, 1, 1, 1],
        [0, 1, 0, 0],
        [0, 0, 0, 0],
    ]
)


# --- the expected answers, computed plainly -------------------------------------------


def _cross_correlate_valid(image, kernel):
    """Slide ``kernel`` over ``image`` without flipping it, only where it fits ('valid')."""
    kernel_rows, kernel_columns = kernel.shape
    rows = image.shape[0] - kernel_rows + 1
    columns = image.shape[1] - kernel_columns + 1
    result = np.zeros((rows, columns), dtype=np.result_type(image, kernel))
    for row in range(rows):
        for column in range(columns):
            patch = image[row : row + kernel_rows, column : column + kernel_columns]
            result[row, column] = np.sum(patch * kernel)
    return result


def _pool_2x2(image, reduce):
    """Apply ``reduce`` (e.g. ``np.max``) to each non-overlapping 2x2 block of ``image``."""
    rows, columns = image.shape[0] // 2, image.shape[1] // 2
    blocks = image[: 2 * rows, : 2 * columns].reshape(rows, 2, columns, 2)
    return reduce(blocks, axis=(1, 3))


def _dice_and_friends(truth, prediction):
    """Return Dice and the numbers students often compute instead."""
    overlap = np.sum(truth * prediction)
    return {
        "dice": 2 * overlap / (truth.sum() + prediction.sum()),
        "iou": overlap / np.sum(np.maximum(truth, prediction)),
        "accuracy": np.mean(truth == prediction),
        "precision": overlap / prediction.sum(),
        "recall": overlap / truth.sum(),
    }


def unet_valid_output_size(input_size, depth=4):
    """Side of the output of the original U-Net (valid padding) for a square input.

    Going down, each level applies two 3x3 'valid' convolutions (each trims 2 pixels) and a
    2x2 max pooling (halves the side); the bottom level applies two more convolutions;
    going up, each level doubles the side with a 2x2 up-convolution and trims 4 pixels with
    two convolutions. Ronneberger et al. (2015): 572 -> 388.

    Parameters
    ----------
    input_size : int
        Side of the input tile in pixels.
    depth : int
        Number of poolings (4 in the original U-Net).

    Returns
    -------
    int
        Side of the output segmentation map in pixels.

    Raises
    ------
    ValueError
        If the input does not fit: a feature map with an odd side cannot be halved evenly
        by pooling, or the map shrinks to nothing. The message names the nearest sizes that
        work.
    """
    if not isinstance(input_size, numbers.Integral) or isinstance(input_size, bool):
        raise ValueError(f"input_size must be a whole number of pixels, got {input_size!r}.")
    if not isinstance(depth, numbers.Integral) or depth < 1:
        raise ValueError(f"depth must be a whole number of poolings, at least 1, got {depth!r}.")
    problem, output_size = _follow_unet_sizes(int(input_size), depth)
    if problem:
        below, above = _nearest_valid_sizes(int(input_size), depth)
        if below:
            nearest = f"The nearest sizes that work: {below} and {above}."
        else:
            nearest = f"The smallest size that works: {above}."
        raise ValueError(f"An input of {input_size} pixels does not fit the U-Net: {problem}. {nearest}")
    return output_size


def _follow_unet_sizes(size, depth):
    """Return (problem or None, output size) following the side length through the U-Net."""
    for level in range(1, depth + 1):
        size -= 4
        if size <= 0:
            return f"at level {level} the two 3x3 convolutions leave nothing", None
        if size % 2:
            return f"at level {level} the feature map is {size} pixels wide, which 2x2 pooling cannot halve", None
        size //= 2
    size -= 4
    if size <= 0:
        return "at the bottom the two 3x3 convolutions leave nothing", None
    for level in range(depth, 0, -1):
        size = 2 * size - 4
        if size <= 0:
            return f"on the way up, level {level} leaves nothing", None
    return None, size


def _nearest_valid_sizes(size, depth):
    """Return the largest valid input size below ``size`` (or None) and the smallest above it."""
    below = next((s for s in range(size - 1, 0, -1) if _follow_unet_sizes(s, depth)[0] is None), None)
    above = next(s for s in itertools.count(size + 1) if _follow_unet_sizes(s, depth)[0] is None)
    return below, above


EXPECTED_CONVOLUTION = _cross_correlate_valid(CONVOLUTION_IMAGE, CONVOLUTION_KERNEL)
EXPECTED_MAX_POOLING = _pool_2x2(POOLING_IMAGE, np.max)


# --- the checks -----------------------------------------------------------------------


def check_convolution(answer):
    """Check the 'valid' convolution of ``CONVOLUTION_IMAGE`` with ``CONVOLUTION_KERNEL``.

    The answer is what ``keras.layers.Conv2D(1, 3, padding="valid", use_bias=False)``
    computes with that kernel: at each position where the 3x3 kernel fits inside the 4x4
    image, multiply the overlapping numbers and add them up (no flipping).

    Parameters
    ----------
    answer : array_like or None
        Your 2x2 result.

    Returns
    -------
    Verdict
        True when the answer is right. A line of feedback is printed either way.
    """
    expected = EXPECTED_CONVOLUTION
    array, problem = as_array(answer, expected.shape)
    if problem:
        return say(False, problem)
    if array.shape == CONVOLUTION_IMAGE.shape:
        return say(
            False,
            "Expected a 2 x 2 array: with 'valid' padding the kernel must fit inside the image, "
            "so the output is smaller than the input (4 - 3 + 1 = 2).",
        )
    if array.shape != expected.shape:
        return say(False, f"Expected a 2 x 2 array (4 - 3 + 1 = 2 positions each way), got shape {array.shape}.")
    if np.allclose(array, expected):
        return say(
            True,
            "Correct! A Conv2D layer does exactly this at every position, "
            "with kernel numbers it learns during training.",
        )
    flipped = _cross_correlate_valid(CONVOLUTION_IMAGE, CONVOLUTION_KERNEL[::-1, ::-1])
    if np.allclose(array, flipped):
        return say(False, "Did you flip the kernel? Keras does not: lay it on the image as printed.")
    if np.allclose(array, expected.T):
        return say(False, "Rows and columns are swapped: the first row of the output comes from the top of the image.")
    return say(
        False,
        f"Not yet: {count_right(array, expected)}. For each position multiply the 3x3 patch "
        "by the kernel, number by number, and add the 9 products.",
    )


def check_max_pooling(answer):
    """Check 2x2 max pooling with stride 2 of ``POOLING_IMAGE``.

    Parameters
    ----------
    answer : array_like or None
        Your 2x2 result.

    Returns
    -------
    Verdict
        True when the answer is right. A line of feedback is printed either way.
    """
    expected = EXPECTED_MAX_POOLING
    array, problem = as_array(answer, expected.shape)
    if problem:
        return say(False, problem)
    if array.shape == (3, 3):
        return say(
            False, "Expected a 2 x 2 array: with stride 2 the 2x2 windows do not overlap, they jump 2 pixels at a time."
        )
    if array.shape != expected.shape:
        return say(
            False, f"Expected a 2 x 2 array (pooling 2x2 halves each side of the 4 x 4 image), got shape {array.shape}."
        )
    if np.allclose(array, expected):
        return say(
            True,
            "Correct! Pooling halves the image and keeps the strongest response, so deeper layers see a wider area.",
        )
    if np.allclose(array, _pool_2x2(POOLING_IMAGE, np.mean)):
        return say(False, "That is average pooling; max pooling keeps the largest number of each 2x2 block.")
    if np.allclose(array, _pool_2x2(POOLING_IMAGE, np.min)):
        return say(False, "That is the smallest number of each block; max pooling keeps the largest.")
    return say(
        False,
        f"Not yet: {count_right(array, expected)}. Split the image into four 2x2 blocks "
        "and keep the largest number of each.",
    )


def check_unet_output_size(answer, input_size=252):
    """Check the output side of the original (valid padding) U-Net for a square input.

    Parameters
    ----------
    answer : int or None
        Your output side in pixels.
    input_size : int
        Side of the input tile (252 in the notebook; 572 in the U-Net paper).

    Returns
    -------
    Verdict
        True when the answer is right. A line of feedback is printed either way.
    """
    expected = unet_valid_output_size(input_size)
    number, problem = as_number(answer)
    if problem:
        if answer is not None and np.size(answer) == 2:
            problem = "Give one number: the side of the square output in pixels."
        return say(False, problem)
    if number == expected:
        return say(
            True,
            f"Correct! {input_size} pixels in, {expected} out: a valid-padding U-Net predicts only "
            "the centre of each tile, so tiles must overlap to cover a whole image.",
        )
    if number == input_size:
        return say(
            False, "With 'valid' padding every 3x3 convolution trims 2 pixels, so the output is smaller than the input."
        )
    if number > input_size:
        return say(
            False,
            "The output cannot be larger than the input: convolutions trim, pooling halves and "
            "the up-convolutions only undo the poolings.",
        )
    return say(
        False,
        f"Not yet. Follow the side down: {input_size} -> {input_size - 2} -> {input_size - 4} "
        f"-> pool -> {(input_size - 4) // 2} -> ..., then up: double, then trim 4.",
    )


def check_dice(answer):
    """Check the Dice score of ``DICE_PREDICTION`` against ``DICE_TRUTH``.

    Parameters
    ----------
    answer : float or None
        Your Dice score, a number between 0 and 1 (within 0.001 counts as right).

    Returns
    -------
    Verdict
        True when the answer is right. A line of feedback is printed either way.
    """
    number, problem = as_number(answer)
    if problem:
        return say(False, problem)
    scores = _dice_and_friends(DICE_TRUTH, DICE_PREDICTION)

    def close(value):
        return abs(number - value) <= 1e-3

    if close(scores["dice"]):
        return say(
            True,
            "Correct! Dice counts the overlap twice against both mask sizes; unlike pixel accuracy "
            "it ignores the easy background.",
        )
    if abs(number / 100 - scores["dice"]) <= 1e-3:
        return say(False, "Right number, as a percentage: give it as a fraction between 0 and 1.")
    if close(scores["iou"]):
        return say(
            False, "That is the IoU (overlap / union). Dice is 2 x overlap / (pixels in truth + pixels in prediction)."
        )
    if close(1 - scores["dice"]):
        return say(False, "That is 1 - Dice, the Dice loss; the score is the other part.")
    if close(scores["accuracy"]):
        return say(
            False, "That is pixel accuracy, which also counts the background. Dice looks only at the foreground pixels."
        )
    if close(scores["precision"]) or close(scores["recall"]):
        return say(
            False, "You divided the overlap by one mask only. Dice divides twice the overlap by both masks together."
        )
    if not 0 <= number <= 1:
        return say(False, "Dice is always between 0 (no overlap) and 1 (identical masks).")
    return say(
        False,
        "Not yet: count the pixels that are 1 in both masks (the overlap), then compute "
        "2 x overlap / (pixels in truth + pixels in prediction).",
    )
