"""Exercises of notebook 03 (tiling large images), each with a ``check_...()`` function."""

from helpers.exercises.common import as_number, say

__all__ = [
    "TILE_COUNT_IMAGE",
    "TILE_COUNT_TILE",
    "TILE_COUNT_OVERLAP",
    "check_tile_count",
    "check_feature_map_memory",
    "check_kept_centre",
]

#: Exercise 1: an image of 1000 x 700 pixels, tiles of 256 that overlap by 64.
TILE_COUNT_IMAGE = (1000, 700)
TILE_COUNT_TILE = 256
TILE_COUNT_OVERLAP = 64


def _starts(size, tile, stride):
    if size <= tile:
        return 1
    count = len(range(0, size - tile + 1, stride))
    return count + (0 if (count - 1) * stride == size - tile else 1)


def check_tile_count(answer):
    """Check the number of tiles that cover TILE_COUNT_IMAGE."""
    number, problem = as_number(answer)
    if problem:
        return say(False, problem)
    stride = TILE_COUNT_TILE - TILE_COUNT_OVERLAP
    rows, cols = (_starts(side, TILE_COUNT_TILE, stride) for side in TILE_COUNT_IMAGE)
    if number == rows * cols:
        return say(
            True,
            f"Correct! {rows} rows x {cols} columns; the last tile of each row is moved back to end at the border.",
        )
    if number in (4 * 3, 5 * 3, 4 * 4):
        return say(
            False,
            "Close: the tiles start every 256 - 64 = 192 pixels, and one more tile is needed "
            "where the last one does not reach the border.",
        )
    return say(False, "Tiles start every tile - overlap = 192 pixels; count the starts along each side.")


def check_feature_map_memory(answer):
    """Check the MiB of one 64-channel float32 feature map of a 2048 x 2048 image."""
    number, problem = as_number(answer)
    if problem:
        return say(False, problem)
    if abs(number - 1024) < 1:
        return say(
            True, "Correct! 2048 x 2048 x 64 x 4 bytes = 1024 MiB, for ONE layer's output: a U-Net has dozens of them."
        )
    if abs(number - 256) < 1:
        return say(False, "Each float32 number takes 4 bytes.")
    return say(False, "Multiply height x width x channels x 4 bytes, then divide by 1024 x 1024.")


def check_kept_centre(answer):
    """Check the side of the centre kept from a 256-pixel tile with a 48-pixel margin (overlap-tile)."""
    number, problem = as_number(answer)
    if problem:
        return say(False, problem)
    if number == 160:
        return say(True, "Correct! 256 - 2 x 48 = 160: the margin is thrown away on both sides.")
    if number == 208:
        return say(False, "The margin is thrown away on BOTH sides of the tile.")
    return say(False, "Subtract the margin from each side of the tile.")
