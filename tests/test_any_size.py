"""Every folder researchers bring through notebook 08's calls: check, load, train with validation, score, predict.

Folders are drawn by hypothesis: sizes (odd, prime, one pixel over a multiple of 2**n_poolings, smaller than
the crop, mixed in one folder), 1 to 4 channels, pixel types (8-bit, 12-bit data in 16 bits, full 16-bit,
float32), mask kinds (0/255, 0/1, class ids, colours) and mask names (``7.png``, ``7_mask.png`` ...). Each
image loads with the folder's one rescaling rule, each predicted mask has its image's size and allowed values,
the padding is never scored, and the input folders are byte-identical afterwards.
"""

import tempfile
from pathlib import Path

import numpy as np
import pytest
import skimage.io
import skimage.measure
import tifffile
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support import run_as_notebook_08

from helpers import inference, own_data, pipeline

N_POOLINGS, CROP = 2, 32
SIDES = st.sampled_from([17, 19, 23, 31, 32, 33, 45, 49, 64, 65, 70]) | st.integers(17, 70)
#: Pixel types as cameras save them: (numpy type, the value that stands for 1.0, the folder's rescaling rule).
PIXEL_TYPES = {
    "8-bit": (np.uint8, 255, "8-bit / 255"),
    "12-bit in 16 bits": (np.uint16, 4095, "12-bit in 16 bits / 4095"),
    "16-bit": (np.uint16, 65535, "16-bit / 65535"),
    "float32": (np.float32, 1, "float in [0, 1] as is"),
}
COLOURS = np.array([(0, 0, 0), (255, 0, 0), (0, 200, 255)], np.uint8)


def snapshot(root):
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def save_image(folder, stem, pixels):
    """8-bit grey or RGB as PNG, every other image as TIFF with its channels (samples) last."""
    if pixels.dtype == np.uint8 and pixels.shape[-1] in (1, 3):
        path = folder / f"{stem}.png"
        skimage.io.imsave(path, pixels[..., 0] if pixels.shape[-1] == 1 else pixels, check_contrast=False)
    else:
        path = folder / f"{stem}.tif"
        samples = dict(photometric="rgb" if pixels.shape[-1] == 3 else "minisblack", planarconfig="contig")
        tifffile.imwrite(path, pixels if pixels.shape[-1] > 1 else pixels[..., 0], **samples)
    return path


def camera_image(rng, ids, channels, pixel_type, n_classes):
    """Brighter where the class id is larger; each channel dimmer than the next (so colour stays colour)."""
    kind, one, _ = PIXEL_TYPES[pixel_type]
    base = (2 * ids + 1 + rng.random(ids.shape)) / (2 * n_classes + 1)
    scaled = np.stack([base * (0.5 + 0.5 * (c + 1) / channels) for c in range(channels)], axis=-1) * one
    return scaled.astype(kind) if kind != np.float32 else scaled.astype(np.float32)


def write_folder(root, sizes, new_sizes, channels, n_classes, seed, *, pixel_type="8-bit", masks="ids", ending=""):
    """images/, masks/ and new/ under root. ``masks``: "ids" (0/255 for 2 classes, else 0..K-1), "0/1",
    "colours" (one colour per class) or "objects" (instance labels of the structure); each mask named ``<image name><ending>.png``. Return {stem: stored pixels}."""
    rng = np.random.default_rng(seed)
    for folder in ("images", "masks", "new"):
        (root / folder).mkdir(parents=True)
    stored = {}
    for index, (height, width) in enumerate(sizes):
        ids = (rng.random((height, width)) * n_classes).astype(np.uint8)
        ids[0, 0], ids[-1, -1] = 0, n_classes - 1  # every class in every mask
        stored[str(index)] = camera_image(rng, ids, channels, pixel_type, n_classes)
        save_image(root / "images", str(index), stored[str(index)])
        if masks == "colours":
            mask = COLOURS[ids]
        elif masks == "objects":  # one id per connected region: instance labels, read as foreground = id > 0
            mask = skimage.measure.label(ids > 0, connectivity=2).astype(np.uint16)
        else:
            mask = np.where(ids > 0, 1 if masks == "0/1" else 255, 0) if n_classes == 2 else ids
        mask = mask if mask.dtype == np.uint16 else mask.astype(np.uint8)
        skimage.io.imsave(root / "masks" / f"{index}{ending}.png", mask, check_contrast=False)
    for index, size in enumerate(new_sizes):
        save_image(
            root / "new",
            f"new{index}",
            camera_image(rng, rng.integers(0, n_classes, size), channels, pixel_type, n_classes),
        )
    return stored


@settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking would retrain for minutes
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
@given(
    size=st.tuples(SIDES, SIDES),
    mixed=st.lists(st.tuples(SIDES, SIDES), min_size=4, max_size=4) | st.none(),
    new_sizes=st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40)), min_size=1, max_size=2),
    channels=st.integers(1, 4),
    pixel_type=st.sampled_from(sorted(PIXEL_TYPES)),
    masks=st.sampled_from(["ids", "0/1", "colours", "objects"]),
    n_classes=st.sampled_from([2, 3]),
    ending=st.sampled_from(["", "_mask", "_labels", "-seg"]),
)
def test_notebook_08_calls_work_for_any_folder(size, mixed, new_sizes, channels, pixel_type, masks, n_classes, ending):
    sizes = mixed or [size] * 4
    n_classes = {"colours": 3, "objects": 2}.get(masks, n_classes)
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        stored = write_folder(
            root / "data",
            sizes,
            new_sizes,
            channels,
            n_classes,
            sum(size),
            pixel_type=pixel_type,
            masks=masks,
            ending=ending,
        )
        before = snapshot(root / "data")
        notebook = run_as_notebook_08(
            root / "data", root, n_poolings=N_POOLINGS, crop=CROP, filters=4, tile=32, mask_kind="auto"
        )  # larger new images go tile by tile
        report, loaded, seen, scores, folder = (
            notebook.report,
            notebook.loaded,
            notebook.seen,
            notebook.scores,
            notebook.folder,
        )
        assert report.ok, report.summary()
        assert report.rescaling == PIXEL_TYPES[pixel_type][2] and report.image_channels == channels
        assert report.n_classes == n_classes and loaded.sizes == sizes
        assert report.mask_kind == {"colours": "colours", "objects": "instances"}.get(masks, report.mask_kind)
        step, one = 2**N_POOLINGS, PIXEL_TYPES[pixel_type][1]
        for index, (height, width) in enumerate(sizes):  # each padded at its own size, never to the largest
            image = loaded.images[index]
            assert image.shape == tuple(-(-max(side, CROP) // step) * step for side in (height, width)) + (channels,)
            np.testing.assert_allclose(image[:height, :width], stored[str(index)] / np.float32(one), rtol=1e-6)
            truth = loaded.masks[index][:height, :width, 0]
            assert set(np.unique(truth)) == set(range(n_classes))  # 0/1 for binary masks, ids for classes
        # the test image's own pixels are scored, the padding is not
        assert seen == np.prod(sizes[-1])
        assert 0 <= np.mean(scores["dice"]) <= 1
        for index, shape in enumerate(new_sizes):
            written = skimage.io.imread(folder / f"new{index}.png")
            assert written.shape == shape and written.dtype == np.uint8
            assert set(np.unique(written)) <= ({0, 255} if n_classes == 2 else set(range(n_classes)))
        assert snapshot(root / "data") == before


def test_padding_is_not_annotated_and_the_folders_ignore_value_is_kept(tmp_path):
    write_folder(tmp_path, [(17, 33), (17, 33)], [], channels=1, n_classes=2, seed=0)
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", n_poolings=2, crop_size=20)
    loaded = own_data.load_checked(report)
    assert loaded.images.shape == (2, 20, 36, 1) and loaded.sizes == [(17, 33), (17, 33)]
    assert loaded.ignore_value == own_data.PADDING
    assert (loaded.masks[:, 17:] == own_data.PADDING).all() and (loaded.masks[:, :, 33:] == own_data.PADDING).all()
    assert set(np.unique(loaded.masks[:, :17, :33])) == {0, 1}
    np.testing.assert_array_equal(loaded.images[0, 17], loaded.images[0, 16])  # mirrored, not zeros
    _, weights = pipeline.ignore_weights(loaded.masks, loaded.ignore_value)
    assert weights.sum() == 2 * 17 * 33  # the loss sees the images' own pixels only


def test_a_folder_that_needs_no_padding_has_no_ignore_value(tmp_path):
    write_folder(tmp_path, [(32, 48), (32, 48)], [], channels=1, n_classes=2, seed=0)
    loaded = own_data.load_checked(
        own_data.check_folder(tmp_path / "images", tmp_path / "masks", n_poolings=4, crop_size=32)
    )
    assert loaded.images.shape == (2, 32, 48, 1) and loaded.ignore_value is None


@pytest.mark.parametrize("shape", [(1, 1), (1, 37), (17, 16), (33, 2)])
def test_predict_padded_and_tiled_give_the_images_size(shape):
    image = np.random.default_rng(0).random(shape + (1,)).astype(np.float32)
    assert inference.predict_padded(lambda batch: batch, image, n_poolings=4).shape == shape + (1,)
    np.testing.assert_allclose(
        inference.predict_tiled(lambda batch: batch, image, tile=16, overlap=4), image, rtol=1e-6
    )


def test_a_folder_of_mixed_sizes_loads_each_image_at_its_own_size(tmp_path):
    write_folder(tmp_path, [(20, 20), (40, 20), (20, 20)], [], channels=1, n_classes=2, seed=0)
    loaded = own_data.load_checked(
        own_data.check_folder(tmp_path / "images", tmp_path / "masks", n_poolings=2, crop_size=16)
    )
    assert isinstance(loaded.images, list) and loaded.sizes == [(20, 20), (40, 20), (20, 20)]
    assert [image.shape for image in loaded.images] == [(20, 20, 1), (40, 20, 1), (20, 20, 1)]  # no padding needed
    assert [mask.shape for mask in loaded.masks] == [(20, 20, 1), (40, 20, 1), (20, 20, 1)]
    # 24 x 24 crops of the 40 x 20 image alone: wider than the smallest image side (20), so refused
    with pytest.raises(ValueError, match="at most 20"):
        pipeline.training_batches(loaded.images, loaded.masks, crop_size=24)


def test_crops_from_images_of_different_sizes_are_pieces_of_them():
    images = [np.full((h, w, 1), value, np.float32) for value, (h, w) in enumerate([(8, 9), (17, 8), (8, 8)])]
    masks = [image * 10 for image in images]
    crops, labels = next(iter(pipeline.training_batches(images, masks, crop_size=8, batch_size=12, augment=False)))
    np.testing.assert_array_equal(labels.numpy(), crops.numpy() * 10)  # each mask crop is its image's
    assert {float(crop[0, 0, 0]) for crop in crops.numpy()} == {0, 1, 2}  # every image is drawn from
    for crop in crops.numpy():
        assert len(np.unique(crop)) == 1  # one crop, one image


def test_validation_of_mixed_sizes_goes_image_by_image():
    images = [np.zeros((8, 12, 2), np.float32), np.ones((16, 8, 2), np.float32)]
    masks = [np.zeros((8, 12, 1)), np.full((16, 8, 1), 255.0)]
    batches = list(pipeline.validation_data(images, masks, ignore_value=255))
    assert [batch[0].shape for batch in batches] == [(1, 8, 12, 2), (1, 16, 8, 2)]
    assert float(batches[1][2].numpy().sum()) == 0  # all not annotated: weight 0
    same = pipeline.validation_data(images[:1] * 2, masks[:1] * 2)
    assert isinstance(same, tuple) and same[0].shape == (2, 8, 12, 2)


def test_class_pictures_and_step_timing_take_images_of_different_sizes():
    import keras
    import matplotlib

    from helpers import models, plotting, training

    matplotlib.use("Agg")
    images = [np.zeros((8, 12, 1), np.float32), np.ones((16, 8, 1), np.float32)]
    masks = [np.zeros((8, 12, 1), np.float32), np.ones((16, 8, 1), np.float32)]
    figure = plotting.show_label_overlays(images, [m[..., 0] for m in masks], class_names=["a", "b"], show=False)
    assert len(figure.axes) >= 4  # two rows: image and classes
    model = models.build_unet(input_shape=(None, None, 1), filters=2, n_poolings=2, n_classes=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    batches = pipeline.training_batches(images, masks, crop_size=8, batch_size=2)
    validation = pipeline.validation_data(images, masks)
    timing = training.measure_step_seconds(model, batches, loss="binary_crossentropy", validation_data=validation)
    assert timing.seconds_per_validation > 0
