"""The expected answers of the exercises of notebooks 04-07 are the ones the course's helpers compute.

Each check is given the answer the real helper (or Keras) computes, and must accept it; a typical
mistake, computed the same way, must be refused. So an exercise cannot drift from what the
notebook's tools do.
"""

import keras
import numpy as np
import pytest

from helpers import exercises, instances, label_maps, losses, metrics, models


@pytest.fixture(autouse=True)
def quiet(capsys):
    yield


# --- notebook 04: losses ------------------------------------------------------------------


def test_soft_dice_exercise_is_the_soft_dice_loss_of_the_course():
    value = float(losses.soft_dice_loss(exercises.SOFT_DICE_TRUTH, exercises.SOFT_DICE_PROBABILITY))
    assert value == pytest.approx(
        float(keras.losses.Dice()(exercises.SOFT_DICE_TRUTH, exercises.SOFT_DICE_PROBABILITY))
    )
    assert exercises.check_soft_dice_loss(value)
    assert not exercises.check_soft_dice_loss(1 - value)  # the score, not the loss


def test_balancing_weight_makes_both_classes_weigh_the_same_in_positive_weights():
    share = exercises.FOREGROUND_SHARE
    mask = np.zeros(1000)
    mask[: int(round(share * 1000))] = 1
    answer = (1 - share) / share
    weights = np.asarray(losses.positive_weights(mask, answer))
    assert weights[mask == 1].sum() == pytest.approx(weights[mask == 0].sum())
    assert exercises.check_balancing_weight(answer)
    assert not exercises.check_balancing_weight(1 / answer)


def test_jaccard_exercise_accepts_the_course_soft_jaccard_loss():
    assert exercises.check_jaccard_function(losses.soft_jaccard_loss)
    assert not exercises.check_jaccard_function(lambda y_true, y_pred: 1 - losses.soft_jaccard_loss(y_true, y_pred))


# --- notebook 05: multi-class ----------------------------------------------------------------


def test_one_hot_exercise_is_to_one_hot():
    assert exercises.check_one_hot(label_maps.to_one_hot(exercises.ONE_HOT_LABELS, 3))
    assert not exercises.check_one_hot(np.moveaxis(label_maps.to_one_hot(exercises.ONE_HOT_LABELS, 3), -1, 0))


def test_class_weight_exercise_is_class_weights():
    weights = label_maps.class_weights(exercises.WEIGHT_LABELS, 3)
    assert exercises.check_class_weight(weights[2])
    assert not exercises.check_class_weight(weights[2] * 3)  # forgot to divide by K


def test_class_iou_exercise_is_per_class_scores_of_a_matching_prediction():
    confusion = exercises.CONFUSION
    truth = np.concatenate([np.full(confusion[t].sum(), t) for t in range(3)])
    prediction = np.concatenate([np.repeat(np.arange(3), confusion[t]) for t in range(3)])
    np.testing.assert_array_equal(metrics.confusion_matrix(truth, prediction, 3), confusion)
    assert exercises.check_class_iou(metrics.per_class_scores(truth, prediction, 3)["iou"][1])
    assert not exercises.check_class_iou(metrics.per_class_scores(truth, prediction, 3)["dice"][1])


# --- notebook 06: 3-D ------------------------------------------------------------------------


def test_conv3d_exercise_is_keras_parameter_count():
    layer = keras.layers.Conv3D(exercises.CONV3D_FILTERS, 3)
    layer.build((None, 8, 8, 8, exercises.CONV3D_INPUT_CHANNELS))
    assert exercises.check_conv3d_parameters(layer.count_params())
    assert not exercises.check_conv3d_parameters(layer.count_params() - exercises.CONV3D_FILTERS)  # no biases


def test_feature_map_exercise_is_the_size_of_a_seed_002_feature_map():
    seed_002 = models.build_unet_3d((16, 160, 160, 4), filters=32, n_poolings=1, n_classes=3)
    shape = tuple(seed_002.get_layer("down0_1_conv").output.shape[1:])
    assert shape == exercises.FEATURE_MAP_SHAPE
    assert exercises.check_feature_map_megabytes(np.prod(shape) * 4 / 1e6)
    assert not exercises.check_feature_map_megabytes(np.prod(shape) / 1e6)  # forgot 4 bytes per value


def test_z_poolings_exercise_is_what_build_unet_3d_accepts():
    sections = exercises.STACK_SECTIONS
    accepted = [n for n in range(1, 6) if _builds(sections, n)]
    assert exercises.check_z_poolings(max(accepted))
    assert not exercises.check_z_poolings(max(accepted) + 1)


def _builds(sections, n_poolings):
    try:
        models.build_unet_3d((sections, 2**n_poolings, 2**n_poolings, 1), filters=1, n_poolings=n_poolings, n_classes=1)
    except ValueError:
        return False
    return True


# --- notebook 07: objects --------------------------------------------------------------------


def test_object_count_exercise_is_label_objects():
    sides = int(instances.label_objects(exercises.COUNTING_MASK, connectivity=1).max())
    corners = int(instances.label_objects(exercises.COUNTING_MASK, connectivity=2).max())
    assert exercises.check_object_count(sides)
    assert not exercises.check_object_count(corners)


def test_largest_distance_exercise_is_distance_to_background():
    assert exercises.check_largest_distance(instances.distance_to_background(exercises.DISTANCE_MASK).max())
    assert not exercises.check_largest_distance(4)  # along the long side


def test_precision_exercise_is_match_objects_precision_and_rejects_recall_and_f1():
    truth = np.zeros((4, 20), int)
    truth[:2, 0:2], truth[:2, 4:6], truth[:2, 8:10] = 1, 2, 3
    prediction = truth.copy()
    prediction[:2, 8:10] = 0  # one nucleus missed
    prediction[2:4, 14:16] = 9  # one extra object
    counts = instances.match_many([truth], [prediction])
    assert exercises.check_precision_function(lambda c: c["matched"] / c["predicted_objects"])
    assert counts["precision"] == 2 / 3
    assert not exercises.check_precision_function(lambda c: c["matched"] / c["true_objects"])
    assert not exercises.check_precision_function(
        lambda c: 2 * c["matched"] / (c["true_objects"] + c["predicted_objects"])
    )
    assert not exercises.check_precision_function(lambda c: c["matched"] / (c["matched"] + c["missed"] + c["extra"]))
    assert not exercises.check_precision_function(None)


def test_object_f1_exercise_is_match_objects_f1():
    counts = exercises.OBJECT_COUNTS
    truth, prediction = np.zeros((8, 80), int), np.zeros((8, 80), int)
    for index in range(counts["true_objects"]):  # 20 separate 2x2 squares
        truth[0:2, 4 * index : 4 * index + 2] = index + 1
    for index in range(counts["matched"]):  # 14 of them found exactly
        prediction[0:2, 4 * index : 4 * index + 2] = index + 1
    for extra in range(counts["predicted_objects"] - counts["matched"]):  # and 2 invented elsewhere
        prediction[5:7, 4 * extra : 4 * extra + 2] = 100 + extra
    result = instances.match_objects(truth, prediction)
    assert (result["true_objects"], result["predicted_objects"], result["matched"]) == (20, 16, 14)
    assert exercises.check_object_f1(result["f1"])
    assert not exercises.check_object_f1(result["precision"])
