"""Exercises of notebook 07 (from semantic masks to objects), each with a ``check_...()`` function.

The inputs are constants of this module, so the notebook and the checks use the same numbers.
"""

import numpy as np

from helpers.exercises.common import as_number, say

__all__ = [
    "COUNTING_MASK",
    "DISTANCE_MASK",
    "OBJECT_COUNTS",
    "check_object_count",
    "check_largest_distance",
    "check_object_f1",
]

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

#: Exercise 3: counts on a test image: true nuclei, predicted objects, pairs with IoU >= 0.5.
OBJECT_COUNTS = {"true_objects": 20, "predicted_objects": 16, "matched": 14}


def check_object_count(answer):
    """Check the number of objects in COUNTING_MASK with side-only (4-neighbour) connectivity."""
    value, problem = as_number(answer)
    if problem:
        return say(False, problem)
    if value == _SIDE_COUNT:
        return say(True, "Correct! With side neighbours only, the lone centre pixel is an object of its own.")
    if value == _CORNER_COUNT:
        return say(
            False,
            "That is the count when corners connect (connectivity=2). Here only sides count: "
            "look at the centre pixel again.",
        )
    return say(False, f"Not {value:g}. Colour each group of 1s that touch through a side, then count the colours.")


def check_largest_distance(answer):
    """Check the largest value of the distance transform of DISTANCE_MASK."""
    value, problem = as_number(answer)
    if problem:
        return say(False, problem)
    if np.isclose(value, _LARGEST_DISTANCE):
        return say(
            True,
            "Correct! The middle row is 3 pixels from the background above and below: "
            "the narrow side decides. Watershed seeds sit at such maxima.",
        )
    if np.isclose(value, 4):
        return say(False, "4 is the distance along the long side; the nearest background is closer, above or below.")
    if np.isclose(value, 2):
        return say(False, "Count up to the background pixel itself: the middle row is 3 steps away from it.")
    return say(False, f"Not {value:g}. The distance of a pixel is the number of steps to the nearest 0.")


def check_object_f1(answer):
    """Check F1 = 2 matched / (true + predicted) for OBJECT_COUNTS."""
    value, problem = as_number(answer)
    if problem:
        return say(False, problem)
    counts = OBJECT_COUNTS
    f1 = 2 * counts["matched"] / (counts["true_objects"] + counts["predicted_objects"])
    if np.isclose(value, f1, atol=0.005):
        return say(
            True,
            f"Correct! F1 = 2·{counts['matched']} / ({counts['true_objects']} + "
            f"{counts['predicted_objects']}) = {f1:.3f}, between precision 0.875 and recall 0.7.",
        )
    if np.isclose(value, counts["matched"] / counts["predicted_objects"], atol=0.005):
        return say(False, "That is the precision (matched / predicted). F1 also counts the missed nuclei.")
    if np.isclose(value, counts["matched"] / counts["true_objects"], atol=0.005):
        return say(False, "That is the recall (matched / true). F1 also counts the extra objects.")
    return say(False, f"Not {value:.3f}. F1 = 2 × matched / (true objects + predicted objects).")
