"""Exercises of notebook 02 (data augmentation), each with a ``check_...()`` function."""

import numpy as np

from helpers import augmentation
from helpers.exercises.common import judge_number, say
from helpers.exercises.predictions import DID_NOT_HOLD, judge_choice, judge_direction, read_word

__all__ = [
    "AUGMENTATION_CHOICES",
    "STRIPES",
    "HINTS",
    "check_joint_flip",
    "check_moves_the_mask",
    "check_orientation_count",
    "check_flip_seed_prediction",
    "check_elastic_prediction",
    "check_elastic_training",
]

#: On-demand help, ``exercises.hint("joint_flip")``: read it before the solution.
HINTS = {
    "joint_flip": "Axis 0 is the rows (top-bottom), axis 1 the columns (left-right). Slicing with ::-1 "
    "reverses an axis; do the same to both arrays.",
    "moves_the_mask": "Ask of each change: does a membrane pixel end up somewhere else? If yes, its label "
    "must go there too.",
    "orientation_count": "Draw a letter F on paper and turn it by 0, 90, 180 and 270 degrees; then do the "
    "same with its mirror image. Are any two of these the same?",
    "flip_seed_prediction": "Each Keras random layer keeps its own random-number generator, started from its "
    "seed. Two generators started from the same seed and asked equally often give the same numbers.",
    "elastic_prediction": "alpha is how far (in pixels) the most-displaced pixel moves. Near a stripe's edge, "
    "a pixel that moves farther is more likely to land on the other class.",
    "elastic_training": "Folded tissue never occurs under the microscope: does learning from it help on real "
    "test sections, or does it cost the network some of its few training steps?",
}

#: The elastic-strength exercise: a 128 x 128 mask of vertical stripes 16 pixels wide.
STRIPES = np.tile((np.arange(128) // 16 % 2).astype(np.float32), (128, 1))

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
        return say(False, f"Shapes changed: {flipped_image.shape} and {flipped_mask.shape}, expected {image.shape}.")
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
    chosen = {answer} if isinstance(answer, str) else set(answer)
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
    return judge_number(
        answer,
        8,
        "Correct! 4 turns x (flipped or not) = 8: eight versions of every training image for free.",
        "Count the 4 turns (0, 90, 180, 270 degrees), each with or without a flip.",
        mistakes=[(16, "Some combinations give the same image: a vertical flip is a horizontal flip plus two turns.")],
    )


def check_flip_seed_prediction(prediction, image_seed, mask_seed, wrong_shares):
    """Judge a prediction ("in step" or "out of step") about two RandomFlip layers given the same seed.

    ``image_seed, mask_seed``: the seeds of the image's and the mask's layer (the exercise makes them equal);
    ``wrong_shares``: the share of wrong mask pixels in each draw, as the learner's cell measured it.
    """
    choice, problem = read_word(prediction, ("in step", "out of step"))
    if problem:
        return say(False, problem)
    if mask_seed != image_seed:
        return say(False, f"MASK_FLIP_SEED is {mask_seed}: set it to {image_seed}, the image's seed, and run again.")
    shares = np.asarray(wrong_shares, dtype=np.float64).ravel()
    if shares.size == 0:
        return say(False, "Run the cell that measures the draws first (wrong_shares is empty).")
    out_of_step = int(np.sum(shares > 0))
    if out_of_step:
        observed = "out of step"
        why = f"with seed {image_seed} for both, {out_of_step} of {shares.size} draws flipped them differently."
    else:
        observed = "in step"
        why = (
            f"with seed {image_seed} for both, all {shares.size} draws kept image and mask in step. In Keras 3 each "
            "layer draws from its own generator started from its seed, so equal seeds give equal coins as long as "
            "both layers are called equally often. One extra call of one layer (or TensorFlow 2.10-2.11, "
            "keras#17457) and they fall out of step for good: one draw for both is the safe fix."
        )
    return judge_choice(choice, observed, why, not_held=DID_NOT_HOLD)


def _changed_share(alpha):
    """The share of STRIPES' mask pixels that elastic_deform(seed=0) at ``alpha`` moves to the other class."""
    return float(np.mean(augmentation.elastic_deform(STRIPES, STRIPES, seed=0, alpha=alpha)[1] != STRIPES))


def _folded(alpha):
    """The share of a 512x512 image that elastic deformation at ``alpha`` (seed 0) folds over."""
    return augmentation.folded_fraction(*augmentation.displacement_field((512, 512), alpha=alpha))


def check_elastic_prediction(prediction, alpha, bent_mask):
    """Judge a prediction ("more", "fewer", "the same") of how many mask pixels elastic deformation changes at
    the learner's ``alpha`` than at the course's; ``bent_mask``: :data:`STRIPES` bent in the learner's cell."""
    choice, problem = read_word(prediction, ("more", "fewer", "the same"))
    if problem:
        return say(False, problem)
    reference_alpha = augmentation.ELASTIC_DEFAULTS["alpha"]
    if alpha == reference_alpha:
        return say(False, f"my_alpha is the course's {reference_alpha:g} again: change it (to 30, then 5) and run.")
    _, expected_mask = augmentation.elastic_deform(STRIPES, STRIPES, seed=0, alpha=alpha)
    if np.shape(bent_mask)[:2] != STRIPES.shape or not np.array_equal(np.reshape(bent_mask, (128, 128)), expected_mask):
        return say(False, "bent_mask is not elastic_deform(STRIPES, STRIPES, seed=0, alpha=my_alpha)[1]: run the cell.")
    changed, reference = _changed_share(alpha), _changed_share(reference_alpha)
    observed = "the same" if abs(changed - reference) < 0.005 else ("more" if changed > reference else "fewer")
    why = "Pixels move up to about alpha pixels, so a larger alpha carries more of them across a stripe's edge."
    if max(changed, reference) > 0.45:
        why += " Near half the pixels changed: a random mask would give as many; the stripes are scrambled, not bent."
    return judge_choice(
        choice,
        observed,
        f"at alpha {alpha:g}, {changed:.1%} of the mask pixels changed class, at alpha {reference_alpha:g} "
        f"{reference:.1%}; {_folded(alpha):.1%} of a 512x512 image folds over at alpha {alpha:g}. {why}",
        not_held=DID_NOT_HOLD,
    )


def check_elastic_training(prediction, alpha, run, course_run):
    """Judge a prediction ("higher", "lower", "the same") of the test Dice of a model trained on elastic copies
    made with the learner's ``alpha``, against ``course_run``, the notebook's run with the same seed.

    ``run, course_run``: results of :func:`helpers.comparison.train_and_score`.
    """
    if alpha is None or run is None:
        return say(False, "Set my_alpha (e.g. 30, the old setting) and run the cell: it trains one model.")
    if alpha == augmentation.ELASTIC_DEFAULTS["alpha"]:
        return say(False, f"my_alpha is the course's {alpha:g}: that only repeats the training. Change it, run again.")
    if run["seed"] != course_run["seed"]:
        return say(False, f"Your run has seed {run['seed']}, the course's {course_run['seed']}: use the same seed.")
    why = (
        f"At alpha {alpha:g} {_folded(alpha):.1%} of the pixels fold over. One seed each: a difference within the spread "
        "of the seeds in the table above is not a result."
    )
    return judge_direction(prediction, course_run["dice"], run["dice"], "test Dice", 0.005, why)
