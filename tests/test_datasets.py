"""Tests for helpers.datasets: bundled and real sets by mode, and the training / validation / test splits."""

import numpy as np
import pytest
import tifffile
from support import make_pair_folders, snapshot, write_png, write_tif  # noqa: F401

from helpers import course, datasets, imageio

# --- natural order and splits -------------------------------------------------------------


def test_natural_sorted():
    names = ["img10", "img2", "img1", "Img3", "a", "10", "9"]
    assert imageio.natural_sorted(names) == ["9", "10", "a", "img1", "img2", "Img3", "img10"]


@pytest.mark.parametrize("n, n_validation, n_test", [(10, 2, 3), (30, 5, 5), (3, 1, 1), (5, 0, 0), (7, 0, 2)])
def test_split_indices_is_a_partition(n, n_validation, n_test):
    train, validation, test = datasets.split_indices(n, n_validation, n_test, seed=3)
    assert (len(train), len(validation), len(test)) == (n - n_validation - n_test, n_validation, n_test)
    everything = np.concatenate([train, validation, test])
    assert sorted(everything.tolist()) == list(range(n))  # disjoint and complete
    for part in (train, validation, test):
        assert np.issubdtype(part.dtype, np.integer)
        assert list(part) == sorted(part)


def test_split_indices_depends_only_on_the_seed():
    first = datasets.split_indices(30, 5, 5, seed=1)
    again = datasets.split_indices(30, 5, 5, seed=1)
    other = datasets.split_indices(30, 5, 5, seed=2)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    assert not np.array_equal(first[2], np.arange(25, 30))  # shuffled, not the last five


@pytest.mark.parametrize("n, n_validation, n_test", [(5, 3, 2), (5, 5, 0), (4, 2, 3), (0, 0, 0)])
def test_split_indices_needs_training_images(n, n_validation, n_test):
    with pytest.raises(ValueError, match="leaves no image for training"):
        datasets.split_indices(n, n_validation, n_test)


def test_split_indices_refuses_negative_counts():
    with pytest.raises(ValueError, match="negative"):
        datasets.split_indices(10, -1, 2)


def test_split_consecutive_keeps_stack_neighbours_together():
    train, validation, test = datasets.split_consecutive(20, 3, 4)
    assert train.tolist() == list(range(13))
    assert validation.tolist() == [13, 14, 15]
    assert test.tolist() == [16, 17, 18, 19]
    with pytest.raises(ValueError, match="leaves no image for training"):
        datasets.split_consecutive(7, 3, 4)
    with pytest.raises(ValueError, match="negative"):
        datasets.split_consecutive(10, 2, -1)


def test_split_images_dispatches_and_refuses_unknown_choices():
    for part, expected in zip(datasets.split_images(20, 3, 4, "in stack order"), datasets.split_consecutive(20, 3, 4)):
        assert part.tolist() == expected.tolist()
    for part, expected in zip(
        datasets.split_images(20, 3, 4, "at random", seed=5), datasets.split_indices(20, 3, 4, seed=5)
    ):
        assert part.tolist() == expected.tolist()
    with pytest.raises(ValueError, match="how must be one of"):
        datasets.split_images(20, 3, 4, "shuffled")


# --- bundled membranes and modes ----------------------------------------------------------


def test_bundled_membranes_reads_data_membranes(tmp_path, monkeypatch):
    make_pair_folders(tmp_path / "data" / "membranes", ["1", "2"])
    monkeypatch.setattr(datasets, "course_root", lambda: tmp_path)
    pairs = datasets.bundled_membranes()
    assert pairs.names == ["1", "2"]
    assert pairs.source == "bundled synthetic membranes (data/membranes)"
    smoke = datasets.load_membranes("smoke")
    np.testing.assert_array_equal(smoke.images, pairs.images)
    np.testing.assert_array_equal(smoke.masks, pairs.masks)


def test_load_membranes_unknown_mode():
    with pytest.raises(ValueError, match="'fast'.*default, smoke"):
        datasets.load_membranes("fast")


def test_the_bundled_membranes_load():
    pairs = datasets.load_membranes("smoke")
    assert pairs.source == "bundled synthetic membranes (data/membranes)"
    assert len(pairs.names) == len(pairs.images) == len(pairs.masks) >= 4
    assert pairs.images.shape[:3] == pairs.masks.shape[:3] and pairs.masks.shape[-1] == 1
    assert 0 <= pairs.images.min() < pairs.images.max() <= 1
    assert set(np.unique(pairs.masks).tolist()) == {0.0, 1.0}
    assert 0.02 < pairs.masks.mean() < 0.5  # membranes are the thin minority class


def test_the_bundled_mitochondria_are_a_small_foreground_that_a_threshold_cannot_find():
    pairs = datasets.bundled_mitochondria()
    assert pairs.source == "bundled synthetic mitochondria (data/mitochondria)"
    assert pairs.images.shape == (24, 128, 128, 1) and pairs.masks.shape == (24, 128, 128, 1)
    assert set(np.unique(pairs.masks).tolist()) == {0.0, 1.0}
    assert 0.03 < pairs.masks.mean() < 0.07  # about 5%, as the real VNC mitochondria
    truth = pairs.masks > 0.5
    best_dice = max(
        2 * (truth & (pairs.images < t)).sum() / (truth.sum() + (pairs.images < t).sum())
        for t in np.linspace(0.05, 0.95, 19)
    )
    assert best_dice < 0.5  # dark membranes and vesicles fool a plain threshold


def test_the_bundled_sets_are_what_the_committed_script_draws():
    from skimage import io

    from helpers.synthetic import membrane_section, mitochondria_section

    for name, draw in [("membranes", membrane_section), ("mitochondria", mitochondria_section)]:
        with pytest.raises(ValueError, match="at least 32 pixels"):
            draw(seed=5, size=16)
        image, mask = draw(seed=5, size=128)
        folder = course.course_root() / "data" / name
        np.testing.assert_array_equal(io.imread(folder / "images" / "05.png"), image)
        np.testing.assert_array_equal(io.imread(folder / "masks" / "05.png"), mask)


def _data_script(name):
    """Import one of the data/make_*.py scripts as a module (without running its main)."""
    import importlib.util

    path = course.course_root() / "data" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bundled_nuclei_volumes_and_kidney_are_what_their_scripts_draw():
    from skimage import io

    from helpers.synthetic import kidney_section

    folder = course.course_root() / "data"
    nuclei = _data_script("make_nuclei")
    image, labels = nuclei.nucleus_picture(nuclei.SEED + 3)
    np.testing.assert_array_equal(io.imread(folder / "nuclei" / "images" / "03.png"), image)
    np.testing.assert_array_equal(io.imread(folder / "nuclei" / "labels" / "03.png"), labels)
    volumes = _data_script("make_volumes")
    volume, mask = volumes.cell_volume(volumes.SEED + 2)
    np.testing.assert_array_equal(tifffile.imread(folder / "volumes" / "images" / "02.tif"), volume)
    np.testing.assert_array_equal(tifffile.imread(folder / "volumes" / "masks" / "02.tif"), mask)
    kidney = _data_script("make_kidney_data")
    image, labels = kidney_section(seed=1000 + 5, size=kidney.SIZE)
    np.testing.assert_array_equal(io.imread(folder / "kidney" / "images" / "05.png"), image)
    np.testing.assert_array_equal(io.imread(folder / "kidney" / "labels" / "05.png"), labels)


def test_write_example_stacks_writes_each_volume_and_mask_as_a_stack_with_its_spacing(tmp_path, capsys):
    bundled = datasets.load_volumes("smoke")
    images, masks = datasets.write_example_stacks(bundled, tmp_path / "example")
    for name, volume, mask in zip(bundled.names, bundled.volumes, bundled.masks):
        pixels, spacing = imageio.read_stack(images / f"{name}.tif")
        np.testing.assert_array_equal(pixels, np.round(volume * 255).astype(np.uint8))  # (Z, Y, X, 2), as stored
        labels, _ = imageio.read_stack(masks / f"{name}.tif")
        np.testing.assert_array_equal(labels, mask.astype(np.uint8))
        assert spacing == bundled.spacing == (4.0, 1.0, 1.0)
    before = snapshot(tmp_path / "example")
    assert datasets.write_example_stacks(bundled, tmp_path / "example") == (images, masks)
    assert "used as it is" in capsys.readouterr().out and snapshot(tmp_path / "example") == before
