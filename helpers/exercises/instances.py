"""Exercises of notebook 07 (from semantic masks to objects), each with a ``check_...()`` function.

The inputs are constants of this module, so the notebook and the checks use the same numbers.
"""

import numpy as np

from helpers.exercises.common import judge_number, say
from helpers.exercises.predictions import judge_direction
from helpers.instances import DSB_THRESHOLDS, average_precision

__all__ = [
    "COUNTING_MASK",
    "DISTANCE_MASK",
    "OBJECT_COUNTS",
    "check_object_count",
    "check_largest_distance",
    "check_object_f1",
    "AP_TRUE",
    "AP_PREDICTED",
    "check_average_precision",
    "check_min_area_prediction",
    "check_min_distance_prediction",
    "check_precision_function",
    "HINTS",
]

#: On-demand help, ``exercises.hint("object_count")``: read it before the solution.
HINTS = {
    "object_count": "Go pixel by pixel: two 1s belong together only if one is directly above, below, "
    "left or right of the other.",
    "largest_distance": "Find the pixel furthest inside the rectangle, then count steps to the nearest 0 "
    "in each direction; the smallest count wins.",
    "object_f1": "F1 = 2 x matched / (true objects + predicted objects).",
    "average_precision": "At each of the 10 thresholds 0.5, 0.55, ..., 0.95 ask: does the pair with IoU "
    "16/24 still count? Then score TP / (TP + FP + FN) and average the 10 scores.",
    "min_area_prediction": "A larger minimum area removes small objects. Are the small objects mostly specks "
    "(extra objects) or real small nuclei?",
    "min_distance_prediction": "min_distance is the smallest distance between two seeds: closer seeds allowed "
    "means more seeds, and every seed becomes an object.",
    "precision_function": "Precision asks: of the objects the method found, what share is a real nucleus? "
    "Use counts['matched'] and counts['predicted_objects'].",
}

#: Exercise 1: how many objects, when pixels that touch only at a corner do NOT belong together?
COUNTING_MASK = np.array(
    [
        [1, 1, 0, 0, 0, 0],
        [1, 1, 0, 0, 1, 1],
        [0, 0, 1, 0, 1, 0],
        [0, 0, 0, 0, 0, 0],
        [1, 0, 0, 1, 1, 1],
        [1, 0, 0, 0, 0, 1],
    ]
)
_SIDE_COUNT = 5  # {top-left 2x2}, {centre pixel}, {top-right L}, {left bar}, {bottom-right L}
_CORNER_COUNT = 4  # the centre pixel touches the 2x2 block at a corner

#: Exercise 2: a 7x9 mask with a 5x7 rectangle of ones; the largest distance to the background?
DISTANCE_MASK = np.pad(np.ones((5, 7), int), 1)
_LARGEST_DISTANCE = 3.0

#: Exercise 5: counts on a test image: true nuclei, predicted objects, pairs with IoU >= 0.5.
OBJECT_COUNTS = {"true_objects": 20, "predicted_objects": 16, "matched": 14}


#: Exercise 6: hand-made label images. True: a 4x6 nucleus (24 pixels) and a 2x3 one (6 pixels).
#: Predicted: a 4x4 object inside the first (IoU 16/24), and a 2x2 speck where there is no nucleus.
AP_TRUE = np.zeros((10, 12), np.int32)
AP_TRUE[1:5, 1:7] = 1
AP_TRUE[7:9, 8:11] = 2
AP_PREDICTED = np.zeros((10, 12), np.int32)
AP_PREDICTED[1:5, 1:5] = 1
AP_PREDICTED[7:9, 1:3] = 2


def check_object_count(answer):
    """Check the number of objects in COUNTING_MASK with side-only (4-neighbour) connectivity."""
    return judge_number(
        answer,
        _SIDE_COUNT,
        "Correct! With side neighbours only, the lone centre pixel is an object of its own.",
        "Not {value}. Colour each group of 1s that touch through a side, then count the colours.",
        mistakes=[
            (_CORNER_COUNT, "That counts corners too (connectivity=2); only sides count: look at the centre pixel.")
        ],
    )


def check_largest_distance(answer):
    """Check the largest value of the distance transform of DISTANCE_MASK."""
    return judge_number(
        answer,
        _LARGEST_DISTANCE,
        "Correct! The middle row is 3 pixels from the background above and below: "
        "the narrow side decides. Watershed seeds sit at such maxima.",
        "Not {value}. The distance of a pixel is the number of steps to the nearest 0.",
        mistakes=[
            (4, "4 is the distance along the long side; the nearest background is closer, above or below."),
            (2, "Count up to the background pixel itself: the middle row is 3 steps away from it."),
        ],
    )


def check_object_f1(answer):
    """Check F1 = 2 matched / (true + predicted) for OBJECT_COUNTS."""
    counts = OBJECT_COUNTS
    f1 = 2 * counts["matched"] / (counts["true_objects"] + counts["predicted_objects"])
    precision, recall = counts["matched"] / counts["predicted_objects"], counts["matched"] / counts["true_objects"]
    return judge_number(
        answer,
        f1,
        f"Correct! F1 = 2·{counts['matched']} / ({counts['true_objects']} + "
        f"{counts['predicted_objects']}) = {f1:.3f}, between precision 0.875 and recall 0.7.",
        "Not {number:.3f}. F1 = 2 × matched / (true objects + predicted objects).",
        mistakes=[
            (precision, "That is the precision (matched / predicted). F1 also counts the missed nuclei."),
            (recall, "That is the recall (matched / true). F1 also counts the extra objects."),
        ],
        atol=0.005,
    )


def check_average_precision(answer):
    """Check the DSB 2018 average precision of AP_PREDICTED against AP_TRUE (thresholds 0.5-0.95)."""
    expected = average_precision(AP_TRUE, AP_PREDICTED, DSB_THRESHOLDS)
    return judge_number(
        answer,
        expected,
        f"Correct! 1/3 at the 4 thresholds up to 0.65 (IoU 0.667), 0 at the 6 above: "
        f"4/30 = {expected:.3f}. The strict thresholds reward exact outlines.",
        "Not {number:.3f}. At each threshold: TP / (TP + FP + FN); then the mean over the 10 thresholds.",
        mistakes=[
            (1 / 3, "That is the score at IoU 0.5 only; average it over all 10 thresholds 0.5, 0.55, ..., 0.95."),
            (0.5, "0.5 is the precision (or F1) at 0.5; the DSB score is TP / (TP + FP + FN), here 1/3 at 0.5."),
        ],
        atol=0.005,
    )


def check_min_area_prediction(prediction, min_area, scores, baseline_scores, baseline_min_area):
    """Judge a prediction ("higher", "lower", "the same") of the precision with ``min_area`` against
    ``baseline_min_area`` (MIN_AREA); ``scores, baseline_scores``: :func:`helpers.instances.match_many` results."""
    if min_area == baseline_min_area:
        return say(False, f"MY_MIN_AREA is MIN_AREA ({baseline_min_area}) again: change it and run the cell again.")
    why = (
        f"Objects: {baseline_scores['predicted_objects']} -> {scores['predicted_objects']}, "
        f"extra {baseline_scores['extra']} -> {scores['extra']}, matched {baseline_scores['matched']} -> "
        f"{scores['matched']} (recall {baseline_scores['recall']:.3f} -> {scores['recall']:.3f}, "
        f"F1 {baseline_scores['f1']:.3f} -> {scores['f1']:.3f}). Precision rises when the dropped objects "
        "were mostly extra ones; it can fall when real small nuclei go too."
    )
    return judge_direction(prediction, baseline_scores["precision"], scores["precision"], "precision", 0.002, why)


def check_min_distance_prediction(prediction, min_distance, scores, baseline_scores, baseline_min_distance):
    """Judge a prediction ("higher"/"more", "lower"/"fewer", "the same") of the objects found with
    ``min_distance`` against ``baseline_min_distance``; scores as :func:`check_min_area_prediction`."""
    if min_distance == baseline_min_distance:
        return say(False, f"MY_MIN_DISTANCE is {baseline_min_distance} again: change it and run the cell again.")
    why = (
        f"min_distance {baseline_min_distance} -> {min_distance}: seeds may lie closer together, or must lie "
        f"further apart, and every seed grows into one object (F1 {baseline_scores['f1']:.3f} -> "
        f"{scores['f1']:.3f}: more objects help only while they are real nuclei)."
    )
    before, after = baseline_scores["predicted_objects"], scores["predicted_objects"]
    return judge_direction(prediction, before, after, "objects found", 0, why, number_format=",.0f")


def check_precision_function(function):
    """Check a learner's ``precision(counts)`` on :func:`helpers.instances.match_many`-style counts."""
    if not callable(function):
        return say(False, "Replace None with your function: def my_precision(counts): return ...")
    cases = [
        {"true_objects": 20, "predicted_objects": 16, "matched": 14, "missed": 6, "extra": 2},
        {"true_objects": 5, "predicted_objects": 10, "matched": 4, "missed": 1, "extra": 6},
    ]
    for counts in cases:
        expected = counts["matched"] / counts["predicted_objects"]
        try:
            value = float(function(dict(counts)))
        except Exception as error:  # the learner's code may fail in any way
            return say(False, f"Your function failed on {counts}: {error!r}")
        if np.isclose(value, expected, atol=1e-6):
            continue
        if np.isclose(value, counts["matched"] / counts["true_objects"]):
            return say(False, "That is the recall (matched / true objects); precision divides by the objects found.")
        if np.isclose(value, 2 * counts["matched"] / (counts["true_objects"] + counts["predicted_objects"])):
            return say(False, "That is F1; precision counts only the objects found: matched / predicted_objects.")
        return say(False, f"For {counts} precision is {expected:.3f}, yours gives {value:.3f}.")
    return say(True, "Correct! Precision = matched / predicted objects: the share of found objects that are real.")
