"""Exercises of notebook 02 (data augmentation), each with a ``check_...()`` function."""

import numpy as np

from helpers.exercises.common import as_number, say

__all__ = [
    "AUGMENTATION_CHOICES",
    "check_joint_flip",
    "check_moves_the_mask",
    "check_orientation_count",
]

#: Exercise 2: which of these changes must be applied to the mask as well?
AUGMENTATION_CHOICES = (
    "horizontal flip",
    "brightness",
    "rotation by 10 degrees",
    "gaussian noise",
    "zoom",
    "gamma",
    "elastic deformation",
    "contrast",
    "blur",
    "shear",
)
_MOVES_PIXELS = {"horizontal flip", "rotation by 10 degrees", "zoom", "elastic deformation", "shear"}


def check_joint_flip(joint_flip):
    """Check a function ``joint_flip(image, mask)`` that flips both left-right and returns them."""
    if joint_flip is None:
        return say(False, "Replace None with your function (def my_joint_flip(image, mask): ...).")
    if not callable(joint_flip):
        return say(False, "Give the function itself (my_joint_flip), not its result.")
    image = np.arange(12, dtype=float).reshape(3, 4, 1)
    mask = (image > 5).astype(float)
    try:
        result = joint_flip(image, mask)
        flipped_image, flipped_mask = (np.asarray(part) for part in result)
    except (TypeError, ValueError) as error:
        return say(False, f"Your function should return (image, mask); calling it gave: {error}")
    if flipped_image.shape != image.shape or flipped_mask.shape != mask.shape:
        return say(
            False, f"Shapes changed: got {flipped_image.shape} and {flipped_mask.shape}, expected {image.shape}."
        )
    if not np.array_equal(flipped_image, image[:, ::-1]):
        if np.array_equal(flipped_image, image[::-1]):
            return say(False, "That flips top-bottom (axis 0); left-right is axis 1: image[:, ::-1].")
        return say(False, "The image is not flipped left-right: try image[:, ::-1].")
    if not np.array_equal(flipped_mask, mask[:, ::-1]):
        return say(False, "The image is flipped but the mask is not flipped the same way: they fell out of step.")
    return say(True, "Correct! One change, applied to both: the mask stays on the structures it labels.")


def check_moves_the_mask(answer):
    """Check the set of AUGMENTATION_CHOICES that must be applied to the mask too."""
    if answer is None:
        return say(False, 'Replace None with a set of names, e.g. {"zoom", "blur"}.')
    if isinstance(answer, str):
        answer = {answer}
    chosen = set(answer)
    unknown = chosen - set(AUGMENTATION_CHOICES)
    if unknown:
        return say(False, f"Not in the list: {sorted(unknown)}. Copy names from AUGMENTATION_CHOICES.")
    missing, extra = _MOVES_PIXELS - chosen, chosen - _MOVES_PIXELS
    if not missing and not extra:
        return say(True, "Correct! Changes that move pixels move the mask; changes of values leave it alone.")
    hints = []
    if missing:
        hints.append(f"{len(missing)} change(s) that move pixels are missing")
    if extra:
        hints.append(f"{len(extra)} change(s) only alter pixel values (the mask must stay as it is)")
    return say(False, "Not yet: " + "; ".join(hints) + ".")


def check_orientation_count(answer):
    """Check how many different orientations flips and 90-degree turns give a square image."""
    number, problem = as_number(answer)
    if problem:
        return say(False, problem)
    if number == 8:
        return say(True, "Correct! 4 turns x (flipped or not) = 8: eight versions of every training image for free.")
    if number == 16:
        return say(False, "Some combinations give the same image: a vertical flip is a horizontal flip plus two turns.")
    return say(False, "Count the 4 turns (0, 90, 180, 270 degrees), each with or without a flip.")
