"""The teaching material of notebooks 05-07: predict-then-run checks, hints, the AP exercise.

Each check is fed results made by the helper that does the real thing (Keras' weighted
accuracy, the course's 3-D U-Net, the watershed, the object matching), and its verdict is
compared with the direction worked out by hand.
"""

import json

import keras
import numpy as np
import pytest
import skimage.draw

from helpers import exercises, instances, models
from helpers.course import course_root
from helpers.exercises import predictions
from helpers.exercises.multiclass import _accuracy


@pytest.mark.parametrize(
    "word, direction",
    [("higher", "higher"), ("More", "higher"), (" fewer ", "lower"), ("the same", "the same"), ("maybe", None)],
)
def test_predictions_are_read_in_words(word, direction):
    assert predictions.read_direction(word) == direction


def test_judge_direction_uses_the_tolerance(capsys):
    assert predictions.observed_direction(0.5, 0.501, 0.002) == "the same"
    assert predictions.observed_direction(0.5, 0.51, 0.002) == "higher"
    assert not predictions.judge_direction(None, 1, 2, "x", 0, "")
    assert "Write your prediction" in capsys.readouterr().out
    assert not predictions.judge_direction("sideways", 1, 2, "x", 0, "")
    assert predictions.judge_direction("lower", 2, 1, "x", 0, "why")
    assert "held" in capsys.readouterr().out


def test_weighted_accuracy_is_the_one_keras_logs():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, (2, 8, 8))
    predicted = np.where(rng.random((2, 8, 8)) < 0.7, truth, rng.integers(0, 3, (2, 8, 8)))
    weights = np.array([0.5, 1.5, 3.0])
    metric = keras.metrics.SparseCategoricalAccuracy()
    metric.update_state(truth.reshape(-1), np.eye(3)[predicted.reshape(-1)], sample_weight=weights[truth.reshape(-1)])
    assert _accuracy(truth, predicted, weights[truth.reshape(-1)]) == pytest.approx(float(metric.result()), abs=1e-6)
    assert _accuracy(truth, predicted) == pytest.approx(np.mean(truth == predicted))


def test_accuracy_prediction_by_hand(capsys):
    truth = np.array([[0, 0, 0, 1]])
    predicted = np.array([[0, 0, 0, 0]])  # plain 3/4; weighted (3 x 0.5) / (3 x 0.5 + 2) = 0.429
    assert exercises.check_accuracy_prediction("higher", truth, predicted, [0.5, 2.0])
    assert "0.429 before, 0.750 after" in capsys.readouterr().out
    assert not exercises.check_accuracy_prediction("lower", truth, predicted, [0.5, 2.0])
    assert not exercises.check_accuracy_prediction(None, truth, predicted, [0.5, 2.0])


def test_weights_prediction_judges_the_rarest_class(capsys):
    shares, names = [0.7, 0.01, 0.29], ["inside", "synapse", "membrane"]
    assert not exercises.check_weights_prediction("lower", True, [0.9, 0.3, 0.7], [0.9, 0.1, 0.7], shares, names)
    assert "USE_WEIGHTS = False" in capsys.readouterr().out
    assert exercises.check_weights_prediction("lower", False, [0.9, 0.3, 0.7], [0.95, 0.1, 0.7], shares, names)
    assert "synapse Dice: 0.300 before, 0.100 after" in capsys.readouterr().out
    assert exercises.check_weights_prediction("higher", False, [0.9, 0.3, 0.7], [0.5, 0.4, 0.7], shares, names)
    assert exercises.check_weights_prediction("the same", False, [0.9, 0.3, 0.7], [0.5, 0.302, 0.7], shares, names)


def test_pooling_prediction_on_real_3d_unets(capsys):
    box = (4, 16, 16, 1)
    flat = models.build_unet_3d(input_shape=box, filters=2, n_poolings=2, n_classes=1, pool_size=(1, 2, 2))
    cube = models.build_unet_3d(input_shape=box, filters=2, n_poolings=2, n_classes=1, pool_size=(2, 2, 2))
    assert flat.count_params() == cube.count_params()  # pooling has no weights
    assert exercises.check_pooling_prediction("the same", flat, cube)
    assert "sections of a box go 2 -> 1" in capsys.readouterr().out
    assert not exercises.check_pooling_prediction("more", flat, cube)


def test_overlap_prediction(capsys):
    assert not exercises.check_overlap_prediction("higher", 0.25, 0.6, 0.61)
    assert "change it" in capsys.readouterr().out
    assert exercises.check_overlap_prediction("lower", 0.0, 0.654, 0.640)
    assert exercises.check_overlap_prediction("the same", 0.0, 0.654, 0.655)


def _nuclei_with_specks():
    truth = np.zeros((30, 30), np.int32)
    truth[2:8, 2:8], truth[15:21, 15:21] = 1, 2
    mask = truth > 0
    for row, col in ((25, 2), (2, 25), (25, 25)):
        mask[row : row + 2, col : col + 2] = True  # 3 specks of 4 pixels
    return truth, mask


def test_min_area_prediction_on_the_real_watershed(capsys):
    truth, mask = _nuclei_with_specks()
    every = instances.match_many([truth], [instances.separate_touching(mask, 3, min_area=0)])
    large = instances.match_many([truth], [instances.separate_touching(mask, 3, min_area=10)])
    assert (every["precision"], large["precision"]) == (pytest.approx(2 / 5), 1.0)  # by hand
    assert exercises.check_min_area_prediction("higher", 10, large, every, 0)
    assert "extra 3 -> 0" in capsys.readouterr().out
    assert not exercises.check_min_area_prediction("lower", 10, large, every, 0)
    assert not exercises.check_min_area_prediction("higher", 0, every, every, 0)


def test_min_distance_prediction_on_two_touching_discs(capsys):
    truth = np.zeros((40, 60), np.int32)
    for number, column in ((1, 22), (2, 38)):
        rows, columns = skimage.draw.disk((20, column), 10)
        truth[rows, columns] = np.where(truth[rows, columns] == 0, number, truth[rows, columns])
    near = instances.match_many([truth], [instances.separate_touching(truth > 0, 5)])
    far = instances.match_many([truth], [instances.separate_touching(truth > 0, 30)])
    assert (near["predicted_objects"], far["predicted_objects"]) == (2, 1)  # centres are 16 apart
    assert exercises.check_min_distance_prediction("fewer", 30, far, near, 5)
    assert "objects found: 2 before, 1 after" in capsys.readouterr().out
    assert not exercises.check_min_distance_prediction("more", 30, far, near, 5)


def test_average_precision_exercise_by_hand(capsys):
    assert exercises.check_average_precision(2 / 15)  # 1/3 at 4 of the 10 thresholds
    assert "Correct" in capsys.readouterr().out
    assert not exercises.check_average_precision(1 / 3)
    assert "IoU 0.5 only" in capsys.readouterr().out
    assert not exercises.check_average_precision(None)
    iou, _, _ = instances.iou_matrix(exercises.AP_TRUE, exercises.AP_PREDICTED)
    assert iou.max() == pytest.approx(16 / 24)


NOTEBOOKS = ("05_multiclass", "06_unet_3d", "07_instances")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_hint_a_notebook_asks_for_exists(name, capsys):
    cells = json.loads((course_root() / "notebooks" / f"{name}.ipynb").read_text())["cells"]
    text = "".join("".join(cell["source"]) for cell in cells)
    asked = set(__import__("re").findall(r'exercises\.hint\("([a-z0-9_]+)"\)', text))
    assert len(asked) >= 4, f"{name} offers only {sorted(asked)} as hints"
    for hint in sorted(asked):
        exercises.hint(hint)
        assert capsys.readouterr().out.startswith("Hint: "), hint
