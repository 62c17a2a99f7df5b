"""The methods paragraph is read from the real model, compile call, batches and training run."""

import keras
import numpy as np
import pytest

from helpers import losses, models, pipeline, reporting, training


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny U-Net trained for 2 epochs of 2 steps with fit_resumable, as notebook 08 does."""
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).random((4, 16, 16, 1)).astype(np.float32)
    masks = (images > 0.5).astype(np.float32)
    model = models.build_unet((None, None, 1), filters=2, n_poolings=2, batch_norm=True, dropout=0.0)
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=4)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=losses.training_loss("bce + dice"), run_eagerly=True)
    batches = pipeline.training_batches(images[:2], masks[:2], crop_size=16, batch_size=2, augment="geometric")
    run = training.fit_resumable(
        model,
        batches,
        folder=tmp_path_factory.mktemp("run"),
        epochs=2,
        steps_per_epoch=2,
        validation_data=(images[2:], masks[2:]),
        verbose=0,
    )
    return model, batches, run


def test_the_model_is_described_from_its_layers(trained):
    model, _, _ = trained
    assert reporting.describe_model(model) == {
        "filters": 2,
        "n_poolings": 2,
        "batch_norm": True,
        "parameters": model.count_params(),
        "outputs": 1,
    }
    assert reporting.describe_optimizer(model) == "Adam, learning rate 0.003 decaying to 0 along a cosine over 4 steps"
    assert reporting.describe_loss(model) == "binary cross-entropy + soft Dice"


def test_methods_paragraph_follows_what_was_really_used(trained):
    model, batches, run = trained
    text = reporting.methods_paragraph(
        model,
        batches,
        run,
        data_description="ISBI 2012",
        split=([0, 1], [2], [3]),
        split_how="in stack order",
        evaluation={"threshold": 0.45, "dice": 0.81234, "iou": 0.7},
    )
    assert f"Keras {keras.__version__}" in text and f"{model.count_params():,} parameters" in text
    assert "2 filters" in text and "2 poolings, batch normalisation" in text
    assert "2 images for training, 1 for validation and 1 for testing" in text and "in stack order" in text
    assert "16x16 crops" in text and "small rotations" in text and "batch size 2" in text
    assert reporting.describe_optimizer(model) in text and reporting.describe_loss(model) in text
    assert "2 epochs of 2 batches" in text and f"epoch {run.state['best_epoch'] + 1}" in text
    assert "0.45" in text and "0.812" in text and "0.700" in text


def _paragraph(trained, evaluation, **extra):
    model, batches, run = trained
    extra.setdefault(
        "data_description", "3 classes (share of the annotated pixels): stroma 60.0%, cap 30.0%, tree 10.0%"
    )
    return reporting.methods_paragraph(
        model,
        batches,
        run,
        split=([0, 1], [2], [3]),
        split_how="at random",
        evaluation=evaluation,
        **extra,
    )


K_CLASS_SCORES = {
    "threshold": float("nan"),
    "dice": 0.5,
    "iou": 0.4,
    "per_class": {"dice": [0.9, 0.45, 0.15], "iou": [0.8, 0.3, 0.1]},
    "class_names": ["stroma", "cap", "tree"],
    "annotated_pixels": 12345,
}


def test_the_k_class_paragraph_gives_the_dice_of_each_class_and_no_threshold(trained):
    text = _paragraph(trained, K_CLASS_SCORES)
    assert reporting.CLASS_RULE in text and "thresholded" not in text  # a NaN threshold is not reported
    assert "0.500" in text and "0.400" in text  # the mean Dice and IoU
    assert "stroma 0.900, cap 0.450, tree 0.150" in text and "12,345" in text
    no_threshold = {key: value for key, value in K_CLASS_SCORES.items() if key not in ("threshold", "class_names")}
    renamed = _paragraph(trained, no_threshold, classes=["a", "b", "c"])
    assert "a 0.900, b 0.450, c 0.150" in renamed


def test_k_class_names_must_match_the_scores(trained):
    with pytest.raises(ValueError, match="2 class names for 3 classes"):
        _paragraph(trained, K_CLASS_SCORES, classes=["a", "b"])
    with pytest.raises(KeyError, match="per_class"):
        _paragraph(trained, {"threshold": 0.5, "dice": 1, "iou": 1}, classes=["a", "b"])


def test_a_changed_compile_call_changes_the_paragraph(trained):
    model, batches, run = trained
    other = models.build_unet((None, None, 1), filters=2, n_poolings=2)
    other.compile(optimizer=keras.optimizers.SGD(0.01), loss="binary_crossentropy")
    assert reporting.describe_optimizer(other) == "SGD, learning rate 0.01"
    assert reporting.describe_loss(other) == "binary cross-entropy"


def test_missing_pieces_are_named(trained):
    model, batches, run = trained
    with pytest.raises(KeyError, match="threshold"):
        reporting.methods_paragraph(
            model,
            batches,
            run,
            data_description="",
            split=([0], [1], [2]),
            split_how="at random",
            evaluation={"dice": 1, "iou": 1},
        )
    with pytest.raises(ValueError, match="training_batches"):
        reporting.methods_paragraph(
            model,
            object(),
            run,
            data_description="",
            split=([0], [1], [2]),
            split_how="at random",
            evaluation={"threshold": 0.5, "dice": 1, "iou": 1},
        )
    with pytest.raises(ValueError, match="not compiled"):
        reporting.describe_optimizer(models.build_unet((None, None, 1), filters=2, n_poolings=1))


def test_the_data_are_named_by_folder_names_with_the_masks_stored_values(trained, tmp_path):
    images, masks = tmp_path / "lab share" / "my images", tmp_path / "lab share" / "my masks"
    text = _paragraph(
        trained,
        {"threshold": 0.5, "dice": 0.8, "iou": 0.7},
        data_description=f"images of {images} and masks of {masks}",
        folders=(images, masks),
        mask_values={0: "background", 255: "structure"},
    )
    assert "Data: images of 'my images' and masks of 'my masks' (mask values: 0 = background, 255 = structure);" in text
