"""Exercises of notebook 05 (multi-class segmentation), each with a ``check_...()`` function."""

import numpy as np

from helpers.exercises.common import judge_array, judge_number, say
from helpers.exercises.predictions import judge_direction

__all__ = [
    "ONE_HOT_LABELS",
    "WEIGHT_LABELS",
    "CONFUSION",
    "check_one_hot",
    "check_class_weight",
    "check_class_iou",
    "check_accuracy_prediction",
    "check_weights_prediction",
]

#: On-demand help, ``exercises.hint("one_hot")``: read it before the solution.
HINTS = {
    "one_hot": "Each pixel becomes a list of 3 numbers, all 0 except a 1 at the position of its class.",
    "class_weight": "Count the pixels (12), the classes (K = 3) and the pixels of class 2; the formula "
    "is pixels / (K x pixels of the class).",
    "class_iou": "TP is on the diagonal; FN are the other numbers of row 1, FP the other numbers of column 1.",
    "accuracy_prediction": "Which class has the most pixels, and which weight did it get? Plain accuracy "
    "is mostly that class; the weighted one gives the rare classes more say.",
    "weights_prediction": "Without weights a synapse pixel counts as much as any other pixel, and there "
    "are few of them: how much does the loss care about getting them right?",
}

#: Exercise 1: a 2x2 label map with 3 classes (0, 1, 2).
ONE_HOT_LABELS = np.array([[0, 2], [1, 2]])
#: Exercise 2: a label map of 12 pixels: class 0 eight times, class 1 three times, class 2 once.
WEIGHT_LABELS = np.array([[0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 2]])
#: Exercise 4: a confusion matrix (rows: true class, columns: predicted class), in pixels.
CONFUSION = np.array([[50, 5, 0], [10, 30, 0], [0, 5, 0]])


def check_one_hot(answer):
    """Check the one-hot mask of ONE_HOT_LABELS, shape (2, 2, 3)."""
    expected = np.eye(3)[ONE_HOT_LABELS]
    return judge_array(
        answer,
        expected,
        "Correct! Each pixel becomes a vector with a single 1 in the channel of its class.",
        "{right}. Pixel (0, 1) has class 2, so its vector is [0, 0, 1].",
        shape_hints=[
            ((3, 2, 2), "The classes go in the *last* axis: shape (2, 2, 3), one vector of 3 per pixel."),
            (None, "Expected shape 2 x 2 x 3 (height x width x classes), got {shape}."),
        ],
    )


def check_class_weight(answer):
    """Check the weight of class 2 in WEIGHT_LABELS with weight = pixels / (K x pixels of class): 4."""
    return judge_number(
        answer,
        4,
        "Correct! 12 / (3 x 1) = 4: the single class-2 pixel counts as much as 4 ordinary ones.",
        "Not quite: 12 pixels, 3 classes, class 2 has 1 pixel.",
        mistakes=[(12, "Divide also by the number of classes K = 3: 12 / (3 x 1).")],
        rtol=0.01,
    )


def check_class_iou(answer):
    """Check the IoU of class 1 from CONFUSION: 30 / (30 + 10 + 10) = 0.6."""
    both_mistakes = "Count both mistakes: false negatives in row 1 (10) and false positives in column 1 (5 + 5)."
    return judge_number(
        answer,
        0.6,
        "Correct! TP 30, FN 10, FP 10: IoU 30 / 50 = 0.6 (and Dice 60 / 80 = 0.75).",
        "Not quite: IoU = TP / (TP + FP + FN), with TP on the diagonal.",
        mistakes=[
            (30 / 40, f"0.75 is the Dice of class 1 (2 x 30 / 80), or TP / (TP + FN). {both_mistakes}"),
            (30 / 45, both_mistakes),
        ],
        atol=0.005,
    )


def _accuracy(true_labels, predicted_labels, pixel_weight=None):
    """The share of right pixels, each counted with its ``pixel_weight`` (None: all alike)."""
    right = np.asarray(true_labels).reshape(-1) == np.asarray(predicted_labels).reshape(-1)
    return float(np.average(right, weights=pixel_weight))


def check_accuracy_prediction(prediction, true_labels, predicted_labels, weights):
    """Predict, then run: is plain pixel accuracy "higher", "lower" or "the same" as the class-weighted one Keras
    logged with ``weights`` (one per class, as in training)?"""
    true_labels = np.asarray(true_labels).reshape(-1).astype(int)
    predicted_labels = np.asarray(predicted_labels).reshape(-1)
    if true_labels.shape != predicted_labels.shape:
        return say(False, f"true_labels has {true_labels.size} pixels, predicted_labels {predicted_labels.size}.")
    weights = np.asarray(weights, dtype=np.float64)
    weighted = _accuracy(true_labels, predicted_labels, weights[true_labels])
    plain = _accuracy(true_labels, predicted_labels)
    common = int(np.argmax(np.bincount(true_labels, minlength=len(weights))))
    found = _accuracy(true_labels[true_labels == common], predicted_labels[true_labels == common])
    why = (
        f"Plain accuracy is mostly class {common} ({np.mean(true_labels == common):.0%} of these pixels, "
        f"{found:.0%} of them right, weight {weights[common]:.2f}); the weighted one lets the rarer classes count more."
    )
    return judge_direction(prediction, weighted, plain, "accuracy (weighted -> plain)", 0.002, why)


def check_weights_prediction(prediction, use_weights, weighted_dice, new_dice, class_shares, class_names):
    """Predict, then run: without class weights, does the Dice of the rarest class (smallest of ``class_shares``,
    the shares of the training pixels) go up or down from ``weighted_dice`` to ``new_dice`` (per class)?"""
    if use_weights:
        return say(False, "The new model trained with weights again: set USE_WEIGHTS = False and run the cell again.")
    rare = int(np.argmin(class_shares))
    why = (
        f"Without weights each {class_names[rare]} pixel ({class_shares[rare]:.1%} of the training pixels) "
        f"counts like any other pixel in the loss. One seed: differences of a few hundredths can be chance."
    )
    return judge_direction(
        prediction, float(weighted_dice[rare]), float(new_dice[rare]), f"{class_names[rare]} Dice", 0.005, why
    )
