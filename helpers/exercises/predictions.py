"""Judging "predict, then run" exercises: did the learner's prediction hold in their own run?

A check never assumes which way a run goes: it reads the two results, names what happened and
says whether the prediction held.
"""

import numpy as np

from helpers.exercises.common import say

__all__ = [
    "DIRECTION_WORDS",
    "read_direction",
    "observed_direction",
    "judge_direction",
    "read_choice",
    "read_word",
    "judge_choice",
    "DID_NOT_HOLD",
]

#: Accepted words, by the direction they name.
DIRECTION_WORDS = {
    "higher": ("higher", "more", "up", "larger", "bigger", "increase", "increases"),
    "lower": ("lower", "fewer", "less", "down", "smaller", "decrease", "decreases"),
    "the same": ("the same", "same", "equal", "unchanged", "no change"),
}


def read_direction(prediction):
    """Return "higher", "lower" or "the same" for a prediction in words, or None if unreadable.

    ``prediction``: E.g. "higher", "more", "Lower", "the same".
    """
    if not isinstance(prediction, str):
        return None
    word = prediction.strip().lower()
    for direction, words in DIRECTION_WORDS.items():
        if word in words:
            return direction
    return None


def observed_direction(before, after, tolerance):
    """Return "higher", "lower" or "the same" for ``after`` compared with ``before``.

    ``tolerance``: Differences of at most this size count as "the same".
    """
    difference = float(after) - float(before)
    if abs(difference) <= tolerance:
        return "the same"
    return "higher" if difference > 0 else "lower"


def judge_direction(prediction, before, after, what, tolerance, why, number_format=".3f"):
    """Print whether the predicted direction held for ``what`` and return a Verdict.

    ``prediction``: The learner's prediction, e.g. ``my_prediction``.
    ``before, after``: The result before the change and after it.
    ``what``: The quantity, e.g. "the synapse Dice".
    ``tolerance``: Differences of at most this size count as "the same".
    ``why``: One sentence on what the numbers mean, printed in either case.
    ``number_format``: How the two numbers are written, e.g. ",.0f" for counts.
    """
    if prediction is None:
        return say(False, 'Write your prediction first: my_prediction = "higher", "lower" or "the same".')
    predicted = read_direction(prediction)
    if predicted is None:
        return say(False, f'Write "higher", "lower" or "the same" (got {prediction!r}).')
    if not (np.isfinite(before) and np.isfinite(after)):
        return say(False, f"{what} is not a finite number ({before}, {after}): run the cells above again.")
    observed = observed_direction(before, after, tolerance)
    numbers = f"{what}: {before:{number_format}} before, {after:{number_format}} after" + (
        f" (differences up to {tolerance:g} count as the same)" if tolerance else ""
    )
    if predicted == observed:
        return say(True, f"Your prediction held: {observed}. {numbers}. {why}")
    return say(False, f"Not this time: it came out {observed}, not {predicted}. {numbers}. {why}")


def read_choice(prediction, choices):
    """Read a prediction that must be one of a few words.

    ``prediction``: The learner's prediction, e.g. ``my_prediction``; case and surrounding spaces do not matter.
    ``choices``: The accepted words, in lower case.
    Returns: ``(word, None)`` for an accepted word, else ``(None, feedback line)``.
    """
    if prediction is None:
        return None, "Replace None with your prediction, one of: " + ", ".join(repr(c) for c in choices) + "."
    word = str(prediction).strip().lower()
    if word not in choices:
        return None, f"Predict with one of {', '.join(repr(c) for c in choices)}, not {prediction!r}."
    return word, None


def read_word(prediction, choices, note=""):
    """Return ``(word, None)`` for one of ``choices`` (any case), else ``(None, the line asking for one)``."""
    word = prediction.strip().lower() if isinstance(prediction, str) else None
    if word in choices:
        return word, None
    quoted = [f'"{choice}"' for choice in choices]
    return None, f"Write your prediction first: my_prediction = {', '.join(quoted[:-1])} or {quoted[-1]}{note}."


#: The opening words of :func:`judge_choice` in the augmentation and loss exercises when a prediction did not hold.
DID_NOT_HOLD = "Your prediction did not hold"


def judge_choice(choice, observed, explanation, not_held="Not this time"):
    """Print whether the predicted word is what the run showed, then why; return a Verdict.

    ``choice``: The learner's word, as :func:`read_choice` returned it.
    ``observed``: The word for what the run showed.
    ``explanation``: What follows "Your prediction held: " (or ``not_held + ": "``).
    ``not_held``: The opening words when the prediction did not hold.
    """
    held = choice == observed
    return say(held, f"{'Your prediction held' if held else not_held}: {explanation}")
