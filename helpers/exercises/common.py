"""Reading and judging students' answers: what every exercise module shares.

A check prints one short line of feedback and returns a :class:`Verdict`, true when the
answer is right. Exercise modules use :func:`say`, :func:`as_array` and :func:`as_number`
so that every check reacts the same way to ``None``, a wrong shape or a non-number.
"""

import importlib

import numpy as np


class Verdict:
    """What a check returns: true when the answer is right.

    It shows nothing when it ends a notebook cell: the check has already printed its feedback.
    """

    def __init__(self, correct):
        self.correct = bool(correct)

    def __bool__(self):
        return self.correct

    def __repr__(self):
        return f"Verdict(correct={self.correct})"

    def _ipython_display_(self):
        """Display nothing in Jupyter."""


def say(correct, message):
    """Print the one line of feedback and return a Verdict (true when the answer is right)."""
    print(message)
    return Verdict(correct)


def as_array(answer, expected_shape):
    """Return (array, None) or (None, feedback line) for an answer that should be an array."""
    if answer is None:
        return None, "Replace None with your answer."
    try:
        array = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        return None, f"Your answer should be numbers in a {shape_words(expected_shape)} array, e.g. [[1, 2], [3, 4]]."
    if array.ndim > len(expected_shape):  # e.g. a Keras output of shape (1, 2, 2, 1)
        array = np.squeeze(array)
    return array, None


def shape_words(shape):
    return " x ".join(str(side) for side in shape)


def as_number(answer):
    """Return (float, None) or (None, feedback line) for an answer that should be one number."""
    if answer is None:
        return None, "Replace None with your answer."
    array = np.asarray(answer)
    if array.size != 1:
        return None, f"Give one number, not an array of shape {array.shape}."
    try:
        return float(array.reshape(())), None
    except (TypeError, ValueError):
        return None, f"Give one number, not {answer!r}."


def judge_number(answer, right, correct, otherwise, mistakes=(), atol=0.0, rtol=0.0):
    """Judge a one-number answer: right, a known mistake (with its hint), or wrong.

    ``answer``: What the learner wrote (None, a number, a one-element array ...).
    ``right``: The expected answer, computed by the helper that does the real thing.
    ``correct``: The line printed for a right answer ("Correct! ... why it matters").
    ``otherwise``: The line printed for any other wrong answer; ``{value}`` is replaced by the answer written with
    ``:g``, ``{number}`` by the number itself (for a format of your own, e.g. ``{number:.3f}``).
    ``mistakes``: Typical wrong answers and the hint each deserves: ``(value, hint)``, or ``(value, hint, atol)``.
    ``atol, rtol``: How close counts as equal (``numpy.isclose``); 0 and 0 mean exactly.
    """
    value, problem = as_number(answer)
    if problem:
        return say(False, problem)
    if np.isclose(value, right, atol=atol, rtol=rtol):
        return say(True, correct)
    for mistake, hint_text, *tolerance in mistakes:
        if np.isclose(value, mistake, atol=tolerance[0] if tolerance else atol, rtol=rtol):
            return say(False, hint_text)
    return say(False, otherwise.format(value=f"{value:g}", number=value))


def judge_array(answer, expected, correct, otherwise, shape_hints=(), mistakes=()):
    """Judge an answer that should be a small array: right, a wrong shape, a known mistake, or wrong.

    ``answer``: What the learner wrote (None, a nested list, an array ...).
    ``expected``: The expected answer, computed by the helper that does the real thing.
    ``correct``: The line printed for a right answer.
    ``otherwise``: The line printed for any other wrong answer; ``{right}`` is replaced by "N of M numbers are
    right".
    ``shape_hints``: For a wrong shape: the hint for that shape (None: any shape); ``{shape}`` is replaced by the
    answer's shape. The first that fits is printed.
    ``mistakes``: Typical wrong answers of the right shape and the hint each deserves.
    """
    expected = np.asarray(expected, dtype=np.float64)
    array, problem = as_array(answer, expected.shape)
    if problem:
        return say(False, problem)
    if array.shape != expected.shape:
        for shape, hint_text in shape_hints:
            if shape is None or array.shape == tuple(shape):
                return say(False, hint_text.format(shape=array.shape))
        return say(False, f"Expected a {shape_words(expected.shape)} array, got shape {array.shape}.")
    if np.allclose(array, expected):
        return say(True, correct)
    for mistake, hint_text in mistakes:
        if np.allclose(array, mistake):
            return say(False, hint_text)
    return say(False, otherwise.format(right=count_right(array, expected)))


def count_right(array, expected):
    right = int(np.sum(np.isclose(array, expected)))
    return f"{right} of {expected.size} numbers are right"


#: The exercise modules, one per notebook, whose ``HINTS`` dicts :func:`hint` reads.
EXERCISE_MODULES = (
    "intro",
    "augmentation",
    "tiling",
    "losses",
    "multiclass",
    "volumes",
    "instances",
    "own_data",
    "export",
)


def hint(exercise):
    """Print the hint of an exercise, e.g. ``exercises.hint("convolution")``: help before the solution.

    Every exercise module keeps its hints in a dict ``HINTS = {"exercise name": "hint", ...}``.

    ``exercise``: The exercise's name, as the notebook gives it.
    """
    known = {}
    for name in EXERCISE_MODULES:
        known.update(getattr(importlib.import_module(f"helpers.exercises.{name}"), "HINTS", {}))
    if exercise not in known:
        print(f"No hint called {exercise!r}. The hints here: {', '.join(sorted(known)) or 'none yet'}.")
        return
    print(f"Hint: {known[exercise]}")
