"""Label maps, one-hot masks, class weights and per-class scores, against hand values and Keras."""

import keras
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

from helpers import datasets, label_maps, losses, metrics, pipeline, plotting

LABELS = np.array([[0, 1, 2], [2, 2, 0]])


def test_one_hot_by_hand_and_round_trip():
    one_hot = label_maps.to_one_hot(LABELS, 3)
    assert one_hot.shape == (2, 3, 3) and one_hot.dtype == np.float32
    assert one_hot[0, 1].tolist() == [0, 1, 0]
    assert one_hot[1, 0].tolist() == [0, 0, 1]
    np.testing.assert_array_equal(label_maps.to_label_map(one_hot), LABELS)
    # a trailing channel axis of 1 and float class ids are accepted
    np.testing.assert_array_equal(label_maps.to_one_hot(LABELS[None, ..., None].astype(np.float32), 3)[0], one_hot)
    # keras agrees
    np.testing.assert_array_equal(one_hot, keras.utils.to_categorical(LABELS, 3))


@pytest.mark.parametrize("bad, value", [(np.array([[0, 3]]), "3"), (np.array([[-1, 0]]), "-1")])
def test_labels_outside_the_classes_get_a_clear_error(bad, value):
    with pytest.raises(ValueError, match=rf"\[{value}\].*0..2"):
        label_maps.to_one_hot(bad, 3)


def test_fractional_labels_and_bad_n_classes_are_refused():
    with pytest.raises(ValueError, match="not whole numbers"):
        label_maps.to_one_hot(np.array([[0.5, 1.0]]), 3)
    with pytest.raises(ValueError, match="n_classes"):
        label_maps.to_one_hot(LABELS, 1)
    with pytest.raises(ValueError, match="K >= 2 channels"):
        label_maps.to_label_map(np.zeros((2, 2, 1)))


def test_class_weights_by_hand():
    # 6 pixels: class 0 twice, 1 once, 2 three times -> 6 / (3 x count)
    np.testing.assert_allclose(label_maps.class_weights(LABELS, 3), [1.0, 2.0, 2 / 3])
    # an absent class gets 0; the others share 2 present classes
    np.testing.assert_allclose(label_maps.class_weights(np.array([0, 0, 0, 1]), 3), [4 / 6, 2.0, 0.0])
    weights = label_maps.pixel_weights(LABELS, [1.0, 2.0, 2 / 3])
    np.testing.assert_allclose(weights, [[1, 2, 2 / 3], [2 / 3, 2 / 3, 1]], rtol=1e-6)
    assert weights.mean() == pytest.approx(1.0)


def test_pixel_weights_as_sample_weight_in_keras():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (2, 4, 4))
    logits = rng.normal(size=(2, 4, 4, 3)).astype(np.float32)
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    weights = label_maps.pixel_weights(labels, label_maps.class_weights(labels, 3))
    per_pixel = -np.log(np.take_along_axis(probabilities, labels[..., None], -1)[..., 0])
    expected = np.mean(weights * per_pixel)
    sparse = keras.losses.SparseCategoricalCrossentropy()(labels, probabilities, sample_weight=weights)
    dense = keras.losses.CategoricalCrossentropy()(
        label_maps.to_one_hot(labels, 3), probabilities, sample_weight=weights
    )
    assert float(sparse) == pytest.approx(expected, rel=1e-5)
    assert float(dense) == pytest.approx(expected, rel=1e-5)


def test_confusion_matrix_against_sklearn_and_by_hand():
    prediction = np.array([[0, 2, 2], [1, 2, 0]])
    matrix = metrics.confusion_matrix(LABELS, prediction, 3)
    np.testing.assert_array_equal(matrix, [[2, 0, 0], [0, 0, 1], [0, 1, 2]])
    rng = np.random.default_rng(1)
    truth, guess = rng.integers(0, 4, (3, 8, 8)), rng.integers(0, 4, (3, 8, 8))
    np.testing.assert_array_equal(
        metrics.confusion_matrix(truth, guess, 4),
        sklearn_confusion_matrix(truth.ravel(), guess.ravel(), labels=range(4)),
    )
    with pytest.raises(ValueError, match="same shape"):
        metrics.confusion_matrix(LABELS, LABELS[:1], 3)


def test_per_class_scores_by_hand_and_against_keras():
    prediction = np.array([[0, 2, 2], [1, 2, 0]])
    scores = metrics.per_class_scores(LABELS, prediction, 3)
    # class 0: TP 2 -> IoU 1; class 1: TP 0 -> 0; class 2: TP 2, FP 1, FN 1 -> IoU 2/4, Dice 4/6
    np.testing.assert_allclose(scores["iou"], [1.0, 0.0, 0.5])
    np.testing.assert_allclose(scores["dice"], [1.0, 0.0, 2 / 3])
    rng = np.random.default_rng(2)
    truth, guess = rng.integers(0, 4, (2, 8, 8)), rng.integers(0, 4, (2, 8, 8))
    ious = metrics.per_class_scores(truth, guess, 4)["iou"]
    for class_id in range(4):
        metric = keras.metrics.IoU(num_classes=4, target_class_ids=[class_id], sparse_y_true=True, sparse_y_pred=True)
        metric.update_state(truth.ravel(), guess.ravel())
        assert ious[class_id] == pytest.approx(float(metric.result()), abs=1e-6)
    mean_iou = keras.metrics.MeanIoU(num_classes=4)
    mean_iou.update_state(truth.ravel(), guess.ravel())
    assert ious.mean() == pytest.approx(float(mean_iou.result()), abs=1e-6)


def test_absent_class_scores_one_not_nan():
    scores = metrics.per_class_scores(np.zeros((2, 2), int), np.zeros((2, 2), int), 3)
    np.testing.assert_array_equal(scores["iou"], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(scores["dice"], [1.0, 1.0, 1.0])


def test_multiclass_dice_loss_by_hand_and_against_keras():
    y_true = label_maps.to_one_hot(np.array([[[0, 1]]]), 2)  # (1, 1, 2, 2)
    y_pred = np.array([[[[0.5, 0.5], [0.0, 1.0]]]], np.float32)
    # class 0: overlap 0.5, total 1 + 0.5 -> 1 - 1/1.5; class 1: overlap 1, total 1 + 1.5 -> 1 - 2/2.5
    expected = ((1 - 1 / 1.5) + (1 - 2 / 2.5)) / 2
    assert float(losses.multiclass_dice_loss(y_true, y_pred)) == pytest.approx(expected, abs=1e-6)
    rng = np.random.default_rng(3)
    y_true = label_maps.to_one_hot(rng.integers(0, 4, (2, 6, 6)), 4)
    y_pred = rng.dirichlet(np.ones(4), (2, 6, 6)).astype(np.float32)
    keras_value = float(keras.losses.Dice(axis=(0, 1, 2))(y_true, y_pred))
    assert float(losses.multiclass_dice_loss(y_true, y_pred)) == pytest.approx(keras_value, abs=1e-5)
    # an empty class gives a finite loss
    empty = label_maps.to_one_hot(np.zeros((1, 3, 3), int), 3)
    assert np.isfinite(float(losses.multiclass_dice_loss(empty, empty)))


def test_colored_labels_and_overlay_figure():
    painted = label_maps.color_labels(LABELS, 3)
    np.testing.assert_allclose(painted[0, 1], label_maps.label_colors(3)[1])
    blended = label_maps.color_labels(LABELS, 3, image=np.zeros((2, 3)), alpha=0.5)
    np.testing.assert_allclose(blended[0, 0], 0.5 * label_maps.label_colors(3)[0])
    figure = plotting.show_label_overlays(
        np.zeros((1, 2, 3, 1)), LABELS[None], LABELS[None], ["a", "b", "c"], show=False
    )
    two = plotting.show_label_overlays(np.zeros((1, 2, 3, 1)), LABELS[None], class_names=["a", "b", "c"], show=False)
    assert len(two.axes) == 2
    assert [text.get_text() for text in figure.legends[0].get_texts()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="1 to 20 classes"):
        label_maps.label_colors(21)
    twelve = label_maps.label_colors(12)  # a researcher's 12-class folder still gets 12 distinct colours
    assert twelve.shape == (12, 3) and len({tuple(c) for c in twelve}) == 12


def test_class_colours_are_okabe_itos_colour_blind_safe_palette():
    colours = label_maps.label_colors(8)
    # Okabe & Ito (2008), as printed by Wong (Nature Methods 2011): orange, sky blue, bluish green
    np.testing.assert_allclose(colours[0], np.array([230, 159, 0]) / 255)
    np.testing.assert_allclose(colours[1], np.array([86, 180, 233]) / 255)
    np.testing.assert_allclose(colours[2], np.array([0, 158, 115]) / 255)
    np.testing.assert_allclose(colours[7], [0, 0, 0])
    assert len({tuple(c) for c in colours}) == 8
    np.testing.assert_allclose(label_maps.label_colors(3), colours[:3])


def test_kidney_look_alike_is_deterministic_with_four_classes():
    from helpers.synthetic import KIDNEY_CLASS_NAMES, kidney_section

    image, labels = kidney_section(seed=3, size=48)
    again, labels_again = kidney_section(seed=3, size=48)
    np.testing.assert_array_equal(image, again)
    np.testing.assert_array_equal(labels, labels_again)
    assert image.shape == labels.shape == (48, 48) and set(np.unique(labels)) <= {0, 1, 2, 3}
    assert len(KIDNEY_CLASS_NAMES) == 4
    # the classes differ in brightness, so a network can learn them
    means = [image[labels == c].mean() for c in np.unique(labels)]
    assert means == sorted(means)
    with pytest.raises(ValueError, match="size must be at least 32"):
        kidney_section(0, size=16)


def test_bundled_kidney_matches_its_generator_and_loads_in_smoke_mode():
    from helpers.synthetic import kidney_section

    dataset, names = datasets.load_multiclass("smoke")
    assert names[3] == "ureteric tree"
    assert dataset.images.shape == (16, 64, 64, 1) and dataset.masks.shape == (16, 64, 64, 1)
    image, labels = kidney_section(seed=1000, size=64)
    np.testing.assert_array_equal(dataset.masks[0, ..., 0], labels)
    np.testing.assert_allclose(dataset.images[0, ..., 0], image / 255, atol=1e-6)
    with pytest.raises(ValueError, match="Unknown mode 'fast'"):
        datasets.load_multiclass("fast")


def test_with_pixel_weights_adds_the_class_weight_of_each_pixel():
    import tensorflow as tf

    labels = np.array([[[[0], [2]], [[1], [2]]]], np.float32)
    batches = tf.data.Dataset.from_tensors((np.zeros_like(labels), labels))
    _, _, weights = next(iter(pipeline.with_pixel_weights(batches, [0.5, 1.0, 3.0])))
    np.testing.assert_allclose(weights.numpy(), [[[0.5, 3.0], [1.0, 3.0]]])


def test_class_explorer_redraws_when_a_class_is_hidden():
    explorer = plotting.class_explorer(np.zeros((4, 4, 1)), np.zeros((4, 4), int), np.ones((4, 4), int), ["a", "b"])
    boxes, picture = explorer.children[0].children, explorer.children[1]
    first = picture.value
    assert [box.description for box in boxes] == ["a", "b"] and first[:4] == b"\x89PNG"
    boxes[1].value = False
    assert picture.value != first


def test_cross_entropy_dice_loss_is_the_sum_of_its_parts_on_label_maps():
    import keras

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (2, 5, 4, 1))
    logits = rng.normal(size=(2, 5, 4, 3))
    probabilities = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype(np.float32)
    expected = float(keras.losses.SparseCategoricalCrossentropy()(labels, probabilities)) + 0.5 * float(
        losses.multiclass_dice_loss(label_maps.to_one_hot(labels, 3), probabilities)
    )
    loss = losses.training_loss("cross-entropy + dice", n_classes=3, dice_weight=0.5)
    assert float(loss(labels.astype(np.float32), probabilities)) == pytest.approx(expected, rel=1e-5)
    # a class absent from the batch gives no NaN
    only_zero = np.zeros((1, 4, 4, 1), np.float32)
    assert np.isfinite(float(loss(only_zero, np.full((1, 4, 4, 3), 1 / 3, np.float32))))


def test_a_unet_trains_with_cross_entropy_dice_on_label_maps():
    import keras

    from helpers import losses, models

    keras.utils.set_random_seed(0)
    labels = np.zeros((4, 16, 16, 1), np.float32)
    labels[:, 4:12, 4:12] = 1
    labels[:, 6:8, 6:8] = 2
    images = labels / 2
    model = models.build_unet(
        input_shape=(16, 16, 1), filters=4, n_poolings=2, n_classes=3, output_activation="softmax"
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=losses.training_loss("cross-entropy + dice", n_classes=3))
    history = model.fit(images, labels, epochs=15, batch_size=4, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
