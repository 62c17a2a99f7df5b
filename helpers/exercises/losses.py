"""Exercises of notebook 04 (loss functions), each with a ``check_...()`` function."""

import numpy as np

from helpers.exercises.common import judge_number, say
from helpers.exercises.predictions import DID_NOT_HOLD, judge_choice, read_word

__all__ = [
    "SOFT_DICE_TRUTH",
    "SOFT_DICE_PROBABILITY",
    "FOREGROUND_SHARE",
    "MISSED",
    "FALSE_ALARM",
    "MISTAKE_SETTINGS",
    "HINTS",
    "check_soft_dice_loss",
    "check_balancing_weight",
    "check_jaccard_function",
    "mistake_costs",
    "check_mistake_prediction",
    "check_threshold_prediction",
    "check_own_loss_training",
]

#: On-demand help, ``exercises.hint("soft_dice_loss")``: read it before the solution.
HINTS = {
    "soft_dice_loss": "Multiply truth and probability pixel by pixel and add up: that is the overlap. "
    "Then add up the truth and, separately, the probabilities.",
    "jaccard_function": "np.sum(y_true * y_pred) is the overlap; the union is what both cover together, counted once.",
    "balancing_weight": "Out of 100 pixels, how many are background and how many foreground? The weight "
    "makes 'foreground count x weight' equal to the background count.",
    "mistake_prediction": "Both examples have one true positive. Look at the formula of the loss: do a false "
    "positive and a false negative enter it with the same weight? (BCE: a confident wrong pixel is a "
    "confident wrong pixel.)",
    "threshold_prediction": "A loss that pays a lot for missed foreground makes the network say "
    "'foreground' readily, even where it is unsure; then the best cut lies above 0.5.",
    "own_loss_training": "keras.ops has numpy's names (ops.sum, ops.mean) and Keras can differentiate it; "
    "np.sum cannot be differentiated. Sum over the whole batch, as exercise 3 did.",
}

#: The mistakes exercise: (truth, prediction) with one missed foreground pixel (TP 1, FN 1) ...
#: (0.999 and 0.001 stand for "sure": exact 0 and 1 would meet Keras' clipping of log(0)).
MISSED = (np.array([[1.0, 1.0, 0.0, 0.0]]), np.array([[0.999, 0.001, 0.001, 0.001]]))
#: ... and with one false alarm (TP 1, FP 1): the same number of true positives.
FALSE_ALARM = (np.array([[1.0, 0.0, 0.0, 0.0]]), np.array([[0.999, 0.999, 0.001, 0.001]]))
#: The settings of the losses in that exercise (as in the notebook's first section).
MISTAKE_SETTINGS = {"positive_weight": 3.0, "false_positive_weight": 0.3, "false_negative_weight": 0.7}

#: Exercise 1: a true mask of 3 foreground pixels ...
SOFT_DICE_TRUTH = np.array([[1, 1, 1, 0], [0, 0, 0, 0]])
#: ... and the probabilities a network gave them.
SOFT_DICE_PROBABILITY = np.array([[0.8, 0.6, 0.2, 0.4], [0.0, 0.0, 0.0, 0.0]])

#: Exercise 2: the share of foreground pixels in a data set (5%, like the mitochondria).
FOREGROUND_SHARE = 0.05


def check_soft_dice_loss(answer):
    """Check the soft Dice loss of SOFT_DICE_TRUTH and SOFT_DICE_PROBABILITY (0.36)."""
    return judge_number(
        answer,
        0.36,
        "Correct! 1 - 2·1.6 / (3 + 2.0) = 0.36: soft counts, no threshold, so gradients can flow.",
        "Not quite: overlap = sum of truth × probability, total = sum of truth + sum of probability.",
        mistakes=[(0.64, "That is the soft Dice *score*; the loss is 1 - score.")],
        atol=0.005,
    )


def check_balancing_weight(answer):
    """Check the foreground weight that makes both classes count equally at 5% foreground (19)."""
    return judge_number(
        answer,
        19,
        "Correct! 95 / 5 = 19: then the foreground weighs as much in total as the background.",
        "Not quite: divide the share of background pixels by the share of foreground pixels.",
        mistakes=[
            (1 / 19, "Upside down: the rare foreground must get the *larger* weight."),
            (20, "Close: 95 background pixels per 5 foreground is 95 / 5, not 100 / 5."),
        ],
        rtol=0.01,
    )


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
            return say(False, f"For y_true={y_true}, y_pred={y_pred} yours is the IoU {value:.3f}: loss = 1 - IoU.")
        if not np.isclose(value, expected, atol=1e-3):
            return say(False, f"For y_true={y_true}, y_pred={y_pred} the loss is {expected}, yours gives {value:.4f}.")
    return say(True, "Correct! 1 - overlap / (sum(y_true) + sum(y_pred) - overlap): a real 1 - IoU.")


def mistake_costs(loss_name):
    """The losses ``loss_name`` (one of ``LOSS_NAMES``, with :data:`MISTAKE_SETTINGS`) charges :data:`MISSED` and :data:`FALSE_ALARM`."""
    from helpers import losses

    if loss_name not in losses.LOSS_NAMES:
        raise ValueError(f"Unknown loss {loss_name!r}; choose one of {', '.join(losses.LOSS_NAMES)}.")
    loss = losses.training_loss(loss_name, **MISTAKE_SETTINGS)
    return tuple(float(np.asarray(loss(truth, prediction))) for truth, prediction in (MISSED, FALSE_ALARM))


_MISTAKE_WHY = {
    "same": "a false positive and a false negative enter this loss the same way",
    "missed": "this loss weighs missed foreground more than a false alarm",
    "false alarm": "this loss weighs a false alarm more than missed foreground",
}


def check_mistake_prediction(loss_name, prediction):
    """Judge a prediction ("missed", "false alarm" or "same"): which mistake does ``loss_name`` charge more?"""
    from helpers import losses

    if loss_name not in losses.LOSS_NAMES:
        return say(False, f"my_loss should be one of {', '.join(losses.LOSS_NAMES)}; got {loss_name!r}.")
    choice, problem = read_word(prediction, ("missed", "false alarm", "same"))
    if problem:
        return say(False, problem)
    missed, false_alarm = mistake_costs(loss_name)
    same = np.isclose(missed, false_alarm, rtol=5e-3, atol=1e-6)
    observed = "same" if same else ("missed" if missed > false_alarm else "false alarm")
    return judge_choice(
        choice,
        observed,
        f"{loss_name} charges the missed pixel {missed:.2f} and the false alarm {false_alarm:.2f}; "
        f"{_MISTAKE_WHY[observed]}.",
        not_held=DID_NOT_HOLD,
    )


def check_threshold_prediction(loss_name, prediction, results):
    """Judge a prediction ("above", "below" or "at" 0.5) of the threshold ``loss_name`` chooses on validation.

    ``results``: ``{name: runs of helpers.comparison.train_and_score_seeds}`` (or one run each); with
    several seeds the median threshold counts.
    """
    from helpers.comparison import THRESHOLDS

    if loss_name not in results:
        return say(False, f"my_loss should be one of the trained losses: {', '.join(results)}; got {loss_name!r}.")
    choice, problem = read_word(prediction, ("above", "below", "at"), note=" (0.5)")
    if problem:
        return say(False, problem)
    runs = results[loss_name] if isinstance(results[loss_name], list) else [results[loss_name]]
    threshold = float(np.median([run["threshold"] for run in runs]))
    observed = "at" if abs(threshold - 0.5) < 0.025 else ("above" if threshold > 0.5 else "below")
    why = {
        "above": "the network says 'foreground' too readily, so the best cut is higher: its probabilities "
        "are not calibrated (weights and overlap losses push them up, or to 0 and 1).",
        "below": "the network is shy of 'foreground', so a lower cut finds more of it.",
        "at": "its probabilities are close to calibrated, as plain cross-entropy tends to give.",
    }[observed]
    if threshold in (THRESHOLDS[0], THRESHOLDS[-1]):
        why += f" It is at the edge of the grid tried ({THRESHOLDS[0]:g}-{THRESHOLDS[-1]:g}): the best may lie beyond."
    where = f"chose {threshold:.3f} on validation" + (f" (median of {len(runs)} seeds)" if len(runs) > 1 else "")
    return judge_choice(choice, observed, f"{loss_name} {where}; {why}", not_held=DID_NOT_HOLD)


def check_own_loss_training(function, run, course_runs):
    """Judge a model trained with the learner's soft Jaccard loss (``function``, written with ``keras.ops``)
    against ``course_runs``, the notebook's runs with ``training_loss("jaccard")``: the same seed must give
    nearly the same test Dice."""
    if function is None or run is None:
        return say(False, "Write my_training_loss with keras.ops, then run the cell: it trains one model.")
    value = float(np.asarray(function(np.array([[1.0, 1.0, 0.0, 0.0]]), np.array([[0.5, 1.0, 0.5, 0.0]]))))
    if not np.isclose(value, 0.4, atol=1e-3):
        return say(False, f"my_training_loss gives {value:.3f} on exercise 3's first case, not 0.4: fix it first.")
    course = {r["seed"]: r["dice"] for r in course_runs}
    if run["seed"] not in course:
        return say(False, f"Train with one of the course's seeds {sorted(course)}, to compare like with like.")
    if abs(run["dice"] - course[run["seed"]]) > 0.02:
        return say(
            False,
            f"Your loss trained to test Dice {run['dice']:.3f}, the course's soft Jaccard to {course[run['seed']]:.3f} "
            "with the same seed: not the same function (one value per image instead of the batch? a sum missing?).",
        )
    return say(
        True,
        f"Correct! Test Dice {run['dice']:.3f} with your loss, {course[run['seed']]:.3f} with the course's, "
        f"seed {run['seed']}: the same loss, written by you, trains the same network.",
    )
