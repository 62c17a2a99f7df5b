"""Judging "predict, then run" exercises: did the learner's prediction hold in their own run?

A check never assumes which way a run goes: it reads the two results, names what happened and
says whether the prediction held.
"""

import numpy as np

from helpers.exercises.common import say

#: Accepted words, by the direction they name.
DIRECTION_WORDS = {
    "higher": ("higher", "more", "up", "larger", "bigger", "increase", "increases"),
    "lower": ("lower", "fewer", "less", "down", "smaller", "decrease", "decreases"),
    "the same": ("the same", "same", "equal", "unchanged", "no change"),
}
#: The opening words of :func:`judge_choice` in the augmentation and loss exercises when a prediction did not hold.
DID_NOT_HOLD = "Your prediction did not hold"


def read_direction(prediction):
    """Return "higher", "lower" or "the same" for a prediction in words (e.g. "More"), or None if unreadable."""
    word = prediction.strip().lower() if isinstance(prediction, str) else None
    return next((direction for direction, words in DIRECTION_WORDS.items() if word in words), None)


def observed_direction(before, after, tolerance):
    """Return "higher", "lower" or "the same" (a difference of at most ``tolerance``) for ``after`` against ``before``."""
    difference = float(after) - float(before)
    if abs(difference) <= tolerance:
        return "the same"
    return "higher" if difference > 0 else "lower"


def judge_direction(prediction, before, after, what, tolerance, why, number_format=".3f"):
    """Print whether the predicted direction (e.g. ``my_prediction = "higher"``) held for ``what``; return a Verdict.

    ``before, after``: The results before and after the change; differences up to ``tolerance`` count as "the same".
    ``why``: One sentence on what the numbers mean, printed in either case; ``number_format``: e.g. ",.0f" for counts.
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


def read_word(prediction, choices, note=""):
    """Return ``(word, None)`` for one of ``choices`` (any case, spaces around), else ``(None, the line asking)``."""
    word = prediction.strip().lower() if isinstance(prediction, str) else None
    if word in choices:
        return word, None
    quoted = [f'"{choice}"' for choice in choices]
    got = "" if prediction is None else f", not {prediction!r}"
    return None, f"Write your prediction first: my_prediction = {', '.join(quoted[:-1])} or {quoted[-1]}{note}{got}."


def judge_choice(choice, observed, explanation, not_held="Not this time"):
    """Print whether the word ``choice`` is what the run showed (``observed``), then ``explanation``; a Verdict."""
    held = choice == observed
    return say(held, f"{'Your prediction held' if held else not_held}: {explanation}")
