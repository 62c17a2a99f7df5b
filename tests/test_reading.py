"""The reader's bad-input catalogue: images, binary masks and folders of pairs, each mistake with its message."""

import numpy as np
import pytest
from PIL import Image
from support import make_pair_folders, snapshot, write_png, write_tif  # noqa: F401

from helpers import imageio

# --- load_image ---------------------------------------------------------------------------


def test_load_image_grey_uint8_is_scaled_by_255(tmp_path):
    pixels = np.array([[0, 51, 255], [102, 204, 1]], np.uint8)
    image = imageio.read_image(write_png(tmp_path / "a.png", pixels))
    assert image.dtype == np.float32
    assert image.shape == (2, 3, 1)
    np.testing.assert_allclose(image[..., 0], [[0, 0.2, 1], [0.4, 0.8, 1 / 255]], rtol=1e-6)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_load_image_uint16_is_scaled_by_65535(tmp_path, suffix):
    pixels = np.array([[0, 13107], [65535, 32768]], np.uint16)
    path = tmp_path / f"a{suffix}"
    if suffix == ".png":
        write_png(path, pixels)
    else:
        write_tif(path, pixels)
    image = imageio.read_image(path)
    assert image.shape == (2, 2, 1)
    np.testing.assert_allclose(image[..., 0], [[0, 0.2], [1, 32768 / 65535]], rtol=1e-6)


def test_load_image_rgba_drops_alpha(tmp_path):
    pixels = np.zeros((2, 2, 4), np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2], pixels[..., 3] = 255, 51, 0, 7
    image = imageio.read_image(write_png(tmp_path / "a.png", pixels))
    assert image.shape == (2, 2, 3)
    np.testing.assert_allclose(image[0, 0], [1, 0.2, 0], rtol=1e-6)


def test_load_image_grey_with_alpha_keeps_one_channel(tmp_path):
    pixels = np.stack([np.full((2, 2), 102, np.uint8), np.full((2, 2), 9, np.uint8)], axis=-1)
    image = imageio.read_image(write_png(tmp_path / "a.png", pixels))
    assert image.shape == (2, 2, 1)
    np.testing.assert_allclose(image, 0.4, rtol=1e-6)


def test_load_image_float_tiff_in_unit_range(tmp_path):
    pixels = np.array([[0.0, 0.25], [0.5, 1.0]], np.float32)
    image = imageio.read_image(write_tif(tmp_path / "a.tif", pixels))
    np.testing.assert_array_equal(image[..., 0], pixels)


def test_load_image_corrupt_file_names_file_and_fix(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"this is not a png")
    with pytest.raises(ValueError, match="broken.png") as error:
        imageio.read_image(path)
    assert "save it again" in str(error.value)


def test_load_image_truncated_file(tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
    good = write_png(tmp_path / "good.png", noise)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ValueError, match="cut.png"):
        imageio.read_image(cut)


def test_load_image_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.png"):
        imageio.read_image(tmp_path / "nothere.png")


def test_load_image_stack_is_refused(tmp_path):
    path = write_tif(tmp_path / "stack.tif", np.zeros((6, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="stack.tif") as error:
        imageio.read_image(path)
    assert "one file per slice" in str(error.value)


# --- load_mask ----------------------------------------------------------------------------


@pytest.mark.parametrize("foreground", [1, 255])
def test_load_mask_accepts_0_1_and_0_255(tmp_path, foreground):
    pixels = np.array([[0, foreground], [foreground, 0]], np.uint8)
    mask = imageio.read_binary_mask(write_png(tmp_path / "m.png", pixels))
    assert mask.dtype == np.float32
    assert mask.shape == (2, 2, 1)
    np.testing.assert_array_equal(mask[..., 0], [[0, 1], [1, 0]])


@pytest.mark.parametrize("value, expected", [(0, 0.0), (1, 1.0), (255, 1.0)])
def test_load_mask_single_value(tmp_path, value, expected):
    mask = imageio.read_binary_mask(write_png(tmp_path / "m.png", np.full((3, 3), value, np.uint8)))
    np.testing.assert_array_equal(mask, np.full((3, 3, 1), expected))


def test_load_mask_invert(tmp_path):
    path = write_png(tmp_path / "m.png", np.array([[0, 255, 255]], np.uint8))
    np.testing.assert_array_equal(imageio.read_binary_mask(path, invert=True)[..., 0], [[1, 0, 0]])


def test_load_mask_tiff_0_1(tmp_path):
    path = write_tif(tmp_path / "m.tif", np.array([[1, 0], [0, 0]], np.uint8))
    np.testing.assert_array_equal(imageio.read_binary_mask(path)[..., 0], [[1, 0], [0, 0]])


def test_load_mask_grey_rgb_is_accepted(tmp_path):
    pixels = np.repeat(np.array([[0, 255]], np.uint8)[..., None], 3, axis=-1)
    mask = imageio.read_binary_mask(write_png(tmp_path / "m.png", pixels))
    np.testing.assert_array_equal(mask[..., 0], [[0, 1]])


def test_load_mask_colour_is_refused(tmp_path):
    pixels = np.zeros((2, 2, 3), np.uint8)
    pixels[0, 0] = [255, 0, 0]
    with pytest.raises(ValueError, match="colour.png") as error:
        imageio.read_binary_mask(write_png(tmp_path / "colour.png", pixels))
    assert "0 for background and 255 (or 1) for foreground" in str(error.value)


def test_load_mask_label_image_names_values_and_fix(tmp_path):
    pixels = np.array([[0, 1, 2], [3, 3, 0]], np.uint8)
    with pytest.raises(ValueError, match="labels.png") as error:
        imageio.read_binary_mask(write_png(tmp_path / "labels.png", pixels))
    message = str(error.value)
    assert "0, 1, 2, 3" in message
    assert "0 for background and 255 (or 1) for foreground" in message
    assert "multi-class notebook" in message


def test_load_mask_lists_only_a_few_values(tmp_path):
    pixels = np.arange(0, 200, 10, dtype=np.uint8).reshape(4, 5)
    with pytest.raises(ValueError, match=r"20 different values \(0, 10, 20, 30, 40, 50, \.\.\.\)"):
        imageio.read_binary_mask(write_png(tmp_path / "m.png", pixels))


def test_load_mask_1_and_255_mixed_is_refused(tmp_path):
    with pytest.raises(ValueError, match="1, 255"):
        imageio.read_binary_mask(write_png(tmp_path / "m.png", np.array([[0, 1, 255]], np.uint8)))


def test_load_mask_jpeg_gets_a_hint(tmp_path):
    pixels = np.zeros((16, 16), np.uint8)
    pixels[4:9, 3:11] = 255
    path = tmp_path / "m.jpg"
    Image.fromarray(pixels).save(path, quality=50)
    with pytest.raises(ValueError, match="save masks as PNG or TIFF"):
        imageio.read_binary_mask(path)


# --- load_pairs ---------------------------------------------------------------------------


def test_load_pairs_pairs_by_name_in_natural_order(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["10", "2", "1"])
    pairs = imageio.load_pairs(image_folder, mask_folder)
    assert isinstance(pairs, imageio.SegmentationSet)
    assert pairs.names == ["1", "2", "10"]
    assert pairs.images.shape == (3, 4, 5, 1) and pairs.images.dtype == np.float32
    assert pairs.masks.shape == (3, 4, 5, 1) and pairs.masks.dtype == np.float32
    np.testing.assert_allclose(pairs.images[:, 0, 0, 0], np.array([1, 2, 10]) / 255, rtol=1e-6)
    np.testing.assert_array_equal(pairs.masks[:, 0, :, 0], 1)
    np.testing.assert_array_equal(pairs.masks[:, 1:, :, 0], 0)
    assert str(image_folder) in pairs.source and str(mask_folder) in pairs.source


def test_load_pairs_tif_image_with_png_mask_and_invert(tmp_path):
    write_tif(tmp_path / "img" / "7.tif", np.array([[0, 65535]], np.uint16))
    write_png(tmp_path / "lab" / "7.png", np.array([[255, 0]], np.uint8))
    write_png(tmp_path / "img" / "cell_2.PNG", np.array([[51, 51]], np.uint8))
    write_tif(tmp_path / "lab" / "cell_2.tiff", np.array([[1, 1]], np.uint8))
    pairs = imageio.load_pairs(tmp_path / "img", tmp_path / "lab", invert_masks=True)
    assert pairs.names == ["7", "cell_2"]
    np.testing.assert_allclose(pairs.images[..., 0], [[[0, 1]], [[0.2, 0.2]]], rtol=1e-6)
    np.testing.assert_array_equal(pairs.masks[..., 0], [[[0, 1]], [[0, 0]]])
    assert "inverted" in pairs.source


def test_load_pairs_ignores_other_and_hidden_files(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1", "2"])
    (image_folder / "notes.txt").write_text("not an image")
    (image_folder / "._1.png").write_bytes(b"macOS resource fork, not a png")
    (mask_folder / "Thumbs.db").write_bytes(b"\x00")
    (image_folder / "sub").mkdir()
    assert imageio.load_pairs(image_folder, mask_folder).names == ["1", "2"]


def test_load_pairs_never_changes_the_folders(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["3", "1", "2"])
    before = snapshot(tmp_path)
    imageio.load_pairs(image_folder, mask_folder, invert_masks=True)
    assert snapshot(tmp_path) == before


def test_load_pairs_error_leaves_folder_unchanged(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1", "2"])
    write_png(mask_folder / "2.png", np.array([[0, 7]], np.uint8))
    before = snapshot(tmp_path)
    with pytest.raises(ValueError):
        imageio.load_pairs(image_folder, mask_folder)
    assert snapshot(tmp_path) == before


def test_load_pairs_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere") as error:
        imageio.load_pairs(tmp_path / "nowhere", tmp_path / "masks")
    assert "does not exist" in str(error.value) and "Check the path" in str(error.value)


def test_load_pairs_mask_folder_is_a_file(tmp_path):
    image_folder, _ = make_pair_folders(tmp_path, ["1"])
    (tmp_path / "masks.zip").write_bytes(b"zip")
    with pytest.raises(FileNotFoundError, match="is a file, not a folder"):
        imageio.load_pairs(image_folder, tmp_path / "masks.zip")


def test_load_pairs_empty_folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(FileNotFoundError, match="No image files") as error:
        imageio.load_pairs(tmp_path / "images", tmp_path / "masks")
    assert str(tmp_path / "images") in str(error.value) and ".png" in str(error.value)


def test_load_pairs_folder_without_image_files_says_what_is_there(tmp_path):
    _, mask_folder = make_pair_folders(tmp_path, ["1"])
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "scan.czi").write_bytes(b"\x00")
    with pytest.raises(FileNotFoundError, match="scan.czi"):
        imageio.load_pairs(tmp_path / "raw", mask_folder)


def test_load_pairs_lists_every_unpaired_file(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1", "2"])
    write_png(image_folder / "5.png", np.zeros((4, 5), np.uint8))
    write_png(image_folder / "6.tif", np.zeros((4, 5), np.uint8))
    write_png(mask_folder / "5_mask.png", np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError) as error:
        imageio.load_pairs(image_folder, mask_folder)
    message = str(error.value)
    assert "images without a mask" in message and "5.png, 6.tif" in message
    assert "masks without an image" in message and "5_mask.png" in message
    assert "same file name" in message


def test_load_pairs_size_mismatch_gives_both_sizes(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1", "2"], size=(4, 5))
    write_png(mask_folder / "2.png", np.zeros((4, 6), np.uint8))
    with pytest.raises(ValueError) as error:
        imageio.load_pairs(image_folder, mask_folder)
    message = str(error.value)
    assert str(image_folder / "2.png") in message and str(mask_folder / "2.png") in message
    assert "5x4" in message and "6x4" in message
    assert "same size" in message


def test_load_pairs_non_binary_mask_names_file(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1", "2"])
    write_png(mask_folder / "2.png", np.full((4, 5), 128, np.uint8))
    with pytest.raises(ValueError, match="2.png") as error:
        imageio.load_pairs(image_folder, mask_folder)
    assert "128" in str(error.value) and "0 for background" in str(error.value)


def test_load_pairs_unreadable_image_names_file(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1", "2"])
    (image_folder / "2.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(ValueError, match="2.png") as error:
        imageio.load_pairs(image_folder, mask_folder)
    assert "save it again" in str(error.value)


def test_load_pairs_images_of_different_sizes(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1", "2"], size=(4, 5))
    write_png(image_folder / "3.png", np.zeros((8, 8), np.uint8))
    write_png(mask_folder / "3.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError) as error:
        imageio.load_pairs(image_folder, mask_folder)
    message = str(error.value)
    assert "5x4" in message and "1.png, 2.png" in message
    assert "8x8" in message and "3.png" in message
    assert "tile" in message and "Crop" in message


def test_load_pairs_grey_and_colour_mixed(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1", "2"])
    write_png(image_folder / "2.png", np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(ValueError, match="grey: 1.png.*colour: 2.png"):
        imageio.load_pairs(image_folder, mask_folder)


def test_load_pairs_two_files_with_one_name(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1"])
    write_tif(image_folder / "1.tif", np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError, match="1.png and 1.tif"):
        imageio.load_pairs(image_folder, mask_folder)


def test_load_pairs_same_folder_twice(tmp_path):
    image_folder, _ = make_pair_folders(tmp_path, ["1"])
    with pytest.raises(ValueError, match="same folder"):
        imageio.load_pairs(image_folder, image_folder)


# --- writing without overwriting ----------------------------------------------------------


def test_write_text_file_never_overwrites(tmp_path):
    path = imageio.write_text_file(tmp_path, "methods.md", "text")
    again = imageio.write_text_file(tmp_path, "methods.md", "other")
    assert path.read_text() == "text\n" and again.name == "methods-2.md" and again.read_text() == "other\n"


def test_new_folder_never_reuses_an_existing_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.png").write_bytes(b"user file")
    assert imageio.new_folder(tmp_path / "out") == tmp_path / "out-2"
    assert imageio.new_folder(tmp_path / "out") == tmp_path / "out-3"
    assert (tmp_path / "out" / "mine.png").read_bytes() == b"user file"
