"""Exercises of notebook 09 (use your model elsewhere): which sizes a package accepts."""

from helpers.exercises.common import say

__all__ = ["SIZES_DEPTH", "SIZES_CANDIDATES", "check_accepted_sizes"]

#: The package of a U-Net with this many poolings states min = step = 2**SIZES_DEPTH.
SIZES_DEPTH = 4
#: Tile sides a tool might try.
SIZES_CANDIDATES = (8, 16, 24, 32, 40, 48, 100, 128, 256, 500, 512)


def check_accepted_sizes(answer):
    """Check which of SIZES_CANDIDATES a package with min = step = 2**SIZES_DEPTH accepts."""
    if answer is None:
        return say(False, "Replace None with your answer, a list such as [16, 32].")
    try:
        chosen = {int(value) for value in answer}
    except (TypeError, ValueError):
        return say(False, "Give a list of whole numbers taken from SIZES_CANDIDATES.")
    step = 2**SIZES_DEPTH
    right = {size for size in SIZES_CANDIDATES if size % step == 0 and size >= step}
    if chosen == right:
        return say(
            True,
            f"Correct! Sizes 16 * n: {sorted(right)}. Tools that tile pick such "
            f"tiles; any other size breaks the skip connections after 4 poolings.",
        )
    if 8 in chosen:
        return say(False, "8 is below the minimum 2**4 = 16: four poolings would go below 1 pixel.")
    if chosen & {24, 40, 100, 500}:
        return say(False, "Some of your sizes are not multiples of 16 (2**4): 24 / 16 = 1.5.")
    return say(False, "Keep every candidate that is a multiple of 2**4 = 16 (and at least 16).")
