"""Exercises of notebook 03 (tiling large images), each with a ``check_...()`` function."""

from helpers.exercises.common import judge_number, say
from helpers.exercises.predictions import judge_choice, read_word
from helpers.inference import window_starts

__all__ = [
    "TILE_COUNT_IMAGE",
    "TILE_COUNT_TILE",
    "TILE_COUNT_OVERLAP",
    "check_tile_count",
    "check_feature_map_memory",
    "check_kept_centre",
    "ROUND_OFF",
    "check_margin_prediction",
    "check_seam_prediction",
]

#: Hints that ``exercises.hint(name)`` prints, before you open the solution.
HINTS = {
    "feature_map_memory": "height x width x channels numbers, 4 bytes each; 1 MiB = 1024 x 1024 bytes.",
    "tile_count": "Count the tile starts along each side (0, 192, 384, ... and one last tile that ends at "
    "the border), then multiply rows by columns.",
    "kept_centre": "The margin is predicted and thrown away on the left AND on the right.",
    "margin": "A kept pixel is exact when everything it depends on lies inside its tile: compare your margin "
    "with half the receptive field, (receptive field - 1) // 2.",
    "overlap": "Gaussian blending fades one tile into the next across the overlap: the wider the overlap, the "
    "more pixels share the step between two tiles' answers.",
}

#: Largest difference that counts as float32 round-off between two predictions of probabilities.
ROUND_OFF = 1e-4

#: Exercise 1: an image of 1000 x 700 pixels, tiles of 256 that overlap by 64.
TILE_COUNT_IMAGE = (1000, 700)
TILE_COUNT_TILE = 256
TILE_COUNT_OVERLAP = 64


def check_tile_count(answer):
    """Check the number of tiles that cover TILE_COUNT_IMAGE."""
    stride = TILE_COUNT_TILE - TILE_COUNT_OVERLAP
    rows, cols = (len(window_starts(side, TILE_COUNT_TILE, stride)) for side in TILE_COUNT_IMAGE)
    close = (
        "Close: the tiles start every 256 - 64 = 192 pixels, and one more tile is needed "
        "where the last one does not reach the border."
    )
    return judge_number(
        answer,
        rows * cols,
        f"Correct! {rows} rows x {cols} columns; the last tile of each row is moved back to end at the border.",
        "Tiles start every tile - overlap = 192 pixels; count the starts along each side.",
        mistakes=[(4 * 3, close), (5 * 3, close), (4 * 4, close)],
    )


def check_feature_map_memory(answer):
    """Check the MiB of one 64-channel float32 feature map of a 2048 x 2048 image."""
    return judge_number(
        answer,
        1024,
        "Correct! 2048 x 2048 x 64 x 4 bytes = 1024 MiB, for ONE layer's output: a U-Net has dozens of them.",
        "Multiply height x width x channels x 4 bytes, then divide by 1024 x 1024.",
        mistakes=[
            (256, "Each float32 number takes 4 bytes."),
            (2**30, "That is the number of bytes: divide by 1024 x 1024 for MiB."),
            (2**30 / 1e6, "That is in MB (1,000,000 bytes); a MiB is 1024 x 1024 bytes.", 1),
            (1, "That is in GiB; the question asks for MiB (1 GiB = 1024 MiB)."),
        ],
        atol=0.5,
    )


def check_kept_centre(answer):
    """Check the side of the centre kept from a 256-pixel tile with a 48-pixel margin (overlap-tile)."""
    return judge_number(
        answer,
        160,
        "Correct! 256 - 2 x 48 = 160: the margin is thrown away on both sides.",
        "Subtract the margin from each side of the tile.",
        mistakes=[(208, "The margin is thrown away on BOTH sides of the tile.")],
    )


def check_margin_prediction(prediction, margin, difference, receptive_field):
    """Predict, then run: is overlap-tile with your margin "exact" (the largest ``difference`` to whole-image
    prediction, away from the border, at most ``ROUND_OFF``) or does it differ?"""
    word, problem = read_word(prediction, ("exact", "differs"))
    if problem:
        return say(False, problem)
    needed = (int(receptive_field) - 1) // 2
    happened = "exact" if float(difference) <= ROUND_OFF else "differs"
    numbers = f"margin {margin}, largest difference {float(difference):.1e}; the network reaches {needed} px each way"
    why = {  # by what happened, and whether the margin covers the network's reach
        ("exact", True): "every kept pixel had all it depends on inside its tile",
        ("exact", False): "the pixels beyond the margin weigh too little here to show; the reach is an upper bound",
        ("differs", False): "the kept pixels near a tile border miss context the network would have used",
        ("differs", True): "the margin covers the reach, so look at the tile size: kept centres must stay on the "
        "pooling grid",
    }[happened, margin >= needed]
    return judge_choice(word, happened, f"{happened}, because {why} ({numbers}).")


def check_seam_prediction(prediction, overlap, seam, reference_overlap, reference_seam):
    """Predict, then run: with your overlap, are Gaussian-blended seams sharper or softer? ``seam, reference_seam``:
    the largest step between neighbouring pixels of the difference to the untiled prediction, at each overlap."""
    word, problem = read_word(prediction, ("sharper", "softer"))
    if problem:
        return say(False, problem)
    if overlap == reference_overlap:
        return say(False, f"Change my_overlap: it is the overlap of the figure, {reference_overlap}.")
    if float(seam) == float(reference_seam):
        return say(
            False, f"The seams did not change ({float(seam):.3g}); try an overlap further from {reference_overlap}."
        )
    happened = "softer" if float(seam) < float(reference_seam) else "sharper"
    why = (
        "the weights fade from one tile to the next over more pixels, so each step between pixels is smaller"
        if happened == "softer"
        else "the tiles' answers meet over fewer pixels, so the step between them is steeper"
    )
    return judge_choice(
        word,
        happened,
        f"{happened}; {why} (largest step {float(seam):.3g} with overlap {overlap}, "
        f"{float(reference_seam):.3g} with {reference_overlap}).",
    )
