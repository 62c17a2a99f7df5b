"""Reading and judging students' answers: what every exercise module shares.

A check prints one short line of feedback and returns a :class:`Verdict`, true when the answer is right.
Exercise modules judge through :func:`judge_number` and :func:`judge_array`, so that every check reacts the
same way to ``None``, a wrong shape or a non-number.
"""

import importlib

import numpy as np


class Verdict:
    """What a check returns: true when the answer is right; it shows nothing at the end of a notebook cell."""

    def __init__(self, correct):
        self.correct = bool(correct)

    def __bool__(self):
        return self.correct

    def __repr__(self):
        return f"Verdict(correct={self.correct})"

    def _ipython_display_(self):
        """Display nothing in Jupyter: the check has already printed its feedback."""


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
        shape = " x ".join(map(str, expected_shape))
        return None, f"Your answer should be numbers in a {shape} array, e.g. [[1, 2], [3, 4]]."
    if array.ndim > len(expected_shape):  # e.g. a Keras output of shape (1, 2, 2, 1)
        array = np.squeeze(array)
    return array, None


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
    """Judge a one-number answer: right (``numpy.isclose`` with ``atol, rtol``), a known mistake, or wrong.

    ``correct``: The line for a right answer ("Correct! ... why it matters"). ``otherwise``: The line for any
    other wrong answer; ``{value}`` becomes the answer written with ``:g``, ``{number}`` the number itself.
    ``mistakes``: Typical wrong answers and the hint each deserves: ``(value, hint)`` or ``(value, hint, atol)``.
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

    ``otherwise``: The line for any other wrong answer; ``{right}`` becomes "N of M numbers are right".
    ``shape_hints``: ``(shape, hint)`` for a wrong shape (shape None: any), the first that fits is printed;
    ``{shape}`` becomes the answer's shape. ``mistakes``: ``(wrong array, hint)`` of the right shape.
    """
    expected = np.asarray(expected, dtype=np.float64)
    array, problem = as_array(answer, expected.shape)
    if problem:
        return say(False, problem)
    if array.shape != expected.shape:
        for shape, hint_text in shape_hints:
            if shape is None or array.shape == tuple(shape):
                return say(False, hint_text.format(shape=array.shape))
        return say(False, f"Expected a {' x '.join(map(str, expected.shape))} array, got shape {array.shape}.")
    if np.allclose(array, expected):
        return say(True, correct)
    for mistake, hint_text in mistakes:
        if np.allclose(array, mistake):
            return say(False, hint_text)
    right = int(np.sum(np.isclose(array, expected)))
    return say(False, otherwise.format(right=f"{right} of {expected.size} numbers are right"))


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
    """
    known = {}
    for name in EXERCISE_MODULES:
        known.update(getattr(importlib.import_module(f"helpers.exercises.{name}"), "HINTS", {}))
    if exercise not in known:
        print(f"No hint called {exercise!r}. The hints here: {', '.join(sorted(known)) or 'none yet'}.")
        return
    print(f"Hint: {known[exercise]}")
