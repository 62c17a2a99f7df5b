"""Dice, IoU and friends: hand-computed values, and agreement with Keras."""

import keras
import numpy as np
import pytest

from helpers import keras_metrics, metrics


def random_masks(seed, shape=(3, 8, 8, 1), foreground=0.4):
    rng = np.random.default_rng(seed)
    truth = (rng.random(shape) < foreground).astype(np.float32)
    probabilities = rng.random(shape).astype(np.float32)
    return truth, probabilities


# --- hand-computed examples -------------------------------------------------------------


def test_dice_and_iou_of_a_small_example():
    # overlap 1 pixel; truth 2 pixels, prediction 2 pixels; union 3 pixels
    truth = [[1, 1, 0, 0]]
    prediction = [[1, 0, 1, 0]]
    assert metrics.dice_score(truth, prediction) == pytest.approx(2 * 1 / (2 + 2))
    assert metrics.iou_score(truth, prediction) == pytest.approx(1 / 3)
    assert metrics.pixel_accuracy(truth, prediction) == pytest.approx(2 / 4)
    assert metrics.precision_recall(truth, prediction) == pytest.approx((1 / 2, 1 / 2))


def test_precision_and_recall_differ_when_the_errors_are_one_sided():
    truth = [1, 1, 1, 1, 0, 0]
    prediction = [1, 0, 0, 0, 0, 0]  # finds 1 of 4, no false alarm
    assert metrics.precision_recall(truth, prediction) == pytest.approx((1.0, 0.25))
    assert metrics.dice_score(truth, prediction) == pytest.approx(2 / 5)


def test_identical_and_disjoint_masks():
    mask = np.array([[0, 1], [1, 1]])
    assert metrics.dice_score(mask, mask) == 1.0
    assert metrics.iou_score(mask, mask) == 1.0
    assert metrics.dice_score(mask, 1 - mask) == 0.0
    assert metrics.iou_score(mask, 1 - mask) == 0.0
    assert metrics.pixel_accuracy(mask, 1 - mask) == 0.0


def test_bool_and_integer_masks_give_the_same_scores():
    truth, probabilities = random_masks(0)
    prediction = probabilities >= 0.5
    assert metrics.dice_score(truth.astype(bool), prediction) == metrics.dice_score(truth, prediction.astype(np.uint8))


def test_any_number_of_dimensions():
    truth = np.zeros((2, 3, 4, 5, 1))
    truth[0, 1, 2, 3, 0] = 1
    assert metrics.dice_score(truth, truth) == 1.0
    assert metrics.iou_score(truth[0, 0, 0], truth[0, 0, 0]) == 1.0  # 2-D, both empty


# --- empty masks ------------------------------------------------------------------------


def test_both_empty_counts_as_perfect():
    empty = np.zeros((4, 4))
    assert metrics.dice_score(empty, empty) == 1.0
    assert metrics.iou_score(empty, empty) == 1.0
    assert metrics.precision_recall(empty, empty) == (1.0, 1.0)


def test_one_empty_mask_scores_zero_without_nan():
    empty = np.zeros((4, 4))
    full = np.ones((4, 4))
    assert metrics.dice_score(full, empty) == 0.0
    assert metrics.iou_score(empty, full) == 0.0
    assert metrics.precision_recall(full, empty) == (0.0, 0.0)  # nothing predicted
    assert metrics.precision_recall(empty, full) == (0.0, 0.0)  # nothing to find


# --- relations between the scores -------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_dice_equals_two_iou_over_one_plus_iou(seed):
    truth, probabilities = random_masks(seed)
    prediction = probabilities >= 0.5
    iou = metrics.iou_score(truth, prediction)
    assert metrics.dice_score(truth, prediction) == pytest.approx(2 * iou / (1 + iou))


@pytest.mark.parametrize("seed", range(5))
def test_dice_is_the_harmonic_mean_of_precision_and_recall(seed):
    truth, probabilities = random_masks(seed, foreground=0.05 * seed)
    prediction = probabilities >= 0.9
    precision, recall = metrics.precision_recall(truth, prediction)
    harmonic = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    assert metrics.dice_score(truth, prediction) == pytest.approx(harmonic)


# --- agreement with Keras and scikit-image ----------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_iou_equals_keras_binary_iou_and_mean_iou(seed):
    truth, probabilities = random_masks(seed)
    prediction = probabilities >= 0.5

    binary_iou = keras.metrics.BinaryIoU(target_class_ids=[1], threshold=0.5)
    binary_iou.update_state(truth, probabilities)
    assert metrics.iou_score(truth, prediction) == pytest.approx(float(binary_iou.result()), abs=1e-6)

    # MeanIoU over the single class 1 is the same number; over both classes it averages
    # the IoU of the foreground and of the background.
    mean_iou = keras.metrics.MeanIoU(num_classes=2)
    mean_iou.update_state(truth, prediction.astype(np.float32))
    both = (metrics.iou_score(truth, prediction) + metrics.iou_score(1 - truth, ~prediction)) / 2
    assert both == pytest.approx(float(mean_iou.result()), abs=1e-6)


def test_accuracy_equals_keras_binary_accuracy():
    truth, probabilities = random_masks(7)
    accuracy = keras.metrics.BinaryAccuracy(threshold=0.5)
    accuracy.update_state(truth, probabilities)
    # BinaryAccuracy counts probability > 0.5; no value here is exactly 0.5
    assert metrics.pixel_accuracy(truth, probabilities >= 0.5) == pytest.approx(float(accuracy.result()), abs=1e-6)


def test_precision_recall_equal_keras():
    truth, probabilities = random_masks(8)
    precision, recall = keras.metrics.Precision(), keras.metrics.Recall()
    precision.update_state(truth, probabilities)
    recall.update_state(truth, probabilities)
    assert metrics.precision_recall(truth, probabilities >= 0.5) == pytest.approx(
        (float(precision.result()), float(recall.result())), abs=1e-6
    )


# --- evaluate_segmentation and choose_threshold -----------------------------------------


def test_evaluate_segmentation_by_hand():
    truth = np.array([[[1, 1, 0, 0]], [[0, 0, 0, 1]]])
    probabilities = np.array([[[0.9, 0.2, 0.6, 0.1]], [[0.0, 0.0, 0.5, 0.7]]])
    # at 0.5: prediction [[1,0,1,0]], [[0,0,1,1]]; pooled TP=2, FP=2, FN=1, TN=3
    scores = metrics.evaluate_segmentation(truth, probabilities)
    assert scores == pytest.approx(
        {"accuracy": 5 / 8, "dice": 4 / 7, "iou": 2 / 5, "precision": 2 / 4, "recall": 2 / 3}
    )
    assert metrics.evaluate_segmentation(truth, probabilities, threshold=0.65)["dice"] == pytest.approx(2 * 2 / (3 + 2))


def test_choose_threshold_by_hand():
    truth = [0, 0, 1, 1]
    probabilities = [0.1, 0.35, 0.4, 0.8]
    best, scores = metrics.choose_threshold(truth, probabilities, thresholds=[0.3, 0.375, 0.6])
    # 0.3 -> predicts 3 pixels: Dice 4/5; 0.375 -> exactly right: 1; 0.6 -> 1 of 2: 2/3
    assert best == 0.375
    np.testing.assert_allclose(scores, [4 / 5, 1.0, 2 / 3])


def test_choose_threshold_says_when_the_best_is_at_the_edge_of_the_grid(capsys):
    truth = np.array([1, 1, 0, 0])
    assert metrics.choose_threshold(truth, [0.99, 0.995, 0.98, 0.97])[0] == 0.99  # only the top separates
    assert "at the edge of the thresholds tried (0.01 to 0.99)" in capsys.readouterr().out
    assert metrics.choose_threshold(truth, [0.9, 0.8, 0.2, 0.1])[0] == 0.21
    assert capsys.readouterr().out == ""


def test_choose_threshold_default_grid_and_scores():
    truth, probabilities = random_masks(3)
    best, scores = metrics.choose_threshold(truth, probabilities, score="iou")
    assert scores.shape == (99,)
    assert 0.01 <= best <= 0.99
    assert scores.max() == pytest.approx(metrics.iou_score(truth, probabilities >= best))
    with pytest.raises(ValueError, match="score must be one of"):
        metrics.choose_threshold(truth, probabilities, score="f1")


# --- Keras metrics for model.compile ----------------------------------------------------


def test_keras_dice_accumulates_like_dice_score_over_batches():
    metric = metrics.keras_dice()
    assert metric.name == "dice"
    batches = [random_masks(seed, foreground=0.1 + 0.1 * seed) for seed in range(4)]
    for truth, probabilities in batches:
        metric.update_state(truth, probabilities)
    all_truth = np.concatenate([truth for truth, _ in batches])
    all_probabilities = np.concatenate([p for _, p in batches])
    expected = metrics.dice_score(all_truth, all_probabilities >= 0.5)
    assert float(metric.result()) == pytest.approx(expected, abs=1e-6)

    metric.reset_state()
    empty = np.zeros((2, 4, 4, 1), np.float32)
    metric.update_state(empty, empty)
    assert float(metric.result()) == 1.0  # same convention as dice_score


def test_keras_dice_accepts_masks_without_channel_axis_and_sample_weights():
    truth, probabilities = random_masks(5)
    metric = metrics.keras_dice()
    metric.update_state(truth[..., 0], probabilities)
    assert float(metric.result()) == pytest.approx(metrics.dice_score(truth, probabilities >= 0.5), abs=1e-6)

    # weight 0 for the first image means: score only the other two images
    metric.reset_state()
    metric.update_state(truth, probabilities, sample_weight=np.array([0.0, 1.0, 1.0]))
    expected = metrics.dice_score(truth[1:], probabilities[1:] >= 0.5)
    assert float(metric.result()) == pytest.approx(expected, abs=1e-6)


def test_keras_metrics_work_in_model_compile_and_evaluate():
    truth, probabilities = random_masks(6, shape=(4, 8, 8, 1))
    # a "model" that returns its input: its predictions are the probabilities themselves
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Identity()(inputs))
    model.compile(loss="binary_crossentropy", metrics=[metrics.keras_dice()])
    results = model.evaluate(probabilities, truth, batch_size=2, verbose=0, return_dict=True)
    prediction = probabilities >= 0.5
    assert results["dice"] == pytest.approx(metrics.dice_score(truth, prediction), abs=1e-6)


def test_dice_metric_config_round_trip():
    metric = keras_metrics.DiceMetric(threshold=0.3, name="dice_at_0.3")
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert isinstance(rebuilt, keras_metrics.DiceMetric)
    assert (rebuilt.threshold, rebuilt.name) == (0.3, "dice_at_0.3")


# --- errors -----------------------------------------------------------------------------


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 2\).*\(2, 3\)"):
        metrics.dice_score(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="np.squeeze"):
        metrics.iou_score(np.zeros((2, 2)), np.zeros((2, 2, 1)))


@pytest.mark.parametrize(
    "function", [metrics.dice_score, metrics.iou_score, metrics.pixel_accuracy, metrics.precision_recall]
)
def test_probabilities_are_not_masks(function):
    with pytest.raises(ValueError, match="binary mask.*0.7.*>= 0.5"):
        function([[0, 1]], [[0.7, 1]])


def test_empty_arrays_are_refused():
    with pytest.raises(ValueError, match="empty"):
        metrics.dice_score(np.zeros((0, 4)), np.zeros((0, 4)))


def test_evaluate_refuses_logits_and_bad_thresholds():
    with pytest.raises(ValueError, match="between 0 and 1.*sigmoid"):
        metrics.evaluate_segmentation([[0, 1]], [[-2.0, 3.0]])
    with pytest.raises(ValueError, match="threshold"):
        metrics.evaluate_segmentation([[0, 1]], [[0.2, 0.8]], threshold=50)
    with pytest.raises(ValueError, match="same shape"):
        metrics.evaluate_segmentation([[0, 1]], [[0.2, 0.8, 0.1]])


def test_scores_are_plain_python_floats():
    # np.float64(0.5) prints as "np.float64(0.5)" in a notebook; a float prints as 0.5
    scores = metrics.evaluate_segmentation([[1, 0]], [[0.9, 0.6]])
    assert all(type(value) is float for value in scores.values())
    assert type(metrics.choose_threshold([[1, 0]], [[0.9, 0.6]])[0]) is float
