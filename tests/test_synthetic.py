"""The generated EM-like sections and the bundled copies of them in data/membranes."""

import numpy as np
import pytest
from skimage import io

from helpers.course import course_root
from helpers.synthetic import membrane_section


def test_same_seed_same_section_other_seed_other_section():
    image, mask = membrane_section(seed=5, size=64)
    again_image, again_mask = membrane_section(seed=5, size=64)
    other_image, _ = membrane_section(seed=6, size=64)
    np.testing.assert_array_equal(image, again_image)
    np.testing.assert_array_equal(mask, again_mask)
    assert not np.array_equal(image, other_image)


def test_section_is_a_grey_uint8_image_with_a_0_255_mask():
    image, mask = membrane_section(seed=0, size=96)
    assert image.shape == mask.shape == (96, 96)
    assert image.dtype == mask.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255}


def test_membranes_cover_about_a_fifth_like_isbi_and_are_darker():
    image, mask = membrane_section(seed=1, size=128)
    membrane = mask == 255
    # ISBI 2012: about 22% of pixels are membrane
    assert 0.12 < membrane.mean() < 0.3
    assert image[membrane].mean() < image[~membrane].mean() - 40


def test_a_plain_threshold_cannot_find_the_membranes():
    # dark organelles inside the cells are not membrane: the best global threshold still errs
    image, mask = membrane_section(seed=2, size=128)
    best_iou = max(((image < t) & (mask == 255)).sum() / ((image < t) | (mask == 255)).sum() for t in range(20, 200, 5))
    assert best_iou < 0.8


def test_too_small_size_is_refused():
    with pytest.raises(ValueError, match="at least 32"):
        membrane_section(seed=0, size=16)


def test_bundled_pngs_are_what_the_generator_makes():
    folder = course_root() / "data" / "membranes"
    names = sorted(p.name for p in (folder / "images").glob("*.png"))
    assert len(names) == 24
    for number in (0, 23):
        image, mask = membrane_section(seed=number, size=128)
        np.testing.assert_array_equal(io.imread(folder / "masks" / f"{number:02d}.png"), mask)
        stored = io.imread(folder / "images" / f"{number:02d}.png").astype(int)
        assert np.abs(stored - image).max() <= 1  # a grey level of tolerance across library versions


def test_write_numbered_pairs_writes_png_and_tiff_over_old_files(tmp_path):
    import tifffile

    from helpers.synthetic import write_numbered_pairs

    first = np.full((4, 5), 7, np.uint8)
    pairs = [(first, first * 0), (first + 1, first * 0 + 1)]
    (tmp_path / "png" / "images").mkdir(parents=True)
    (tmp_path / "png" / "images" / "00.png").write_bytes(b"old")
    write_numbered_pairs(tmp_path / "png", pairs)
    assert sorted(p.name for p in (tmp_path / "png" / "masks").iterdir()) == ["00.png", "01.png"]
    np.testing.assert_array_equal(io.imread(tmp_path / "png" / "images" / "00.png"), first)
    np.testing.assert_array_equal(io.imread(tmp_path / "png" / "masks" / "01.png"), first * 0 + 1)
    volume = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_numbered_pairs(tmp_path / "tif", [(volume, volume)], subfolders=("images", "labels"), suffix=".tif")
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "tif" / "labels" / "00.tif"), volume)
    with pytest.raises(ValueError, match="suffix must be"):
        write_numbered_pairs(tmp_path, pairs, suffix=".jpg")


def test_scribbles_label_a_few_percent_on_the_right_side_reproducibly():
    from helpers import datasets
    from helpers.synthetic import make_scribbles

    mask = datasets.bundled_membranes().masks[0]
    scribbles = make_scribbles(mask, 0.04, seed=1)
    labelled = scribbles != 255
    assert scribbles.shape == mask.shape and 0.03 <= labelled.mean() <= 0.05
    assert np.all(mask[scribbles == 1] == 1) and np.all(mask[scribbles == 0] == 0)  # strokes on their class
    assert abs(np.mean(scribbles == 1) - np.mean(scribbles == 0)) < 0.01  # about half and half
    np.testing.assert_array_equal(scribbles, make_scribbles(mask, 0.04, seed=1))
    assert not np.array_equal(scribbles, make_scribbles(mask, 0.04, seed=2))
