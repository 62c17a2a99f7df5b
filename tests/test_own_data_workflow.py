"""Notebook 08's workflow for binary masks and K classes: partial annotations, scores, the notebook end to end."""

import nbformat
import numpy as np
import pytest
import skimage.io
from nbclient import NotebookClient

from helpers import own_data, pipeline, reporting
from helpers.course import course_root

NOTEBOOK = course_root() / "notebooks" / "08_your_own_data.ipynb"
# colour-coded classes of the generated folder, in sorted (r, g, b) order = ids 0, 1, 2
COLOURS = ((0, 0, 0), (0, 0, 255), (255, 255, 0))


def write(folder, name, array):
    folder.mkdir(parents=True, exist_ok=True)
    skimage.io.imsave(folder / name, array, check_contrast=False)


def snapshot(root):
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def class_map(rng, height, width):
    """Random blobs: background 0, discs of class 1 and squares of class 2."""
    ids = np.zeros((height, width), np.uint8)
    rows, cols = np.mgrid[:height, :width]
    for _ in range(4):
        r, c = rng.integers(8, height - 8), rng.integers(8, width - 8)
        ids[(rows - r) ** 2 + (cols - c) ** 2 < 36] = 1
        r, c = rng.integers(0, height - 10), rng.integers(0, width - 10)
        ids[r : r + 8, c : c + 8] = 2
    return ids


def colour_image(rng, ids):
    tint = np.array([[40, 40, 40], [200, 60, 60], [60, 200, 90]], np.float64)[ids]
    return np.clip(tint + rng.normal(0, 15, tint.shape), 0, 255).astype(np.uint8)


def colour_folder(root, count=10, size=(64, 64)):
    """Write images/, masks/ (one colour per class) and new/ (odd sizes) under root."""
    rng = np.random.default_rng(0)
    for index in range(count):
        ids = class_map(rng, *size)
        write(root / "images", f"{index}.png", colour_image(rng, ids))
        write(root / "masks", f"{index}.png", np.asarray(COLOURS, np.uint8)[ids])
    sizes = {"new-a.png": (50, 70), "new-b.png": (64, 40)}
    for name, shape in sizes.items():
        write(root / "new", name, colour_image(rng, class_map(rng, *shape)))
    return sizes


# --- pixels not annotated ---------------------------------------------------------------------------


def test_ignore_weights_zero_the_not_annotated_pixels_and_keep_class_weights():
    labels = np.array([0, 1, 2, 255, 1]).reshape(1, 1, 5, 1)
    clean, weights = pipeline.ignore_weights(labels, ignore_value=255, weights=[0.5, 2.0, 3.0])
    np.testing.assert_array_equal(clean[..., 0], [[[0, 1, 2, 0, 1]]])
    np.testing.assert_array_equal(weights, [[[0.5, 2.0, 3.0, 0.0, 2.0]]])
    _, ones = pipeline.ignore_weights(labels[..., :3, :], ignore_value=None)
    np.testing.assert_array_equal(ones, [[[1.0, 1.0, 1.0]]])


def test_ignored_pixels_do_not_change_the_binary_loss():
    import keras

    labels = np.array([1, 0, 255, 255]).reshape(1, 1, 4, 1)
    clean, weights = pipeline.ignore_weights(labels, ignore_value=255)
    loss = keras.losses.BinaryCrossentropy()
    first = np.array([0.9, 0.2, 0.1, 0.7], np.float32).reshape(1, 1, 4, 1)
    second = np.array([0.9, 0.2, 0.99, 0.01], np.float32).reshape(1, 1, 4, 1)  # differs where ignored
    value = float(loss(clean, first, sample_weight=weights))
    assert value == pytest.approx(float(loss(clean, second, sample_weight=weights)), abs=1e-7)
    by_hand = -(np.log(0.9) + np.log(0.8)) / 4  # the two annotated pixels, over all 4 (Keras' mean)
    assert value == pytest.approx(by_hand, rel=1e-5)


def test_ignored_pixels_do_not_change_the_class_weighted_cross_entropy():
    import keras

    labels = np.array([2, 0, 255]).reshape(1, 1, 3, 1)
    clean, weights = pipeline.ignore_weights(labels, ignore_value=255, weights=[1.0, 1.0, 2.0])
    loss = keras.losses.SparseCategoricalCrossentropy()
    first = np.array([[0.1, 0.1, 0.8], [0.7, 0.2, 0.1], [0.3, 0.3, 0.4]], np.float32).reshape(1, 1, 3, 3)
    second = first.copy()
    second[0, 0, 2] = [0.98, 0.01, 0.01]
    value = float(loss(clean, first, sample_weight=weights))
    assert value == pytest.approx(float(loss(clean, second, sample_weight=weights)), abs=1e-7)
    assert value == pytest.approx(-(2 * np.log(0.8) + np.log(0.7)) / 3, rel=1e-5)


def test_crops_without_any_annotated_pixel_are_not_used():
    # image 0 is annotated in its top-left 8x8 corner only; image 1 is not annotated at all
    images = np.stack([np.zeros((32, 32, 1)), np.ones((32, 32, 1))]).astype(np.float32)
    masks = np.full((2, 32, 32, 1), 255, np.float32)
    masks[0, :8, :8] = 1
    batches = pipeline.training_batches(images, masks, crop_size=16, batch_size=4, augment=False, seed=3)
    weighted = pipeline.with_ignore_weights(batches, ignore_value=255)
    assert weighted.settings["ignore_value"] == 255 and weighted.settings["crop_size"] == 16
    seen = 0
    for crops, labels, weights in weighted.take(10):
        crops, labels, weights = crops.numpy(), labels.numpy(), weights.numpy()
        assert crops.shape == (4, 16, 16, 1) and weights.shape == (4, 16, 16)
        assert np.all(crops == 0), "a crop of the image without annotations was used"
        assert np.all(weights.reshape(4, -1).sum(axis=1) > 0), "a crop without annotated pixels was used"
        assert set(np.unique(labels)) <= {0, 1} and np.all(labels[..., 0][weights == 0] == 0)
        np.testing.assert_array_equal(weights == 1, labels[..., 0] == 1)  # annotated pixels are all 1 here
        seen += 4
    assert seen == 40


def test_training_batches_refuse_masks_without_any_annotated_pixel():
    loaded = own_data.CheckedSet(
        np.zeros((2, 16, 16, 1), np.float32), np.full((2, 16, 16, 1), 7, np.float32), ["a", "b"], "", [], 7
    )
    with pytest.raises(ValueError, match="No pixel of the 2 training masks is annotated"):
        own_data.training_batches(loaded, [0, 1], crop_size=8, batch_size=2)


# --- the same calls for binary and K classes --------------------------------------------------------


class Report:
    """The parts of a FolderReport the training functions read."""

    def __init__(self, kind, n_classes=2, channels=1, ignore_value=None):
        self.mask_kind, self.n_classes, self.image_channels, self.ignore_value = kind, n_classes, channels, ignore_value


def test_build_model_has_one_sigmoid_output_or_k_softmax_outputs():
    binary = own_data.build_model(Report("binary"), filters=2, n_poolings=1)
    classes = own_data.build_model(Report("colours", 4, channels=3), filters=2, n_poolings=1)
    assert binary.output_shape[-1] == 1 and binary.input_shape[-1] == 1
    assert classes.output_shape[-1] == 4 and classes.input_shape[-1] == 3
    probabilities = np.asarray(classes.predict(np.zeros((1, 8, 8, 3), np.float32), verbose=0))
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1, rtol=1e-5)  # softmax


def test_training_loss_by_kind_and_no_dice_term_with_partial_annotations():
    assert own_data.training_loss(Report("binary")).name == "bce"
    assert own_data.training_loss(Report("classes", 3)).name == "cross_entropy"
    assert own_data.training_loss(Report("classes", 3), dice_term=True).name == "cross_entropy_dice"
    with pytest.raises(ValueError, match="dice_term cannot leave out"):
        own_data.training_loss(Report("classes", 3, ignore_value=255), dice_term=True)
    with pytest.raises(ValueError, match="dice_term is for K classes"):
        own_data.training_loss(Report("binary"), dice_term=True)


def test_class_weights_come_from_the_annotated_training_pixels_only():
    masks = np.array([0, 0, 0, 1, 255, 255, 255, 255], np.float32).reshape(1, 1, 8, 1)
    loaded = own_data.CheckedSet(np.zeros((1, 1, 8, 1)), masks, ["a"], "", ["bg", "fg"], 255)
    weights = own_data.training_class_weights(Report("classes", 2, ignore_value=255), loaded, [0])
    np.testing.assert_allclose(weights, [4 / (2 * 3), 4 / (2 * 1)])  # pixels / (K x pixels of the class)
    assert own_data.training_class_weights(Report("binary"), loaded, [0]) is None
    assert own_data.training_class_weights(Report("classes", 2), loaded, [0], dice_term=True) is None


def test_split_counts():
    assert own_data.split_counts(29) == (4, 5)
    assert own_data.split_counts(10) == (1, 2)
    assert own_data.split_counts(3) == (1, 1)
    with pytest.raises(ValueError, match="2 usable pairs is too few"):
        own_data.split_counts(2)


class FixedModel:
    """A stand-in model that returns the same probabilities for every batch."""

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, np.float32)

    def predict(self, batch, verbose=0):
        return self.probabilities[np.newaxis, : batch.shape[1], : batch.shape[2]]


def test_binary_scores_count_the_annotated_pixels_only():
    truth = np.array([[1, 1, 0, 0], [2, 2, 2, 2], [2, 2, 2, 2], [2, 2, 2, 2]], np.float32)  # 2 = not annotated
    probabilities = np.array([[0.9, 0.2, 0.1, 0.8], [0.9] * 4, [0.9] * 4, [0.9] * 4])[..., np.newaxis]
    loaded = own_data.CheckedSet(np.zeros((1, 4, 4, 1)), truth[np.newaxis, ..., np.newaxis], ["a"], "", [], 2)
    scores = own_data.evaluate(FixedModel(probabilities), loaded, [0], threshold=0.5, n_poolings=2)
    # annotated: truth 1 1 0 0, predicted 1 0 0 1: TP 1, FN 1, FP 1
    assert scores["dice"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))
    assert scores["iou"] == pytest.approx(1 / 3)
    assert scores["annotated_pixels"] == 4
    threshold = own_data.choose_threshold(FixedModel(probabilities), loaded, [0], n_poolings=2)
    # annotated only: any threshold in (0.1, 0.2] finds both structure pixels (Dice 0.8), the lowest of the
    # 0.01 grid wins; the 12 not-annotated pixels at 0.9 would push it above 0.9 if they counted as background
    assert threshold == pytest.approx(0.11)


def test_class_scores_and_confusion_matrix_on_the_annotated_pixels():
    truth = np.array([[0, 1, 2, 9]], np.float32)  # 9 = not annotated
    predicted = np.array([[0, 2, 2, 1]])
    probabilities = np.eye(3)[predicted]
    loaded = own_data.CheckedSet(np.zeros((1, 1, 4, 1)), truth[np.newaxis, ..., np.newaxis], ["a"], "", list("abc"), 9)
    scores = own_data.evaluate(FixedModel(probabilities), loaded, [0], n_poolings=0)
    np.testing.assert_array_equal(scores["confusion"], [[1, 0, 0], [0, 0, 1], [0, 0, 1]])
    np.testing.assert_allclose(scores["per_class"]["dice"], [1.0, 0.0, 2 / 3])
    assert scores["dice"] == pytest.approx(5 / 9) and np.isnan(scores["threshold"])
    table = own_data.score_table(scores)
    assert "3 annotated test pixels" in table and "mean" in table and "confusion matrix" in table
    assert table.splitlines()[2].split() == ["a", "1.000", "1.000"]


def test_methods_paragraph_names_the_classes_their_shares_and_the_k_class_rule(tmp_path):
    import keras

    from helpers import training

    report = Report("classes", 2)
    report.classes = [dict(name="stroma", pixel_share=0.75), dict(name="tubule", pixel_share=0.25)]
    report.annotated = {}
    assert own_data.describe_classes(report) == "2 classes (share of the annotated pixels): stroma 75.0%, tubule 25.0%"
    images = np.random.default_rng(0).random((2, 16, 16, 1)).astype(np.float32)
    masks = (images > 0.5).astype(np.float32)
    loaded = own_data.CheckedSet(images, masks, ["a", "b"], "", ["stroma", "tubule"], None)
    model = own_data.build_model(report, filters=2, n_poolings=1)
    own_data.compile_model(model, report, keras.optimizers.Adam(1e-3))
    batches = own_data.training_batches(loaded, [0], crop_size=8, batch_size=2, weights=[1.0, 1.0])
    run = training.fit_resumable(
        model, batches, folder=tmp_path / "run", epochs=1, steps_per_epoch=1, validation_data=(images, masks), verbose=0
    )
    scores = own_data.evaluate(model, loaded, [1], n_poolings=1)
    text = reporting.methods_paragraph(
        model,
        batches,
        run,
        data_description=own_data.describe_classes(report),
        split=([0], [1], [1]),
        split_how="at random",
        evaluation=scores,
    )
    assert "thresholded" not in text and "nan" not in text
    assert "were kept. Each pixel was given its most probable class. On the test images" in text
    assert "stroma 75.0%, tubule 25.0%" in text
    dice = scores["per_class"]["dice"]
    assert text.endswith(
        f"Dice and IoU are means over the 2 classes; Dice per class: stroma {dice[0]:.3f}, tubule {dice[1]:.3f}"
        f" ({scores['annotated_pixels']:,} annotated test pixels)."
    )


# --- notebook 08 end to end on a colour folder of 3 classes -----------------------------------------


def test_notebook_08_runs_on_a_colour_multiclass_folder_set_by_its_folder_parameters(tmp_path):
    sizes = colour_folder(tmp_path / "data")
    before = snapshot(tmp_path / "data")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    index = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    folders = {
        "IMAGE_FOLDER": str(tmp_path / "data" / "images"),
        "MASK_FOLDER": str(tmp_path / "data" / "masks"),
        "NEW_IMAGE_FOLDER": str(tmp_path / "data" / "new"),
        "RUN_NAME": "colours",
        "SPLIT": "at random",
    }
    # as papermill does: a cell of assignments right after the parameters cell
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in folders.items())))
    # the test's own plumbing: results into tmp_path instead of outputs/ of the course folder
    redirect = f"import functools\ncolab.mount_drive = functools.partial(colab.mount_drive, local_folder={str(tmp_path / 'results')!r})"
    notebook.cells.insert(2, nbformat.v4.new_code_cell(redirect))
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    outputs = "\n".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert "colour-coded, K = 3 colours" in outputs
    assert "confusion matrix" in outputs
    predictions = tmp_path / "results" / "predictions-colours-smoke"
    for name, shape in sizes.items():
        written = skimage.io.imread(predictions / name)
        assert written.shape == shape and written.dtype == np.uint8 and written.max() <= 2
        assert skimage.io.imread(predictions / "previews" / name).shape == shape + (3,)
    legend = (predictions / "legend.csv").read_text().splitlines()
    assert legend[1:] == [f"{i},class {i},{r},{g},{b}" for i, (r, g, b) in enumerate(COLOURS)]
    methods = next((tmp_path / "results").glob("run-colours-smoke-*/methods.md")).read_text()
    assert "3 classes (share of the annotated pixels)" in methods and "most probable class" in methods
    assert (tmp_path / "results" / "check-colours-smoke" / "classes.csv").is_file()  # next to the results
    assert snapshot(tmp_path / "data") == before  # the input folders are byte-identical


def test_scribbles_label_a_few_percent_on_the_right_side_reproducibly():
    from helpers import datasets

    mask = datasets.bundled_membranes().masks[0]
    scribbles = own_data.make_scribbles(mask, 0.04, seed=1)
    labelled = scribbles != 255
    assert scribbles.shape == mask.shape and 0.03 <= labelled.mean() <= 0.05
    assert np.all(mask[scribbles == 1] == 1) and np.all(mask[scribbles == 0] == 0)  # strokes on their class
    assert abs(np.mean(scribbles == 1) - np.mean(scribbles == 0)) < 0.01  # about half and half
    np.testing.assert_array_equal(scribbles, own_data.make_scribbles(mask, 0.04, seed=1))
    assert not np.array_equal(scribbles, own_data.make_scribbles(mask, 0.04, seed=2))
