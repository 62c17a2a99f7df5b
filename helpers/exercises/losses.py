"""Exercises of notebook 04 (loss functions), each with a ``check_...()`` function."""

import numpy as np

from helpers.exercises.common import as_number, say

__all__ = [
    "SOFT_DICE_TRUTH",
    "SOFT_DICE_PROBABILITY",
    "FOREGROUND_SHARE",
    "check_soft_dice_loss",
    "check_balancing_weight",
    "check_jaccard_function",
]

#: Exercise 1: a true mask of 3 foreground pixels ...
SOFT_DICE_TRUTH = np.array([[1, 1, 1, 0], [0, 0, 0, 0]])
#: ... and the probabilities a network gave them.
SOFT_DICE_PROBABILITY = np.array([[0.8, 0.6, 0.2, 0.4], [0.0, 0.0, 0.0, 0.0]])

#: Exercise 2: the share of foreground pixels in a data set (5%, like the mitochondria).
FOREGROUND_SHARE = 0.05


def check_soft_dice_loss(answer):
    """Check the soft Dice loss of SOFT_DICE_TRUTH and SOFT_DICE_PROBABILITY (0.36)."""
    value, problem = as_number(answer)
    if problem:
        return say(False, problem)
    if np.isclose(value, 0.64, atol=0.005):
        return say(False, "That is the soft Dice *score*; the loss is 1 - score.")
    if np.isclose(value, 0.36, atol=0.005):
        return say(True, "Correct! 1 - 2·1.6 / (3 + 2.0) = 0.36: soft counts, no threshold, so gradients can flow.")
    return say(False, "Not quite: overlap = sum of truth × probability, total = sum of truth + sum of probability.")


def check_balancing_weight(answer):
    """Check the foreground weight that makes both classes count equally at 5% foreground (19)."""
    value, problem = as_number(answer)
    if problem:
        return say(False, problem)
    if np.isclose(value, 1 / 19, rtol=0.01):
        return say(False, "Upside down: the rare foreground must get the *larger* weight.")
    if np.isclose(value, 20, rtol=0.01):
        return say(False, "Close: 95 background pixels per 5 foreground is 95 / 5, not 100 / 5.")
    if np.isclose(value, 19, rtol=0.01):
        return say(True, "Correct! 95 / 5 = 19: then the foreground weighs as much in total as the background.")
    return say(False, "Not quite: divide the share of background pixels by the share of foreground pixels.")


def check_jaccard_function(function):
    """Check a student's soft Jaccard loss function on a few cases against the formula."""
    if function is None:
        return say(False, "Replace None with your function, e.g. def my_jaccard_loss(y_true, y_pred): ...")
    if not callable(function):
        return say(False, "Give a function (its name, without brackets), not the result of calling it.")
    cases = [
        ([[1.0, 1.0, 0.0, 0.0]], [[0.5, 1.0, 0.5, 0.0]], 0.4),
        ([[1.0, 0.0]], [[0.0, 0.0]], 1.0),
        ([[0.0, 1.0, 1.0]], [[0.0, 1.0, 1.0]], 0.0),
    ]
    for y_true, y_pred, expected in cases:
        try:
            value = float(np.asarray(function(np.array(y_true), np.array(y_pred))))
        except Exception as error:  # the student's code may fail in any way
            return say(False, f"Your function failed on y_true={y_true}, y_pred={y_pred}: {error!r}")
        if np.isclose(value, 1 - expected, atol=1e-3) and expected != 0.5:
            return say(
                False, f"For y_true={y_true}, y_pred={y_pred} you give the IoU {value:.3f}; the loss is 1 - IoU."
            )
        if not np.isclose(value, expected, atol=1e-3):
            return say(False, f"For y_true={y_true}, y_pred={y_pred} the loss is {expected}, yours gives {value:.4f}.")
    return say(True, "Correct! 1 - overlap / (sum(y_true) + sum(y_pred) - overlap): a real 1 - IoU.")
