"""Notebooks 02 and 04: the claims their text makes, and their "predict, then run" checks.

Each claim is checked against the library that does the real thing (Keras, keras-unet's
formula, scikit-free hand arithmetic) and each check's verdict against the helper it judges.
"""

import math

import keras
import numpy as np
import pytest

from helpers import augmentation, comparison, keras_unet, losses
from helpers.exercises import augmentation as augmentation_exercises
from helpers.exercises import losses as loss_exercises
from helpers.synthetic import membrane_section

SQUARE = np.arange(16, dtype=np.float32).reshape(4, 4, 1)


def orientation(flipped):
    """Name the flip of SQUARE that ``flipped`` is, or None."""
    candidates = {
        "identity": SQUARE,
        "left-right": SQUARE[:, ::-1],
        "top-bottom": SQUARE[::-1],
        "half turn": SQUARE[::-1, ::-1],
    }
    return next((name for name, array in candidates.items() if np.array_equal(flipped, array)), None)


def separate_flip_shares(image_seed, mask_seed, draws=8):
    """What notebook 02's pitfall cell measures: wrong mask pixels after two separate RandomFlip layers."""
    image = np.asarray(membrane_section(0, size=32)[0], np.float32)[..., None] / 255
    rule_mask = (image > 0.5).astype(np.float32)
    flip_image = keras.layers.RandomFlip("horizontal_and_vertical", seed=image_seed)
    flip_mask = keras.layers.RandomFlip("horizontal_and_vertical", seed=mask_seed)
    return [
        float(np.mean(np.asarray(flip_mask(rule_mask)) != (np.asarray(flip_image(image)) > 0.5))) for _ in range(draws)
    ]


# --- notebook 02: statements about Keras' RandomFlip --------------------------------------------


def test_keras_horizontal_and_vertical_flip_draws_one_coin_for_both_axes():
    layer = keras.layers.RandomFlip("horizontal_and_vertical", seed=3)
    seen = {orientation(np.asarray(layer(SQUARE))) for _ in range(40)}
    assert seen == {"identity", "half turn"}  # 2 of the 8 orientations, never one axis alone


def test_two_flip_layers_with_seeds_1_and_2_fall_out_of_step_and_equal_seeds_stay_in_step():
    assert any(share > 0 for share in separate_flip_shares(1, 2))
    assert all(share == 0 for share in separate_flip_shares(1, 1))


def test_flip_seed_check_reads_the_learners_own_measurement(capsys):
    same = separate_flip_shares(1, 1)
    assert augmentation_exercises.check_flip_seed_prediction("in step", 1, 1, same)
    assert not augmentation_exercises.check_flip_seed_prediction("out of step", 1, 1, same)
    assert "did not hold" in capsys.readouterr().out
    assert not augmentation_exercises.check_flip_seed_prediction("in step", 1, 1, [0.0, 0.5])
    assert "1 of 2 draws" in capsys.readouterr().out
    assert not augmentation_exercises.check_flip_seed_prediction(None, 1, 1, same)
    assert "Write your prediction first" in capsys.readouterr().out


def test_flip_seed_check_refuses_the_unchanged_seed(capsys):
    different = separate_flip_shares(1, 2)
    for prediction in ("out of step", "in step"):
        assert not augmentation_exercises.check_flip_seed_prediction(prediction, 1, 2, different)
        assert "MASK_FLIP_SEED is 2: set it to 1" in capsys.readouterr().out


# --- notebook 02: the elastic-strength exercise --------------------------------------------------


def changed_share(alpha):
    stripes = augmentation_exercises.STRIPES
    return float(np.mean(augmentation.elastic_deform(stripes, stripes, seed=0, alpha=alpha)[1] != stripes))


def test_stripes_are_16_pixels_wide_and_a_larger_alpha_changes_more_of_them():
    stripes = augmentation_exercises.STRIPES
    assert stripes.shape == (128, 128) and stripes[0, :17].tolist() == [0.0] * 16 + [1.0]
    assert changed_share(5) < changed_share(augmentation.ELASTIC_DEFAULTS["alpha"]) < changed_share(30)


def test_elastic_check_judges_against_elastic_deform_and_refuses_the_unchanged_alpha(capsys):
    stripes = augmentation_exercises.STRIPES
    bent_30 = augmentation.elastic_deform(stripes, stripes, seed=0, alpha=30)[1]
    assert augmentation_exercises.check_elastic_prediction("more", 30, bent_30)
    assert f"{changed_share(30):.1%}" in capsys.readouterr().out
    bent_5 = augmentation.elastic_deform(stripes, stripes, seed=0, alpha=5)[1]
    assert augmentation_exercises.check_elastic_prediction("fewer", 5, bent_5)
    assert not augmentation_exercises.check_elastic_prediction("more", 5, bent_5)
    assert not augmentation_exercises.check_elastic_prediction("more", 30, bent_5)  # not the learner's alpha
    assert "run the cell" in capsys.readouterr().out
    default = augmentation.ELASTIC_DEFAULTS["alpha"]
    bent_default = augmentation.elastic_deform(stripes, stripes, seed=0, alpha=default)[1]
    for prediction in ("more", "fewer", "the same"):
        assert not augmentation_exercises.check_elastic_prediction(prediction, default, bent_default)
        assert "change it" in capsys.readouterr().out


def test_elastic_training_check_compares_the_same_seed_and_refuses_an_unchanged_alpha(capsys):
    course_run, better, other_seed = {"seed": 0, "dice": 0.70}, {"seed": 0, "dice": 0.72}, {"seed": 1, "dice": 0.72}
    assert augmentation_exercises.check_elastic_training("higher", 30, better, course_run)
    out = capsys.readouterr().out
    assert "0.700 before, 0.720 after" in out and "fold over" in out
    assert not augmentation_exercises.check_elastic_training("lower", 30, better, course_run)
    assert not augmentation_exercises.check_elastic_training("higher", 30, other_seed, course_run)
    assert "same seed" in capsys.readouterr().out
    assert not augmentation_exercises.check_elastic_training("higher", None, None, course_run)
    assert "Set my_alpha" in capsys.readouterr().out
    default = augmentation.ELASTIC_DEFAULTS["alpha"]
    assert not augmentation_exercises.check_elastic_training("the same", default, course_run, course_run)
    assert "Change it" in capsys.readouterr().out


def test_hints_exist_for_every_exercise_of_02_and_04(capsys):
    assert set(augmentation_exercises.HINTS) == {
        "joint_flip",
        "moves_the_mask",
        "orientation_count",
        "flip_seed_prediction",
        "elastic_prediction",
        "elastic_training",
    }
    assert {"mistake_prediction", "threshold_prediction", "soft_dice_loss", "own_loss_training"} <= set(
        loss_exercises.HINTS
    )
    from helpers import exercises

    exercises.hint("mistake_prediction")
    assert capsys.readouterr().out.startswith("Hint:")


# --- elastic copies for the "full" arm of notebook 02 --------------------------------------------


def test_elastic_copies_follow_the_documented_seeds_and_keep_masks_binary():
    pairs = [membrane_section(seed, size=32) for seed in range(2)]
    images = np.stack([image for image, _ in pairs])[..., None].astype(np.float32) / 255
    masks = (np.stack([mask for _, mask in pairs])[..., None] > 0).astype(np.float32)
    copies, copy_masks = augmentation.elastic_copies(images, masks, copies=3, seed=2, alpha=5)
    assert copies.shape == (6, 32, 32, 1) and set(np.unique(copy_masks)) <= {0.0, 1.0}
    expected = augmentation.elastic_deform(images[1], masks[1], seed=2 * 100003 + 1009 + 2, alpha=5)
    np.testing.assert_array_equal(copies[5], expected[0])
    np.testing.assert_array_equal(copy_masks[5], expected[1])
    assert not np.array_equal(copies[0], copies[1])
    with pytest.raises(ValueError, match="copies"):
        augmentation.elastic_copies(images, masks, copies=0)
    with pytest.raises(ValueError, match="2 images but 1 masks"):
        augmentation.elastic_copies(images, masks[:1])


# --- notebook 04: numbers its text states --------------------------------------------------------


def test_bce_charges_the_all_background_answer_about_0_87_at_5_4_percent_foreground():
    truth = np.zeros((1, 100, 100, 1), np.float32)
    truth[0, :, :5] = 1
    truth[0, :40, 5] = 1
    assert truth.mean() == pytest.approx(0.054)
    # Keras clips probabilities to [1e-7, 1 - 1e-7]: each missed foreground pixel costs -log(1e-7)
    expected = 0.054 * -math.log(1e-7)
    assert expected == pytest.approx(0.870, abs=5e-4)
    bce = keras.losses.BinaryCrossentropy()
    assert float(bce(truth, np.zeros_like(truth))) == pytest.approx(expected, rel=1e-3)
    assert float(bce(truth, np.full_like(truth, 0.5))) == pytest.approx(math.log(2), rel=1e-4)  # cheaper


def test_keras_unet_charges_a_missed_pixel_100_times_1_minus_100_over_101():
    one_pixel = np.ones((1, 1, 1, 1), np.float32)
    cost = float(keras_unet.jaccard_distance(one_pixel, np.zeros_like(one_pixel)))
    assert cost == pytest.approx(100 * (1 - 100 / 101), rel=1e-5)
    assert cost == pytest.approx(0.990, abs=5e-4)


def test_mistake_costs_match_the_formulas_by_hand():
    costs = {name: loss_exercises.mistake_costs(name) for name in losses.LOSS_NAMES}
    # soft Dice: missed 1 - 2 x 1.0 / (2 + 1.002), false alarm 1 - 2 x 0.999 / (1 + 2.0)
    assert costs["dice"] == pytest.approx((1 - 2 / 3.002, 1 - 1.998 / 3), abs=1e-5)
    # Tversky, FP weight 0.3 and FN weight 0.7 (soft counts)
    assert costs["tversky"][0] == pytest.approx(1 - 1.0 / (1.0 + 0.3 * 0.002 + 0.7 * 1.0), abs=1e-5)
    assert costs["tversky"][1] == pytest.approx(1 - 0.999 / (0.999 + 0.3 * 1.001 + 0.7 * 0.001), abs=1e-5)
    sure, unsure = -math.log(0.999), -math.log(0.001)
    assert costs["bce"] == pytest.approx(((3 * sure + unsure) / 4,) * 2, rel=1e-4)
    assert costs["weighted bce"][0] == pytest.approx((sure * 3 + unsure * 3 + 2 * sure) / 4, rel=1e-3)


def test_mistake_check_says_which_losses_weigh_a_miss_more(capsys):
    verdicts = {name: loss_exercises.check_mistake_prediction(name, "same") for name in losses.LOSS_NAMES}
    assert {name for name, verdict in verdicts.items() if not verdict} == {"weighted bce", "tversky"}
    assert loss_exercises.check_mistake_prediction("tversky", "missed")
    assert not loss_exercises.check_mistake_prediction("dice", "false alarm")
    assert not loss_exercises.check_mistake_prediction("hinge", "same")
    assert "my_loss should be one of" in capsys.readouterr().out


@pytest.fixture(scope="module")
def tiny_set():
    pairs = [membrane_section(seed, size=32) for seed in range(5)]
    images = np.stack([image for image, _ in pairs])[..., None].astype(np.float32) / 255
    masks = (np.stack([mask for _, mask in pairs])[..., None] > 0).astype(np.float32)
    return images, masks, (np.array([0, 1, 2]), np.array([3]), np.array([4]))


TINY = dict(steps=2, epochs=1, crop_size=32, batch_size=2, filters=2, n_poolings=1)


def test_threshold_check_reads_the_threshold_train_and_score_chose(tiny_set, capsys):
    images, masks, split = tiny_set
    result = comparison.train_and_score(losses.training_loss("dice"), images, masks, split, seed=0, **TINY)
    threshold = result["threshold"]
    truth = "at" if abs(threshold - 0.5) < 0.025 else ("above" if threshold > 0.5 else "below")
    for prediction in ("above", "below", "at"):
        verdict = loss_exercises.check_threshold_prediction("dice", prediction, {"dice": result})
        assert bool(verdict) == (prediction == truth)
    assert f"chose {threshold:.3f}" in capsys.readouterr().out
    assert not loss_exercises.check_threshold_prediction("focal", "above", {"dice": result})
    edge = {"dice": {**result, "threshold": comparison.THRESHOLDS[-1]}}
    assert loss_exercises.check_threshold_prediction("dice", "above", edge)
    assert "edge of the grid" in capsys.readouterr().out
    seeds = {"dice": [{"threshold": 0.3}, {"threshold": 0.7}, {"threshold": 0.8}]}  # the median decides
    assert loss_exercises.check_threshold_prediction("dice", "above", seeds)
    assert "chose 0.700 on validation (median of 3 seeds)" in capsys.readouterr().out


def test_own_loss_check_compares_with_the_course_jaccard_at_the_same_seed(tiny_set, capsys):
    images, masks, split = tiny_set
    course = comparison.train_and_score_seeds(losses.training_loss("jaccard"), images, masks, split, seeds=(0,), **TINY)

    def mine(y_true, y_pred):
        overlap = keras.ops.sum(y_true * y_pred)
        return 1 - overlap / (keras.ops.sum(y_true) + keras.ops.sum(y_pred) - overlap)

    run = comparison.train_and_score(mine, images, masks, split, seed=0, **TINY)
    assert loss_exercises.check_own_loss_training(mine, run, course)
    assert not loss_exercises.check_own_loss_training(mine, {**run, "dice": run["dice"] + 0.1}, course)
    assert "not the same function" in capsys.readouterr().out
    assert not loss_exercises.check_own_loss_training(lambda t, p: 1 - mine(t, p), run, course)  # the IoU
    assert "not 0.4" in capsys.readouterr().out
    assert not loss_exercises.check_own_loss_training(mine, {**run, "seed": 5}, course)
    assert not loss_exercises.check_own_loss_training(None, None, course)


# --- the seed spread used by both notebooks ------------------------------------------------------


def test_train_and_score_seeds_refuses_what_would_not_be_a_spread(tiny_set):
    images, masks, split = tiny_set
    with pytest.raises(ValueError, match="repeat a seed"):
        comparison.train_and_score_seeds("binary_crossentropy", images, masks, split, seeds=(0, 0), **TINY)
    with pytest.raises(ValueError, match="seeds is empty"):
        comparison.train_and_score_seeds("binary_crossentropy", images, masks, split, seeds=(), **TINY)
    with pytest.raises(ValueError, match="augment must be"):
        comparison.train_and_score("binary_crossentropy", images, masks, split, augment="elastic", **TINY)
    with pytest.raises(ValueError, match="use train_and_score_seeds"):
        comparison.train_and_score("binary_crossentropy", images, masks, split, seeds=(0, 1), **TINY)


def test_each_seed_restarts_the_model_and_optimizer_as_new(tiny_set):
    """A seed's run does not depend on the seed trained before it on the same compiled model."""
    images, masks, split = tiny_set
    settings = dict(TINY, steps=6, epochs=2, learning_rate=0.05)  # big enough steps to leave a trace
    after_0 = comparison.train_and_score_seeds("binary_crossentropy", images, masks, split, seeds=(0, 1), **settings)
    after_2 = comparison.train_and_score_seeds("binary_crossentropy", images, masks, split, seeds=(2, 1), **settings)
    alone = comparison.train_and_score("binary_crossentropy", images, masks, split, seed=1, **settings)
    assert [run["seed"] for run in after_0] == [0, 1]
    for restarted in (after_0[1], after_2[1]):
        np.testing.assert_allclose(restarted["probabilities"], alone["probabilities"], atol=1e-6)
        np.testing.assert_allclose(restarted["history"].history["loss"], alone["history"].history["loss"], rtol=1e-6)
    assert np.abs(after_0[0]["probabilities"] - alone["probabilities"]).max() > 1e-3  # seeds differ visibly


class FakeHistory:
    def __init__(self, loss, val_loss):
        self.history = {"loss": [1.0, loss], "val_loss": [1.0, val_loss]}


def fake_run(dice, iou, loss=0.2, val_loss=0.3):
    return {"dice": dice, "iou": iou, "threshold": 0.5, "history": FakeHistory(loss, val_loss)}


def test_seed_spread_and_spread_table_by_hand():
    runs = [fake_run(0.70, 0.54), fake_run(0.76, 0.61, loss=0.4), fake_run(0.73, 0.57, val_loss=0.6)]
    assert comparison.seed_spread(runs) == {"mean": pytest.approx(0.73), "min": 0.70, "max": 0.76, "n": 3}
    table = comparison.spread_table({"full": runs})
    assert table.splitlines()[1].split() == ["full", "3", "0.267", "0.400", "0.573", "0.730", "0.700-0.760"]
    with pytest.raises(ValueError, match="runs is empty"):
        comparison.seed_spread([])
    with pytest.raises(ValueError, match="'f1'"):
        comparison.seed_spread(runs, "f1")


def test_add_training_images_extends_only_the_training_split():
    images, masks = np.zeros((5, 4, 4, 1)), np.zeros((5, 4, 4, 1))
    split = (np.array([0, 1]), np.array([2]), np.array([3, 4]))
    longer, longer_masks, (train, validation, test) = comparison.add_training_images(
        images, masks, split, np.ones((2, 4, 4, 1)), np.ones((2, 4, 4, 1))
    )
    assert longer.shape == (7, 4, 4, 1) and longer[5:].min() == 1 and longer_masks[:5].max() == 0
    assert train.tolist() == [0, 1, 5, 6] and validation.tolist() == [2] and test.tolist() == [3, 4]
    with pytest.raises(ValueError, match="shape"):
        comparison.add_training_images(images, masks, split, np.ones((2, 3, 4, 1)), np.ones((2, 3, 4, 1)))
