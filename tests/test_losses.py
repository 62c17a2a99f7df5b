"""The hand-written soft Dice equals Keras's Dice; BCE + Dice equals the sum of the built-ins."""

import keras
import numpy as np
import pytest

from helpers import keras_unet, losses


def random_batch(seed, shape=(4, 16, 16, 1)):
    rng = np.random.default_rng(seed)
    y_true = (rng.random(shape) < rng.uniform(0.1, 0.6)).astype(np.float32)
    y_pred = rng.random(shape).astype(np.float32)
    return y_true, y_pred


def test_soft_dice_loss_by_hand():
    y_true = np.array([[1.0, 1.0, 0.0, 0.0]])
    y_pred = np.array([[0.5, 1.0, 0.5, 0.0]])
    # overlap 0.5 + 1 = 1.5; sums 2 and 2; loss = 1 - 3 / 4
    assert float(losses.soft_dice_loss(y_true, y_pred)) == pytest.approx(0.25, abs=1e-6)


def test_soft_dice_loss_pools_the_whole_batch_like_the_keras_example():
    # the example of the keras.losses.Dice documentation
    y_true = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
    y_pred = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]
    assert float(losses.soft_dice_loss(y_true, y_pred)) == pytest.approx(0.6164384, abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_soft_dice_loss_equals_keras_dice(seed):
    y_true, y_pred = random_batch(seed)
    expected = float(keras.losses.Dice()(y_true, y_pred))
    assert float(losses.soft_dice_loss(y_true, y_pred)) == pytest.approx(expected, abs=1e-6)
    assert float(losses.training_loss("dice")(y_true, y_pred)) == pytest.approx(expected, abs=1e-6)


def test_soft_dice_loss_of_an_empty_batch_is_one_as_in_keras():
    empty = np.zeros((2, 4, 4, 1), np.float32)
    assert float(losses.soft_dice_loss(empty, empty)) == pytest.approx(1.0)
    assert float(keras.losses.Dice()(empty, empty)) == pytest.approx(1.0)


def test_dice_loss_is_the_keras_dice():
    loss = losses.training_loss("dice")
    assert isinstance(loss, keras.losses.Dice)
    assert loss.axis is None


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bce_weight, dice_weight", [(1.0, 1.0), (0.5, 2.0)])
def test_bce_dice_equals_the_sum_of_the_keras_losses(seed, bce_weight, dice_weight):
    y_true, y_pred = random_batch(seed)
    loss = losses.training_loss("bce + dice", bce_weight=bce_weight, dice_weight=dice_weight)
    expected = bce_weight * float(keras.losses.BinaryCrossentropy()(y_true, y_pred)) + dice_weight * float(
        keras.losses.Dice()(y_true, y_pred)
    )
    assert loss.name == "bce_dice"
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, abs=1e-5)
    # masks without the channel axis give the same number
    assert float(loss(y_true[..., 0], y_pred)) == pytest.approx(expected, abs=1e-5)


def test_bce_dice_trains_a_model_and_survives_saving(tmp_path):
    keras.utils.set_random_seed(0)
    y_true, _ = random_batch(1, shape=(4, 8, 8, 1))
    images = y_true + np.random.default_rng(0).normal(0, 0.1, y_true.shape).astype(np.float32)
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(inputs))
    model.compile(optimizer="adam", loss=losses.training_loss("bce + dice", dice_weight=0.5))
    history = model.fit(images, y_true, epochs=2, batch_size=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))

    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded.loss, losses.BceDiceLoss)
    assert reloaded.loss.dice_weight == 0.5


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="dice_weight.*-1"):
        losses.training_loss("bce + dice", dice_weight=-1)


# ---------------------------------------------------------------------------------------
# The losses of notebook 04: hand-computed values, then equal to the Keras built-ins
# ---------------------------------------------------------------------------------------

TRUTH = np.array([[1.0, 1.0, 0.0, 0.0]])
PROBABILITY = np.array([[0.5, 1.0, 0.5, 0.0]])


def test_binary_cross_entropy_by_hand():
    # two pixels at 0.5 cost log 2 each, the two right ones cost -log(1 - 1e-7) ~ 0
    assert float(losses.binary_cross_entropy(TRUTH, PROBABILITY)) == pytest.approx(2 * np.log(2) / 4, abs=1e-6)


def test_weighted_binary_cross_entropy_by_hand():
    # the foreground pixel at 0.5 now counts 3 times: (3 log 2 + log 2) / 4
    value = float(losses.weighted_binary_cross_entropy(TRUTH, PROBABILITY, positive_weight=3))
    assert value == pytest.approx(np.log(2), abs=1e-6)


def test_focal_loss_by_hand():
    # gamma 2: each 0.5 pixel keeps (1 - 0.5)^2 = 1/4 of its log 2
    assert float(losses.focal_loss(TRUTH, PROBABILITY)) == pytest.approx(2 * 0.25 * np.log(2) / 4, abs=1e-6)
    assert float(losses.focal_loss(TRUTH, PROBABILITY, gamma=0)) == pytest.approx(2 * np.log(2) / 4, abs=1e-6)


def test_soft_jaccard_loss_by_hand():
    # overlap 1.5, union 2 + 2 - 1.5 = 2.5: loss 1 - 0.6
    assert float(losses.soft_jaccard_loss(TRUTH, PROBABILITY)) == pytest.approx(0.4, abs=1e-6)


def test_tversky_loss_by_hand():
    # TP 1.5, FP 0.5, FN 0.5: with a = 0.2, b = 0.8 the loss is 1 - 1.5 / 2.0
    value = float(losses.tversky_loss(TRUTH, PROBABILITY, false_positive_weight=0.2, false_negative_weight=0.8))
    assert value == pytest.approx(0.25, abs=1e-6)
    # a false positive and a false negative are told apart
    only_false_positive = float(losses.tversky_loss([[1.0, 0.0]], [[1.0, 1.0]], 0.2, 0.8))
    only_false_negative = float(losses.tversky_loss([[1.0, 1.0]], [[1.0, 0.0]], 0.2, 0.8))
    assert only_false_positive == pytest.approx(1 - 1 / 1.2, abs=1e-6)
    assert only_false_negative == pytest.approx(1 - 1 / 1.8, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_hand_written_losses_equal_keras(seed):
    y_true, y_pred = random_batch(seed)
    bce = keras.losses.BinaryCrossentropy()
    assert float(losses.binary_cross_entropy(y_true, y_pred)) == pytest.approx(float(bce(y_true, y_pred)), abs=1e-5)
    weights = losses.positive_weights(y_true[..., 0], 4.0)
    assert float(losses.weighted_binary_cross_entropy(y_true, y_pred, 4.0)) == pytest.approx(
        float(bce(y_true, y_pred, sample_weight=weights)), abs=1e-5
    )
    for gamma in (0.0, 2.0, 3.5):
        expected = float(keras.losses.BinaryFocalCrossentropy(gamma=gamma)(y_true, y_pred))
        assert float(losses.focal_loss(y_true, y_pred, gamma=gamma)) == pytest.approx(expected, abs=1e-5)
    # Keras puts alpha on the false negatives: our (FP 0.3, FN 0.7) is Keras's (alpha 0.7, beta 0.3)
    expected = float(keras.losses.Tversky(alpha=0.7, beta=0.3)(y_true, y_pred))
    assert float(losses.tversky_loss(y_true, y_pred, 0.3, 0.7)) == pytest.approx(expected, abs=1e-5)
    assert float(losses.training_loss("tversky")(y_true, y_pred)) == pytest.approx(expected, abs=1e-5)
    # Tversky with equal weights 0.5 is the Dice loss
    assert float(losses.tversky_loss(y_true, y_pred)) == pytest.approx(
        float(keras.losses.Dice()(y_true, y_pred)), abs=1e-5
    )


@pytest.mark.parametrize("seed", range(3))
def test_soft_jaccard_is_one_minus_iou_on_hard_masks(seed):
    from helpers import metrics

    y_true, y_pred = random_batch(seed)
    hard = (y_pred >= 0.5).astype(np.float32)
    expected = 1 - metrics.iou_score(y_true, hard)
    assert float(losses.soft_jaccard_loss(y_true, hard)) == pytest.approx(expected, abs=1e-5)
    # and Dice = 2 IoU / (1 + IoU) links it to the Dice loss
    iou = 1 - float(losses.soft_jaccard_loss(y_true, hard))
    assert 1 - float(losses.soft_dice_loss(y_true, hard)) == pytest.approx(2 * iou / (1 + iou), abs=1e-5)


def test_keras_unet_jaccard_distance_behaves_like_a_mean_absolute_error():
    mask = np.zeros((1, 10, 10, 1), np.float32)
    mask[0, :, :2] = 1
    mask[0, :2, 2] = 1  # 22 of 100 pixels
    empty = np.zeros_like(mask)
    # per foreground pixel: 1 - 100 / 101; per background pixel 0
    assert float(keras_unet.jaccard_distance(mask, empty)) == pytest.approx(0.22 * 100 / 101, abs=1e-5)
    assert float(losses.soft_jaccard_loss(mask, empty)) == pytest.approx(1.0)
    # close to the mean absolute error for any prediction
    y_true, y_pred = random_batch(0)
    mean_absolute_error = float(np.mean(np.abs(y_true - y_pred)))
    assert float(keras_unet.jaccard_distance(y_true, y_pred)) == pytest.approx(mean_absolute_error, rel=0.05)


@pytest.mark.parametrize("name", losses.LOSS_NAMES)
def test_every_training_loss_gives_a_finite_number_even_on_empty_masks(name):
    loss = losses.training_loss(name)
    empty = np.zeros((2, 4, 4, 1), np.float32)
    for y_true, y_pred in [(empty, empty), (empty, empty + 0.3), random_batch(0)]:
        value = float(loss(y_true, y_pred))
        assert np.isfinite(value) and value >= 0


def test_training_losses_match_the_hand_written_ones():
    y_true, y_pred = random_batch(2)
    pairs = {
        "bce": losses.binary_cross_entropy(y_true, y_pred),
        "weighted bce": losses.weighted_binary_cross_entropy(y_true, y_pred, 10.0),
        "focal": losses.focal_loss(y_true, y_pred),
        "jaccard": losses.soft_jaccard_loss(y_true, y_pred),
        "dice": losses.soft_dice_loss(y_true, y_pred),
        "bce + dice": losses.binary_cross_entropy(y_true, y_pred) + losses.soft_dice_loss(y_true, y_pred),
    }
    for name, expected in pairs.items():
        assert float(losses.training_loss(name)(y_true, y_pred)) == pytest.approx(float(expected), abs=1e-5), name


def test_bad_loss_settings_are_refused():
    with pytest.raises(ValueError, match="Unknown loss 'hinge'"):
        losses.training_loss("hinge")
    with pytest.raises(ValueError, match="positive_weight"):
        losses.positive_weights(np.ones(3), 0)
    with pytest.raises(ValueError, match="gamma"):
        losses.focal_loss(TRUTH, PROBABILITY, gamma=-1)
    with pytest.raises(ValueError, match="false_negative_weight"):
        losses.tversky_loss(TRUTH, PROBABILITY, 0.5, -0.5)
    with pytest.raises(ValueError, match="same shape"):
        losses.soft_jaccard_loss(np.ones((2, 3)), np.ones((3, 2)))
