"""Your own stacks (helpers.stacks, notebook 06): check, load and predict folders of generated 3-D TIFF stacks."""

import keras
import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import run_notebook_on_folders, snapshot

from helpers import datasets, imageio, models, stacks

#: Stored pixel type -> (largest value written, the folder's rule, what the rule divides by).
DTYPES = {
    "uint8": (255, "8-bit / 255", 255),
    "12-bit": (4095, "12-bit in 16 bits / 4095", 4095),
    "uint16": (65535, "16-bit / 65535", 65535),
    "float32": (1.0, "float in [0, 1] as is", 1),
}


def stored_pixels(rng, shape, channels, dtype):
    top = DTYPES[dtype][0]
    if dtype == "float32":
        return rng.random(shape + (channels,)).astype(np.float32)
    pixels = rng.integers(0, top + 1, shape + (channels,))
    pixels.flat[0] = top  # every stack reaches the top of its range
    return pixels.astype(np.uint8 if dtype == "uint8" else np.uint16)


def label_stack(rng, shape, labels):
    """Binary: 0/255 specks; classes: ids 0, 1, 2 everywhere (each id many separate regions)."""
    if labels == "binary":
        return np.where(rng.random(shape) > 0.6, 255, 0).astype(np.uint8)
    ids = rng.integers(0, 3, shape).astype(np.uint8)
    ids.flat[:3] = (0, 1, 2)
    return ids


def write_folder(root, sizes, *, channels=1, dtype="uint8", labels="binary", suffix="", spacing=None, seed=0):
    """images/ and masks/ under root, one stack per size; return {name: (stored pixels, stored labels)}."""
    rng = np.random.default_rng(seed)
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    written = {}
    for index, shape in enumerate(sizes):
        name = f"stack{index + 1}"
        pixels, ids = stored_pixels(rng, tuple(shape), channels, dtype), label_stack(rng, tuple(shape), labels)
        datasets.write_stack(root / "images" / f"{name}.tif", pixels[..., 0] if channels == 1 else pixels, spacing)
        datasets.write_stack(root / "masks" / f"{name}{suffix}.tif", ids, spacing)
        written[name] = pixels, ids
    return written


# --- check and load: any size, channel count, pixel type, mask kind and naming --------------------------


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.tuples(st.integers(4, 7), st.integers(32, 45), st.integers(32, 45)), min_size=3, max_size=4),
    channels=st.sampled_from([1, 2]),
    dtype=st.sampled_from(sorted(DTYPES)),
    labels=st.sampled_from(["binary", "classes"]),
    suffix=st.sampled_from(["", "_mask", "_labels"]),
)
def test_a_folder_of_stacks_is_checked_and_loaded_as_stored(tmp_path_factory, sizes, channels, dtype, labels, suffix):
    root = tmp_path_factory.mktemp("stacks")
    written = write_folder(
        root, sizes, channels=channels, dtype=dtype, labels=labels, suffix=suffix, spacing=(2, 0.5, 0.25)
    )
    before = snapshot(root)
    report = stacks.check_stacks(root / "images", root / "masks", box=(4, 32, 32))
    assert report.count("error") == 0 and [name for name, _, _ in report.pairs] == list(written)
    assert report.mask_kind == labels and report.image_channels == channels
    assert report.rescaling == DTYPES[dtype][1] and report.spacing == (2.0, 0.5, 0.25)
    loaded = stacks.load_stacks(report)
    for (pixels, ids), volume, mask in zip(written.values(), loaded.volumes, loaded.masks):
        assert volume.shape == pixels.shape and mask.shape == ids.shape + (1,)
        np.testing.assert_allclose(volume, pixels / DTYPES[dtype][2], atol=1e-6)
        expected = ids if labels == "classes" else ids > 0
        np.testing.assert_array_equal(mask[..., 0], expected)
    assert loaded.spacing == (2.0, 0.5, 0.25)
    assert snapshot(root) == before  # the folders are only read


def test_objects_that_span_sections_are_instances_and_touching_layers_are_classes(tmp_path, monkeypatch):
    z, y, x = np.mgrid[:6, :32, :32]
    objects = {}
    for index, centres in enumerate(([(8, 8), (20, 22), (8, 24)], [(10, 10), (22, 20), (9, 25), (24, 6)])):
        ids = np.zeros((6, 32, 32), np.uint8)
        for number, (row, column) in enumerate(centres, start=1):
            ids[(y - row) ** 2 + (x - column) ** 2 < 16] = number  # a column of discs through all sections
        objects[f"cells{index}"] = ids
    layers = np.where(z < 2, 0, np.where(z < 4, 1, 2)).astype(np.uint8)  # three slabs: ids 1 and 2 touch
    for root, masks in ((tmp_path / "objects", objects), (tmp_path / "layers", {"a": layers, "b": layers})):
        for name, ids in masks.items():
            (root / "images").mkdir(parents=True, exist_ok=True)
            (root / "masks").mkdir(exist_ok=True)
            datasets.write_stack(root / "images" / f"{name}.tif", ids * 60)
            datasets.write_stack(root / "masks" / f"{name}.tif", ids)
    report = stacks.check_stacks(
        tmp_path / "objects" / "images", tmp_path / "objects" / "masks", box=(4, 32, 32), voxel_spacing=(1, 1, 1)
    )
    assert report.mask_kind == "instances" and "connected" in report.kind_reason
    assert {float(v) for mask in stacks.load_stacks(report).masks for v in np.unique(mask)} == {0.0, 1.0}
    report = stacks.check_stacks(
        tmp_path / "layers" / "images", tmp_path / "layers" / "masks", box=(4, 32, 32), voxel_spacing=(1, 1, 1)
    )
    assert report.mask_kind == "classes" and report.n_classes == 3
    mixed = tmp_path / "mixed"  # three stacks of class ids, one of 0/255 (the odd one out) and one of 0/1
    write_folder(mixed, [(4, 32, 32)] * 3, labels="classes", spacing=(1, 1, 1))
    datasets.write_stack(mixed / "images" / "odd.tif", np.zeros((4, 32, 32), np.uint8), (1, 1, 1))
    datasets.write_stack(mixed / "masks" / "odd.tif", np.where(z[:4] > 1, 255, 0).astype(np.uint8))
    datasets.write_stack(mixed / "images" / "few.tif", np.zeros((4, 32, 32), np.uint8), (1, 1, 1))
    datasets.write_stack(mixed / "masks" / "few.tif", (z[:4] > 1).astype(np.uint8))  # ids 0 and 1 only: classes too
    monkeypatch.setattr(imageio, "read_mask", lambda path: pytest.fail(f"stack {path} read as a 2-D mask"))
    report = stacks.check_stacks(mixed / "images", mixed / "masks", box=(4, 32, 32))
    assert report.mask_kind == "classes" and report.left_out == {"odd": "binary mask among class-id masks"}
    assert "few" in [name for name, _, _ in report.pairs]
    assert report.summary().startswith("Checked 5 stacks") and "\nStacks: 1 channel(s)" in report.summary()


# --- the voxel spacing -------------------------------------------------------------------------------


def test_spacing_comes_from_ome_metadata_or_voxel_spacing_and_a_guess_is_said_once(tmp_path):
    write_folder(tmp_path / "plain", [(4, 32, 32)] * 3)  # no spacing in any file
    report = stacks.check_stacks(tmp_path / "plain" / "images", tmp_path / "plain" / "masks", box=(4, 32, 32))
    assert report.spacing == (1.0, 1.0, 1.0)
    said = [p for p in report.problems if "spacing" in p.what]
    assert len(said) == 1 and said[0].severity == "warning" and "guess" in said[0].what
    assert "VOXEL_SPACING" in said[0].fix and "guess" in report.summary()
    given_spacing = stacks.check_stacks(
        tmp_path / "plain" / "images", tmp_path / "plain" / "masks", box=(4, 32, 32), voxel_spacing=(3, 0.2, 0.2)
    )
    assert given_spacing.spacing == (3.0, 0.2, 0.2) and "VOXEL_SPACING" in given_spacing.image_rule
    assert not [p for p in given_spacing.problems if "spacing" in p.what]
    with pytest.raises(ValueError, match="VOXEL_SPACING must be 3 positive numbers"):
        stacks.check_stacks(tmp_path / "plain" / "images", tmp_path / "plain" / "masks", voxel_spacing=(0.2, 0.1))
    ome = tmp_path / "ome"
    write_folder(ome, [(4, 32, 32)] * 3)
    for path in (ome / "images").iterdir():  # the same pixels as OME-TIFF, 0.8 x 0.1 x 0.1 micrometres
        pixels = tifffile.imread(path)
        metadata = {"axes": "ZYX", "PhysicalSizeZ": 0.8, "PhysicalSizeY": 0.1, "PhysicalSizeX": 0.1}
        tifffile.imwrite(ome / "images" / f"{path.stem}.ome.tif", pixels, ome=True, metadata=metadata)
        path.unlink()
    report = stacks.check_stacks(ome / "images", ome / "masks", box=(4, 32, 32))
    assert report.spacing == (0.8, 0.1, 0.1) and "from the metadata" in report.image_rule
    assert not [p for p in report.problems if "spacing" in p.what]


# --- errors name the file and the fix ---------------------------------------------------------------------


def test_each_unusable_stack_is_left_out_with_its_file_and_fix(tmp_path):
    write_folder(tmp_path, [(4, 32, 32)] * 3, spacing=(1, 1, 1))
    images, masks = tmp_path / "images", tmp_path / "masks"
    datasets.write_stack(images / "short.tif", np.zeros((4, 32, 32), np.uint8), (1, 1, 1))
    datasets.write_stack(masks / "short.tif", np.zeros((4, 32, 31), np.uint8))  # one column less
    datasets.write_stack(images / "thin.tif", np.zeros((2, 32, 32), np.uint8), (1, 1, 1))  # 2 sections < box
    datasets.write_stack(masks / "thin.tif", np.zeros((2, 32, 32), np.uint8))
    datasets.write_stack(images / "two.tif", np.zeros((4, 32, 32, 2), np.uint8), (1, 1, 1))  # 2 channels among 1
    datasets.write_stack(masks / "two.tif", np.zeros((4, 32, 32), np.uint8))
    datasets.write_stack(images / "rgb.tif", np.zeros((4, 32, 32), np.uint8), (1, 1, 1))
    datasets.write_stack(masks / "rgb.tif", np.zeros((4, 32, 32, 3), np.uint8))  # a mask with 3 channels
    datasets.write_stack(images / "lonely.tif", np.zeros((4, 32, 32), np.uint8), (1, 1, 1))  # no mask
    (images / "broken.tif").write_bytes(b"not a tiff")
    datasets.write_stack(masks / "broken.tif", np.zeros((4, 32, 32), np.uint8))
    report = stacks.check_stacks(images, masks, box=(4, 32, 32))
    assert [name for name, _, _ in report.pairs] == ["stack1", "stack2", "stack3"]
    assert set(report.left_out) == {"short", "thin", "two", "rgb", "lonely", "broken"}
    errors = {p.file.split("/")[-1]: p for p in report.problems if p.severity == "error"}
    assert "4 x 32 x 31" in errors["short.tif"].what and "Export the mask" in errors["short.tif"].fix
    assert "smaller than the training box" in errors["thin.tif"].what and "BOX" in errors["thin.tif"].fix
    assert "2 channels" in errors["two.tif"].what and "same channels" in errors["two.tif"].fix
    assert "3 channels" in errors["rgb.tif"].what and "one value per voxel" in errors["rgb.tif"].fix
    assert "cannot be read" in errors["broken.tif"].what and "Fiji" in errors["broken.tif"].fix
    assert "lonely.tif" in report.summary() and "Left out: 6" in report.summary()
    datasets.write_stack(images / "deep.tif", np.zeros((4, 32, 32), np.uint16))  # 16-bit among 8-bit stacks
    datasets.write_stack(masks / "deep.tif", np.zeros((4, 32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"mix pixel types.*deep\.tif"):
        stacks.check_stacks(images, masks, box=(4, 32, 32))


# --- scores and predictions ---------------------------------------------------------------------------------


def test_threshold_and_scores_pool_every_voxel_of_every_stack():
    masks = [np.array([1, 1, 0, 0]).reshape(1, 1, 4, 1), np.array([1, 0]).reshape(1, 1, 2, 1)]
    probabilities = [np.array([0.9, 0.6, 0.4, 0.1]).reshape(1, 1, 4, 1), np.array([0.3, 0.2]).reshape(1, 1, 2, 1)]
    # at 0.5: 2 of the 3 true voxels found, no false one -> Dice 2*2 / (2 + 3) = 0.8, IoU 2 / 3
    scores = stacks.score(masks, probabilities, 0.5)
    assert scores["dice"] == pytest.approx(0.8) and scores["iou"] == pytest.approx(2 / 3)
    assert stacks.choose_threshold(masks, probabilities) <= 0.3  # all three true voxels, one false: Dice 6/7
    one_hot = [np.eye(3)[[0, 1, 2, 2]].reshape(1, 1, 4, 3)]
    per_class = stacks.score([np.array([0, 1, 2, 1]).reshape(1, 1, 4, 1)], one_hot)
    # class 0 and 2 right (Dice 1 and 2*1/(1+2)), class 1: one of two found (2*1/(2+1))
    assert per_class["dice"] == pytest.approx(np.mean([1.0, 2 / 3, 2 / 3]))
    assert stacks.choose_threshold(masks, [np.concatenate([p, 1 - p], -1) for p in probabilities]) is None


def channel_zero_model(channels):
    """A 3-D model whose one output is the input's first channel (a 1x1x1 convolution with weights 1, 0, ...)."""
    inputs = keras.Input((None, None, None, channels))
    convolution = keras.layers.Conv3D(1, 1)
    model = keras.Model(inputs, convolution(inputs))
    convolution.set_weights([np.eye(channels, 1).reshape(1, 1, 1, channels, 1), np.zeros(1)])
    return model


def test_predict_stacks_writes_each_stack_at_its_size_and_spacing_into_a_new_folder(tmp_path, capsys):
    rng = np.random.default_rng(1)
    new = tmp_path / "new"
    new.mkdir()
    sizes = {"a": (5, 37, 41), "b": (3, 9, 70), "c.ome": (9, 40, 31)}  # odd, smaller than the window, any
    stored = {}
    for name, shape in sizes.items():
        stored[name] = rng.integers(0, 256, shape + (2,)).astype(np.uint8)
        datasets.write_stack(new / f"{name}.tif", stored[name], (2.0, 0.4, 0.4) if name == "a" else None)
    before = snapshot(new)
    folder = stacks.predict_stacks(
        channel_zero_model(2), new, tmp_path / "predictions", window=(4, 16, 16), threshold=0.5, spacing=(3.0, 1.5, 1.5)
    )
    for name, shape in sizes.items():
        written, spacing = imageio.read_stack(folder / f"{name.split('.')[0]}.tif")
        assert written.shape == shape + (1,) and written.dtype == np.uint8
        # the first channel, scaled by 1/255, at threshold 0.5: 255 from the stored value 128 up
        np.testing.assert_array_equal(written[..., 0], np.where(stored[name][..., 0] >= 128, 255, 0))
        assert spacing == ((2.0, 0.4, 0.4) if name == "a" else (3.0, 1.5, 1.5))
    again = stacks.predict_stacks(
        channel_zero_model(2), new, tmp_path / "predictions", window=(4, 16, 16), threshold=0.5
    )
    assert again.name == "predictions-2" and len(list(folder.iterdir())) == 3
    stacks.predict_stacks(
        channel_zero_model(2), new, tmp_path / "p", window=(4, 16, 16), threshold=0.5, rescaling="16-bit / 65535"
    )
    assert "another rule" in capsys.readouterr().out  # the new stacks are 8-bit; the model learnt 16-bit ones
    assert snapshot(new) == before
    with pytest.raises(ValueError, match=r"a\.tif has 2 channels, the model takes 1"):
        stacks.predict_stacks(channel_zero_model(1), new, tmp_path / "other", window=(4, 16, 16), threshold=0.5)


def test_predict_stacks_writes_class_ids_for_k_classes(tmp_path):
    new = tmp_path / "new"
    new.mkdir()
    datasets.write_stack(new / "s.tif", np.zeros((3, 20, 21), np.uint8))
    model = models.build_unet_3d(
        (None, None, None, 1), filters=2, n_poolings=2, n_classes=3, pool_size=(1, 2, 2), output_activation="softmax"
    )
    folder = stacks.predict_stacks(model, new, tmp_path / "out", window=(4, 16, 16))
    written, _ = imageio.read_stack(folder / "s.tif")
    assert written.shape == (3, 20, 21, 1) and written.max() <= 2
    with pytest.raises(ValueError, match="threshold"):
        stacks.predict_stacks(channel_zero_model(1), new, tmp_path / "out", window=(4, 16, 16))


# --- notebook 06 on a folder of generated stacks, set by its folder parameters only -------------------------


def test_notebook_06_trains_and_predicts_a_folder_of_stacks_set_by_its_folder_parameters(tmp_path):
    data = tmp_path / "data"
    write_folder(
        data,
        [(6, 37, 41), (5, 45, 33), (7, 35, 39)],
        channels=2,
        dtype="12-bit",
        suffix="_mask",
        spacing=(2.0, 0.5, 0.5),
    )
    new_sizes = {"new-a": (5, 21, 50), "new-b": (9, 40, 31)}
    rng = np.random.default_rng(2)
    (data / "new").mkdir()
    for name, shape in new_sizes.items():
        datasets.write_stack(data / "new" / f"{name}.tif", stored_pixels(rng, shape, 2, "12-bit"))
    before = snapshot(data)
    folders = {"IMAGE_FOLDER": data / "images", "MASK_FOLDER": data / "masks", "NEW_IMAGE_FOLDER": data / "new"}
    outputs = run_notebook_on_folders("06_unet_3d", {k: str(v) for k, v in folders.items()}, tmp_path / "results")
    assert "Errors: 0" in outputs and "'12-bit in 16 bits / 4095' for all" in outputs
    assert "3 stack(s) of 2 channel(s), K = 1" in outputs
    for name, shape in new_sizes.items():
        written, spacing = imageio.read_stack(tmp_path / "results" / "predictions-smoke" / f"{name}.tif")
        assert written.shape == shape + (1,) and set(np.unique(written).tolist()) <= {0, 255}
        assert spacing == (2.0, 0.5, 0.5)  # the folder's, since the new stacks say none
    assert snapshot(data) == before
