"""The hand-written soft Dice equals Keras's Dice; BCE + Dice equals the sum of the built-ins."""

import keras
import numpy as np
import pytest

from helpers import losses


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
    assert float(losses.dice_loss()(y_true, y_pred)) == pytest.approx(expected, abs=1e-6)


def test_soft_dice_loss_of_an_empty_batch_is_one_as_in_keras():
    empty = np.zeros((2, 4, 4, 1), np.float32)
    assert float(losses.soft_dice_loss(empty, empty)) == pytest.approx(1.0)
    assert float(keras.losses.Dice()(empty, empty)) == pytest.approx(1.0)


def test_dice_loss_is_the_keras_dice():
    loss = losses.dice_loss()
    assert isinstance(loss, keras.losses.Dice)
    assert loss.axis is None


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bce_weight, dice_weight", [(1.0, 1.0), (0.5, 2.0)])
def test_bce_dice_equals_the_sum_of_the_keras_losses(seed, bce_weight, dice_weight):
    y_true, y_pred = random_batch(seed)
    loss = losses.bce_dice_loss(bce_weight=bce_weight, dice_weight=dice_weight)
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
    model.compile(optimizer="adam", loss=losses.bce_dice_loss(dice_weight=0.5))
    history = model.fit(images, y_true, epochs=2, batch_size=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))

    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded.loss, losses.BceDiceLoss)
    assert reloaded.loss.dice_weight == 0.5


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="dice_weight must be zero or positive, got -1"):
        losses.bce_dice_loss(dice_weight=-1)
