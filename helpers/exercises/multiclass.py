"""Exercises of notebook 05 (multi-class segmentation), each with a ``check_...()`` function."""

import numpy as np

from helpers.exercises.common import as_array, as_number, count_right, say, shape_words

__all__ = [
    "ONE_HOT_LABELS",
    "WEIGHT_LABELS",
    "CONFUSION",
    "check_one_hot",
    "check_class_weight",
    "check_class_iou",
]

#: Exercise 1: a 2x2 label map with 3 classes (0, 1, 2).
ONE_HOT_LABELS = np.array([[0, 2], [1, 2]])
#: Exercise 2: a label map of 12 pixels: class 0 eight times, class 1 three times, class 2 once.
WEIGHT_LABELS = np.array([[0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 2]])
#: Exercise 3: a confusion matrix (rows: true class, columns: predicted class), in pixels.
CONFUSION = np.array([[50, 5, 0], [10, 30, 0], [0, 5, 0]])


def check_one_hot(answer):
    """Check the one-hot mask of ONE_HOT_LABELS, shape (2, 2, 3)."""
    expected = np.eye(3)[ONE_HOT_LABELS]
    array, problem = as_array(answer, expected.shape)
    if problem:
        return say(False, problem)
    if array.shape == (3, 2, 2) and np.array_equal(np.moveaxis(array, 0, -1), expected):
        return say(False, "The classes go in the *last* axis: shape (2, 2, 3), one vector of 3 per pixel.")
    if array.shape != expected.shape:
        return say(
            False, f"Expected shape {shape_words(expected.shape)} (height x width x classes), got {array.shape}."
        )
    if np.array_equal(array, expected):
        return say(True, "Correct! Each pixel becomes a vector with a single 1 in the channel of its class.")
    return say(False, f"{count_right(array, expected)}. Pixel (0, 1) has class 2, so its vector is [0, 0, 1].")


def check_class_weight(answer):
    """Check the weight of class 2 in WEIGHT_LABELS with weight = pixels / (K x pixels of class): 4."""
    value, problem = as_number(answer)
    if problem:
        return say(False, problem)
    if np.isclose(value, 12, rtol=0.01):
        return say(False, "Divide also by the number of classes K = 3: 12 / (3 x 1).")
    if np.isclose(value, 4, rtol=0.01):
        return say(True, "Correct! 12 / (3 x 1) = 4: the single class-2 pixel counts as much as 4 ordinary ones.")
    return say(False, "Not quite: 12 pixels, 3 classes, class 2 has 1 pixel.")


def check_class_iou(answer):
    """Check the IoU of class 1 from CONFUSION: 30 / (30 + 10 + 10) = 0.6."""
    value, problem = as_number(answer)
    if problem:
        return say(False, problem)
    if np.isclose(value, 30 / 40, atol=0.005) or np.isclose(value, 30 / 45, atol=0.005):
        return say(False, "Count both mistakes: false negatives in row 1 (10) and false positives in column 1 (5 + 5).")
    if np.isclose(value, 0.6, atol=0.005):
        return say(True, "Correct! TP 30, FN 10, FP 10: IoU 30 / 50 = 0.6 (and Dice 60 / 80 = 0.75).")
    return say(False, "Not quite: IoU = TP / (TP + FP + FN), with TP on the diagonal.")
