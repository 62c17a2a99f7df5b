"""The check_...() functions: right answers, hinted mistakes, and agreement with Keras."""

import keras
import numpy as np
import pytest

from helpers import exercises
from helpers.exercises import intro


def printed(capsys):
    """The one line a check printed."""
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


# --- the expected answers agree with Keras and with hand computation ---------------------


def test_convolution_answer_by_hand():
    # top-left: left column of the first 3x3 patch (3+1+0) minus its right column (0+2+5)
    np.testing.assert_array_equal(intro.EXPECTED_CONVOLUTION, [[-3, 4], [-5, 2]])


def test_convolution_answer_equals_keras_conv2d():
    layer = keras.layers.Conv2D(1, 3, padding="valid", use_bias=False)
    layer.build((1, 4, 4, 1))
    layer.set_weights([exercises.CONVOLUTION_KERNEL.reshape(3, 3, 1, 1).astype("float32")])
    result = layer(exercises.CONVOLUTION_IMAGE.reshape(1, 4, 4, 1).astype("float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(result)[0, ..., 0], intro.EXPECTED_CONVOLUTION)


def test_flipping_the_kernel_changes_the_answer():
    flipped = exercises.CONVOLUTION_KERNEL[::-1, ::-1]
    assert not np.array_equal(flipped, exercises.CONVOLUTION_KERNEL)


def test_max_pooling_answer_equals_keras():
    pooled = keras.layers.MaxPooling2D(2)(exercises.POOLING_IMAGE.reshape(1, 4, 4, 1).astype("float32"))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(pooled)[0, ..., 0], [[4, 5], [6, 3]])
    np.testing.assert_array_equal(intro.EXPECTED_MAX_POOLING, [[4, 5], [6, 3]])


def test_unet_output_size_facts():
    assert exercises.unet_valid_output_size(572) == 388  # Ronneberger et al. 2015, figure 1
    assert exercises.unet_valid_output_size(252) == 68


@pytest.mark.parametrize(
    "size, message",
    [
        (250, "level 2 the feature map is 119 pixels wide"),
        (252.5, "level 1"),
        (140, "too small"),
    ],
)
def test_unet_output_size_refuses_sizes_that_do_not_fit(size, message):
    with pytest.raises(ValueError, match=message):
        exercises.unet_valid_output_size(size)


def test_dice_exercise_values_by_hand():
    # truth 6 pixels, prediction 5 pixels, overlap 4
    assert exercises.DICE_TRUTH.sum() == 6
    assert exercises.DICE_PREDICTION.sum() == 5
    assert np.sum(exercises.DICE_TRUTH * exercises.DICE_PREDICTION) == 4


# --- check_convolution ------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, expected_line",
    [
        (None, "Replace None with your answer."),
        (np.zeros((4, 4)), "the output is smaller than the input"),
        (np.zeros((3, 3)), "got shape (3, 3)"),
        ([[3, -4], [5, -2]], "Did you flip the kernel? Keras does not"),
        ([[-3, -5], [4, 2]], "Rows and columns are swapped"),
        ([[-3, 4], [0, 0]], "Not yet: 2 of 4 numbers are right"),
        ("four", "should be numbers"),
    ],
)
def test_check_convolution_mistakes(capsys, answer, expected_line):
    assert exercises.check_convolution(answer).correct is False
    assert expected_line in printed(capsys)


@pytest.mark.parametrize("answer", [[[-3, 4], [-5, 2]], np.array([[-3.0, 4.0], [-5.0, 2.0]]).reshape(1, 2, 2, 1)])
def test_check_convolution_right(capsys, answer):
    assert exercises.check_convolution(answer).correct is True
    assert printed(capsys).startswith("Correct!")


# --- check_max_pooling ------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, expected_line",
    [
        (None, "Replace None with your answer."),
        (np.zeros((3, 3)), "the 2x2 windows do not overlap"),
        (np.zeros((4, 4)), "Expected a 2 x 2 array"),
        ([[2.5, 2], [2.25, 1.5]], "That is average pooling"),
        ([[1, 0], [0, 0]], "smallest number"),
        ([[4, 5], [6, 0]], "Not yet: 3 of 4 numbers are right"),
    ],
)
def test_check_max_pooling_mistakes(capsys, answer, expected_line):
    assert exercises.check_max_pooling(answer).correct is False
    assert expected_line in printed(capsys)


def test_check_max_pooling_right(capsys):
    assert exercises.check_max_pooling([[4, 5], [6, 3]]).correct is True
    assert printed(capsys).startswith("Correct!")


# --- check_unet_output_size -------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, expected_line",
    [
        (None, "Replace None with your answer."),
        ((68, 68), "Give one number"),
        (252, "the output is smaller than the input"),
        (500, "cannot be larger than the input"),
        (60, "Follow the side down: 252 -> 250 -> 248 -> pool -> 124"),
    ],
)
def test_check_unet_output_size_mistakes(capsys, answer, expected_line):
    assert exercises.check_unet_output_size(answer).correct is False
    assert expected_line in printed(capsys)


def test_check_unet_output_size_right(capsys):
    assert exercises.check_unet_output_size(68).correct is True
    assert printed(capsys).startswith("Correct!")
    assert exercises.check_unet_output_size(388, input_size=572).correct is True
    assert "572 pixels in, 388 out" in printed(capsys)


# --- check_dice -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, expected_line",
    [
        (None, "Replace None with your answer."),
        ([0.7, 0.3], "Give one number"),
        (4 / 7, "That is the IoU"),
        (3 / 11, "Dice loss"),
        (13 / 16, "pixel accuracy"),
        (0.8, "divided the overlap by one mask only"),
        (72.73, "as a percentage"),
        (3.0, "between 0 (no overlap) and 1"),
        (0.1, "Not yet"),
    ],
)
def test_check_dice_mistakes(capsys, answer, expected_line):
    assert exercises.check_dice(answer).correct is False
    assert expected_line in printed(capsys)


@pytest.mark.parametrize("answer", [8 / 11, 0.727, 0.7275, np.float32(0.72727)])
def test_check_dice_right_within_a_thousandth(capsys, answer):
    assert exercises.check_dice(answer).correct is True
    assert printed(capsys).startswith("Correct!")


def test_check_dice_agrees_with_the_metrics_module():
    from helpers import metrics

    assert metrics.dice_score(exercises.DICE_TRUTH, exercises.DICE_PREDICTION) == pytest.approx(8 / 11)


def test_verdict_is_true_only_for_a_right_answer_and_shows_nothing_in_a_notebook(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    right, wrong = exercises.check_dice(8 / 11), exercises.check_dice(0.5)
    assert bool(right) and not bool(wrong)
    formatted, _ = InteractiveShell.instance().display_formatter.format(right)
    assert formatted == {}


def test_hint_prints_the_hint_of_a_named_exercise(capsys, monkeypatch):
    from helpers.exercises import intro

    monkeypatch.setattr(intro, "HINTS", {"convolution": "Lay the kernel on the top-left 3x3 patch."}, raising=False)
    exercises.hint("convolution")
    assert capsys.readouterr().out == "Hint: Lay the kernel on the top-left 3x3 patch.\n"
    exercises.hint("nothing")
    out = capsys.readouterr().out
    assert "'nothing'" in out and "convolution" in out, "an unknown name gets the list of known hints"


# --- every hand-computed check: a known-wrong answer is refused, a right one (also rounded) accepted -----

HAND_CHECKS = [
    # check, known-wrong answer, right answer, the right answer as a learner rounds or writes it
    (exercises.check_dice, 4 / 7, 8 / 11, 0.73),
    (exercises.check_unet_output_size, 60, 68, 68.0),
    (exercises.check_tile_count, 16, 20, 20.0),
    (exercises.check_feature_map_memory, 2**30, 1024, 1024.0),
    (exercises.check_kept_centre, 208, 160, 160.0),
    (exercises.check_class_weight, 12, 4, 4.0),
    (exercises.check_class_iou, 0.75, 0.6, 0.60),
    (exercises.check_convolution, [[3, -4], [5, -2]], [[-3, 4], [-5, 2]], [[-3.0, 4.0], [-5.0, 2.0]]),
    (exercises.check_max_pooling, [[2.5, 2], [2.25, 1.5]], [[4, 5], [6, 3]], np.array([[4.0, 5.0], [6.0, 3.0]])),
    (exercises.check_one_hot, np.zeros((3, 2, 2)), np.eye(3)[[[0, 2], [1, 2]]], np.eye(3)[[[0, 2], [1, 2]]].tolist()),
]


@pytest.mark.parametrize("check, wrong, right, rounded", HAND_CHECKS, ids=lambda v: getattr(v, "__name__", ""))
def test_each_check_refuses_a_known_wrong_answer_and_accepts_a_right_one(capsys, check, wrong, right, rounded):
    assert not check(wrong)
    assert check(right) and check(rounded)
    assert capsys.readouterr().out.count("Correct!") == 2


@pytest.mark.parametrize(
    "check, answer, expected_line",
    [
        (exercises.check_dice, 0.72, "Not yet"),
        (exercises.check_feature_map_memory, 1, "That is in GiB"),
        (exercises.check_feature_map_memory, 1073.7, "in MB"),
        (exercises.check_class_iou, 0.75, "the Dice of class 1"),
    ],
)
def test_near_misses_are_refused_with_their_hint(capsys, check, answer, expected_line):
    assert not check(answer)
    assert expected_line in printed(capsys)


def small_unet_variant(skip=True, last_activation="sigmoid"):
    """The reference design of exercise 4, optionally without its skips or without its sigmoid."""
    from keras import layers

    def twice(x, count):
        return layers.Conv2D(count, 3, padding="same", activation="relu")(
            layers.Conv2D(count, 3, padding="same", activation="relu")(x)
        )

    image = keras.Input((64, 64, 1))
    level1 = twice(image, 8)
    level2 = twice(layers.MaxPooling2D(2)(level1), 16)
    x = twice(layers.MaxPooling2D(2)(level2), 32)
    for count, level in ((16, level2), (8, level1)):
        up = layers.Conv2DTranspose(count, 2, strides=2)(x)
        x = twice(layers.Concatenate()([up, level if skip else up]), count)
    return keras.Model(image, layers.Conv2D(1, 1, activation=last_activation)(x))


@pytest.mark.parametrize(
    "variant, expected_line",
    [
        ({"skip": False}, "joins no feature map from the way down"),
        ({"last_activation": None}, "activation='sigmoid'"),
        ({"last_activation": "relu"}, "activation='sigmoid'"),
    ],
)
def test_small_unet_with_the_right_parameter_count_but_no_skip_or_no_sigmoid_is_refused(capsys, variant, expected_line):
    model = small_unet_variant(**variant)
    assert model.count_params() == exercises.reference_small_unet().count_params()  # the count alone cannot tell
    assert not exercises.check_small_unet(model)
    assert expected_line in printed(capsys)


def test_small_unet_written_with_a_loop_is_accepted(capsys):
    assert exercises.check_small_unet(small_unet_variant())
    assert printed(capsys).startswith("Correct!")


def test_learning_rate_prediction_compares_equal_epochs(capsys):
    default = {"val_dice": [0.3, 0.5, 0.6, 0.7, 0.8]}
    slow = {"val_dice": [0.1, 0.2, 0.25]}  # 3 epochs: compared with the default's third, 0.6
    assert exercises.check_learning_rate_prediction("lower", 1e-4, slow, 3e-3, default)
    assert "0.600 before, 0.250 after" in printed(capsys)
    assert not exercises.check_learning_rate_prediction("higher", 1e-4, slow, 3e-3, default)
    assert not exercises.check_learning_rate_prediction("lower", 3e-3, slow, 3e-3, default)
    assert "Change my_learning_rate" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize("prediction, held", [("higher", True), ("lower", False)])
def test_accuracy_prediction_reads_the_two_accuracies(capsys, prediction, held):
    # 9 pixels of class 0 all right, 1 pixel of class 1 wrong: plain 0.9; with class 1 weighted 9, 0.5
    truth, predicted = np.array([0] * 9 + [1]), np.array([0] * 10)
    assert bool(exercises.check_accuracy_prediction(prediction, truth, predicted, [1.0, 9.0])) is held
    assert "0.500 before, 0.900 after" in printed(capsys)


def test_weights_prediction_judges_the_rarest_class(capsys):
    shares, names = [0.7, 0.29, 0.01], ["inside", "membrane", "synapse"]
    assert exercises.check_weights_prediction("lower", False, [0.9, 0.8, 0.4], [0.9, 0.8, 0.1], shares, names)
    assert "synapse Dice: 0.400 before, 0.100 after" in printed(capsys)
    assert not exercises.check_weights_prediction("higher", False, [0.9, 0.8, 0.4], [0.9, 0.8, 0.1], shares, names)
    assert not exercises.check_weights_prediction("lower", True, [0.9, 0.8, 0.4], [0.9, 0.8, 0.1], shares, names)
    assert "USE_WEIGHTS = False" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize("compiled_rate, held", [(3e-3, False), (1e-4, True)])
def test_learning_rate_check_reads_the_rate_the_fit_trained_with(capsys, compiled_rate, held):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(compiled_rate), loss="mse")
    history = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0)
    history.history["val_dice"] = [0.2]  # as if it had validated
    verdict = exercises.check_learning_rate_prediction("lower", 1e-4, history, 3e-3, {"val_dice": [0.5]})
    assert bool(verdict) is held
    assert ("not at my_learning_rate = 0.0001" in printed(capsys)) is not held
