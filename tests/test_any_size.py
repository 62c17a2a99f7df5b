"""Every 2-D size through notebook 08's calls: check, load, train with validation, score, predict a folder.

Sizes are drawn by hypothesis: odd, prime, one pixel over a multiple of 2**n_poolings, smaller than the
crop, and folders of mixed sizes. Each predicted mask has its image's size, the padding is never scored,
and the input folders are byte-identical afterwards.
"""

import tempfile
from pathlib import Path

import numpy as np
import pytest
import skimage.io
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support import run_as_notebook_08

from helpers import inference, own_data, pipeline

N_POOLINGS, CROP = 2, 32
SIDES = st.integers(17, 70)


def snapshot(root):
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def write_folder(root, sizes, new_sizes, channels, n_classes, seed):
    """Images brighter where the mask has a structure; masks 0/255 (binary) or class ids 0..K-1."""
    rng = np.random.default_rng(seed)
    for folder in ("images", "masks", "new"):
        (root / folder).mkdir(parents=True)
    for index, (height, width) in enumerate(sizes):
        ids = (rng.random((height, width)) * n_classes).astype(np.uint8)
        ids[0, 0], ids[-1, -1] = 0, n_classes - 1  # every class in every mask
        image = 40 + 80 * ids + rng.integers(0, 30, ids.shape)
        image = np.repeat(image[..., np.newaxis], channels, axis=-1) if channels > 1 else image
        skimage.io.imsave(root / "images" / f"{index}.png", image.astype(np.uint8), check_contrast=False)
        mask = np.where(ids > 0, 255, 0) if n_classes == 2 else ids
        skimage.io.imsave(root / "masks" / f"{index}.png", mask.astype(np.uint8), check_contrast=False)
    for index, size in enumerate(new_sizes):
        shape = size + ((channels,) if channels > 1 else ())
        skimage.io.imsave(root / "new" / f"new{index}.png", rng.integers(0, 255, shape, np.uint8), check_contrast=False)


@settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking would retrain for minutes
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
@given(
    size=st.tuples(SIDES, SIDES),
    mixed=st.lists(st.tuples(SIDES, SIDES), min_size=4, max_size=4) | st.none(),
    new_sizes=st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40)), min_size=1, max_size=2),
    channels=st.sampled_from([1, 3]),
    n_classes=st.sampled_from([2, 3]),
)
def test_notebook_08_calls_work_for_any_size(size, mixed, new_sizes, channels, n_classes):
    sizes = mixed or [size] * 4
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        write_folder(root / "data", sizes, new_sizes, channels, n_classes, seed=sum(size))
        before = snapshot(root / "data")
        notebook = run_as_notebook_08(
            root / "data", root, n_poolings=N_POOLINGS, crop=CROP, filters=4, tile=32, mask_kind="auto"
        )  # larger new images go tile by tile
        assert notebook.report.ok, notebook.report.summary()
        loaded, seen, scores, folder = notebook.loaded, notebook.seen, notebook.scores, notebook.folder
        assert loaded.sizes == sizes
        step = 2**N_POOLINGS
        for image, (height, width) in zip(loaded.images, sizes):  # each padded at its own size, never to the largest
            assert image.shape[:2] == tuple(-(-max(side, CROP) // step) * step for side in (height, width))
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
