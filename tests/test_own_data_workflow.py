"""Notebook 08's workflow with the course's own calls, binary and K classes: partial annotations, 2 training steps, scores, predictions; the notebook end to end."""

import nbformat
import numpy as np
import pytest
import skimage.io
from nbclient import NotebookClient
from support import run_as_notebook_08

from helpers import pipeline, reporting
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
    """Write images/, masks/ (one colour per class) and new/ (odd sizes) under root; ``size`` a (height,
    width) or a list of them, taken in turn."""
    rng = np.random.default_rng(0)
    for index in range(count):
        ids = class_map(rng, *(size[index % len(size)] if isinstance(size, list) else size))
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


# --- the training and scoring calls of notebook 08, binary and K classes -----------------------------


def grey_folder(root, masks, new_sizes=((20, 36), (33, 17))):
    """Write grey images (brighter where the mask is not 0), their masks, and new images of odd sizes."""
    rng = np.random.default_rng(0)
    for index, mask in enumerate(masks):
        structure = (mask > 0) & (mask != 255)
        write(
            root / "images", f"{index}.png", (40 + 150 * structure + rng.integers(0, 30, mask.shape)).astype(np.uint8)
        )
        write(root / "masks", f"{index}.png", mask)
    for index, shape in enumerate(new_sizes):
        write(root / "new", f"new{index}.png", rng.integers(0, 255, shape, dtype=np.uint8))
    return dict(zip((f"new{i}.png" for i in range(len(new_sizes))), new_sizes))


def train_and_predict_as_notebook_08(root, results, **check_options):
    """Notebook 08's calls from the folder check to the methods paragraph, 2 training steps."""
    notebook = run_as_notebook_08(root, results, n_poolings=2, crop=16, filters=2, **check_options)
    text = reporting.methods_paragraph(
        notebook.model,
        notebook.batches,
        notebook.run,
        data_description=notebook.report.describe_classes(),
        split=notebook.split,
        split_how="in stack order",
        evaluation=notebook.scores,
    )
    return notebook.run, notebook.scores, notebook.folder, text


def test_a_binary_folder_with_partial_annotations_trains_scores_and_predicts(tmp_path):
    masks = []
    for index in range(5):
        mask = np.full((32, 32), 255, np.uint8)  # not annotated
        mask[:, 4 + index : 10 + index] = 1  # a stroke on the structure
        mask[:, 20:26] = 0  # a stroke on the background
        masks.append(mask)
    sizes = grey_folder(tmp_path / "data", masks)
    before = snapshot(tmp_path / "data")
    run, scores, folder, text = train_and_predict_as_notebook_08(tmp_path / "data", tmp_path, ignore_value=255)
    assert np.isfinite(run.history()["loss"]).all() and run.finished_epochs == 1
    assert 0 <= scores["dice"] <= 1 and 0 < scores["threshold"] < 1
    for name, shape in sizes.items():
        written = skimage.io.imread(folder / name)
        assert written.shape == shape and set(np.unique(written)) <= {0, 255}
    assert "binary masks" in text and "partial annotations" in text and "thresholded at" in text
    assert snapshot(tmp_path / "data") == before


def test_a_k_class_folder_trains_scores_and_predicts_class_ids(tmp_path):
    rng = np.random.default_rng(1)
    sizes = grey_folder(tmp_path / "data", [class_map(rng, 32, 32) for _ in range(5)])
    run, scores, folder, text = train_and_predict_as_notebook_08(
        tmp_path / "data", tmp_path, mask_kind="classes", class_names="bg, disc, box"
    )
    assert np.isfinite(run.history()["loss"]).all()
    assert len(scores["per_class"]["dice"]) == 3 and 0 <= scores["dice"] <= 1
    for name, shape in sizes.items():
        written = skimage.io.imread(folder / name)
        assert written.shape == shape and written.max() <= 2
        assert skimage.io.imread(folder / "previews" / name).shape == shape + (3,)
    assert [line.split(",")[1] for line in (folder / "legend.csv").read_text().splitlines()[1:]] == [
        "bg",
        "disc",
        "box",
    ]
    assert "3 classes" in text and "bg" in text and "most probable class" in text


# --- notebook 08 end to end on an odd-sized colour folder of 3 classes --------------------------------


def test_notebook_08_runs_on_a_mixed_size_colour_multiclass_folder_set_by_its_folder_parameters(tmp_path):
    # 45 x 71 and 71 x 45 in turn: divisible by no power of 2, one side smaller than the smoke crop (64), so every
    # image is padded, each to its own size (64 x 80 or 80 x 64), never to the largest
    sizes = colour_folder(tmp_path / "data", size=[(45, 71), (71, 45)])
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
    redirect = f"import functools\ncourse.mount_drive = functools.partial(course.mount_drive, local_folder={str(tmp_path / 'results')!r})"
    notebook.cells.insert(2, nbformat.v4.new_code_cell(redirect))
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    outputs = "\n".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert "K = 3" in outputs
    assert "6,390 annotated test pixels" in outputs  # 2 test images x 45 x 71: the padding is not scored
    assert "10 pairs of 45x71 (5), 71x45 (5) pixels" in outputs
    assert "confusion matrix" in outputs
    predictions = tmp_path / "results" / "predictions-colours-smoke"
    for name, shape in sizes.items():
        written = skimage.io.imread(predictions / name)
        assert written.shape == shape and written.dtype == np.uint8 and written.max() <= 2
        assert skimage.io.imread(predictions / "previews" / name).shape == shape + (3,)
    legend = (predictions / "legend.csv").read_text().splitlines()
    assert legend[1:] == [f"{i},class {i},{r},{g},{b}" for i, (r, g, b) in enumerate(COLOURS)]
    methods = next((tmp_path / "results").glob("run-colours-smoke-*/methods.md")).read_text()
    assert "3 classes" in methods and "most probable class" in methods
    assert (tmp_path / "results" / "check-colours-smoke" / "classes.csv").is_file()  # next to the results
    assert snapshot(tmp_path / "data") == before  # the input folders are byte-identical
