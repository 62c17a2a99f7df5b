"""The one reader: each kind of file written here by hand and compared with hand-computed arrays, and its
bad-input catalogue (images, masks and folders of pairs, each mistake with its message)."""

import errno
import os
import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFile
from support import make_pair_folders, snapshot, write_png, write_tif

from helpers import imageio


def write_palette_png(path, indices, colours):
    """A mode "P" PNG: ``indices`` (H, W) uint8, ``colours`` a list of (r, g, b)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(np.asarray(indices, np.uint8), mode="P")
    picture.putpalette([value for colour in colours for value in colour])
    picture.save(path)
    return path


# --- read_image: the rescale policy ------------------------------------------------------------


def test_8bit_is_divided_by_255(tmp_path):
    image = imageio.read_image(write_png(tmp_path / "a.png", np.array([[0, 51], [255, 102]], np.uint8)))
    assert image.dtype == np.float32 and image.shape == (2, 2, 1)
    np.testing.assert_allclose(image[..., 0], [[0, 0.2], [1, 0.4]], rtol=1e-6)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_12bit_data_in_16bit_file_is_divided_by_4095(tmp_path, suffix):
    pixels = np.array([[0, 819], [4095, 2457]], np.uint16)  # every value < 4096
    path = tmp_path / f"camera{suffix}"
    (write_png if suffix == ".png" else write_tif)(path, pixels)
    image = imageio.read_image(path)
    np.testing.assert_allclose(image[..., 0], [[0, 0.2], [1, 0.6]], rtol=1e-6)
    assert imageio.scaling_rule(imageio.read_pixels(path)) == "12-bit in 16 bits / 4095"


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_beyond_12bit_is_divided_by_65535(tmp_path, suffix):
    pixels = np.array([[0, 13107], [65535, 4096]], np.uint16)
    path = tmp_path / f"a{suffix}"
    image = imageio.read_image((write_png if suffix == ".png" else write_tif)(path, pixels))
    np.testing.assert_allclose(image[..., 0], [[0, 0.2], [1, 4096 / 65535]], rtol=1e-6)


def test_float_tiff_in_unit_range_is_kept(tmp_path):
    pixels = np.array([[0.0, 0.25], [0.5, 1.0]], np.float32)
    np.testing.assert_array_equal(imageio.read_image(write_tif(tmp_path / "a.tif", pixels))[..., 0], pixels)


def test_float_tiff_outside_unit_range_is_stretched_min_to_max(tmp_path):
    pixels = np.array([[-10.0, 0.0], [30.0, 90.0]], np.float32)
    image = imageio.read_image(write_tif(tmp_path / "a.tif", pixels))
    np.testing.assert_allclose(image[..., 0], [[0, 0.1], [0.4, 1]], rtol=1e-6)
    assert imageio.scaling_rule(pixels) == "own minimum to maximum"


def test_float_tiff_with_nan_is_refused(tmp_path):
    path = write_tif(tmp_path / "nan.tif", np.array([[0.0, np.nan]], np.float32))
    with pytest.raises(ValueError, match="nan.tif.*NaN"):
        imageio.read_image(path)


def test_bool_is_0_and_1(tmp_path):
    pixels = np.array([[True, False], [False, True]])
    image = imageio.read_image(write_png(tmp_path / "b.png", pixels))
    np.testing.assert_array_equal(image[..., 0], [[1, 0], [0, 1]])


@pytest.mark.parametrize("opacity, channels", [(255, 3), (7, 4)])
def test_rgba_png_drops_only_an_opaque_alpha(tmp_path, opacity, channels):
    pixels = np.zeros((2, 2, 4), np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2], pixels[..., 3] = 255, 51, 0, opacity
    image = imageio.read_image(write_png(tmp_path / "a.png", pixels))
    assert image.shape == (2, 2, channels)
    np.testing.assert_allclose(image[1, 1], [1, 0.2, 0, opacity / 255][:channels], rtol=1e-6)


@pytest.mark.parametrize("opacity, channels", [(255, 1), (9, 2)])
def test_grey_with_alpha_drops_only_an_opaque_alpha(tmp_path, opacity, channels):
    pixels = np.stack([np.full((2, 2), 102, np.uint8), np.full((2, 2), opacity, np.uint8)], axis=-1)
    image = imageio.read_image(write_png(tmp_path / "a.png", pixels))
    assert image.shape == (2, 2, channels)
    np.testing.assert_allclose(image[..., 0], 0.4, rtol=1e-6)


def test_grey_rgb_file_stays_three_channels(tmp_path):
    image = imageio.read_image(write_png(tmp_path / "a.png", np.full((2, 2, 3), 51, np.uint8)))
    assert image.shape == (2, 2, 3)
    np.testing.assert_allclose(imageio.as_channels(image, 1), 0.2, rtol=1e-6)


def test_colour_palette_png_gives_its_colours(tmp_path):
    indices = np.array([[0, 1], [2, 1]], np.uint8)
    path = write_palette_png(tmp_path / "p.png", indices, [(0, 0, 0), (255, 0, 0), (0, 51, 255)])
    image = imageio.read_image(path)
    expected = np.array([[[0, 0, 0], [1, 0, 0]], [[0, 0.2, 1], [1, 0, 0]]], np.float32)
    np.testing.assert_allclose(image, expected, rtol=1e-6)


def test_grey_palette_png_gives_one_grey_channel(tmp_path):
    indices = np.array([[0, 1], [1, 0]], np.uint8)
    path = write_palette_png(tmp_path / "p.png", indices, [(0, 0, 0), (51, 51, 51), (255, 0, 0)])
    image = imageio.read_image(path)  # index 2 (red) is in the palette but not used
    assert image.shape == (2, 2, 1)
    np.testing.assert_allclose(image[..., 0], [[0, 0.2], [0.2, 0]], rtol=1e-6)


def test_stack_is_refused_with_the_fix(tmp_path):
    path = write_tif(tmp_path / "stack.tif", np.zeros((6, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="stack.tif") as error:
        imageio.read_image(path)
    assert "one file per slice" in str(error.value)


@pytest.mark.parametrize("slices", [3, 4])
@pytest.mark.parametrize("saved_by", ["Fiji", "pages"])
def test_3_or_4_slice_stack_is_not_read_as_colour(tmp_path, slices, saved_by):
    stack = np.arange(slices * 6, dtype=np.uint8).reshape(slices, 2, 3)
    path = tmp_path / "z.tif"
    if saved_by == "Fiji":
        tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "ZYX"})
    else:
        tifffile.imwrite(path, stack, photometric="minisblack")  # pages, no axis named: slices
    with pytest.raises(ValueError) as error:
        imageio.read_image(path)
    assert "z.tif" in str(error.value) and "notebook 06" in str(error.value)
    assert imageio.image_header(path).axes == "ZYX"


def test_2_and_4_channel_tiffs_keep_every_channel(tmp_path):
    two = np.arange(12, dtype=np.uint16).reshape(2, 2, 3) * 1000  # C, Y, X as Fiji saves a composite
    tifffile.imwrite(tmp_path / "two.tif", two, imagej=True, metadata={"axes": "CYX"})
    np.testing.assert_allclose(imageio.read_image(tmp_path / "two.tif"), two.transpose(1, 2, 0) / 65535, rtol=1e-6)
    four = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)  # tifffile marks the 4th sample as alpha; not opaque
    tifffile.imwrite(tmp_path / "four.tif", four)
    np.testing.assert_allclose(imageio.read_image(tmp_path / "four.tif"), four / 255, rtol=1e-6)
    opaque = four.copy()
    opaque[..., 3] = 255
    tifffile.imwrite(tmp_path / "rgba.tif", opaque)
    np.testing.assert_allclose(imageio.read_image(tmp_path / "rgba.tif"), opaque[..., :3] / 255, rtol=1e-6)


@pytest.mark.parametrize("content, words", [(b"this is not a png", "save it again"), (b"", "0 bytes")])
def test_unreadable_and_empty_files_name_the_file_and_the_fix(tmp_path, content, words):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="broken.png") as error:
        imageio.read_image(path)
    assert words in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.png"):
        imageio.read_image(tmp_path / "nothere.png")


def test_truncated_file_names_the_file(tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
    good = write_png(tmp_path / "good.png", noise)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ValueError, match="cut.png"):
        imageio.read_image(cut)


def test_as_channels(tmp_path):
    grey = np.array([[[0.5]]], np.float32)
    np.testing.assert_array_equal(imageio.as_channels(grey, 3), [[[0.5, 0.5, 0.5]]])
    np.testing.assert_allclose(imageio.as_channels(np.array([[[0.3, 0.6, 0.9]]]), 1), [[[0.6]]])
    with pytest.raises(ValueError, match="Channels Tool"):
        imageio.as_channels(grey, 2)


# --- read_mask: values as stored -----------------------------------------------------------------


def test_binary_palette_png_keeps_its_indices(tmp_path):
    indices = np.array([[0, 1, 1], [0, 0, 1]], np.uint8)
    path = write_palette_png(tmp_path / "m.png", indices, [(0, 0, 0), (255, 255, 0)])
    np.testing.assert_array_equal(imageio.read_mask(path), indices)
    np.testing.assert_array_equal(imageio.read_binary_mask(path)[..., 0], indices)
    np.testing.assert_array_equal(imageio.read_palette(path), [[0, 0, 0], [255, 255, 0]])


def test_four_class_palette_png_keeps_its_indices(tmp_path):
    indices = np.array([[0, 1, 2, 3], [3, 2, 1, 0]], np.uint8)
    colours = [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]  # PASCAL VOC's first four
    path = write_palette_png(tmp_path / "m.png", indices, colours)
    mask = imageio.read_mask(path)
    assert mask.shape == (2, 4) and mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, indices)


def test_16bit_class_ids_are_read_as_stored(tmp_path):
    ids = np.array([[0, 1, 300], [65535, 2, 0]], np.uint16)
    for name in ("ids.png", "ids.tif"):
        path = (write_png if name.endswith("png") else write_tif)(tmp_path / name, ids)
        mask = imageio.read_mask(path)
        assert mask.dtype == np.uint16
        np.testing.assert_array_equal(mask, ids)


def test_colour_coded_mask_is_read_as_rgb_with_alpha_dropped(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0, :3], rgba[1, 1, :3], rgba[..., 3] = (255, 0, 0), (0, 0, 255), 255
    mask = imageio.read_mask(write_png(tmp_path / "c.png", rgba))
    expected = np.zeros((2, 2, 3), np.uint8)
    expected[0, 0], expected[1, 1] = (255, 0, 0), (0, 0, 255)
    np.testing.assert_array_equal(mask, expected)
    assert not imageio.is_grey_rgb(mask) and imageio.is_grey_rgb(np.zeros((2, 2, 3)))


def test_one_bit_mask_is_0_and_1(tmp_path):
    pixels = np.array([[True, False, True]])
    mask = imageio.read_mask(write_png(tmp_path / "b.png", pixels))
    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, [[1, 0, 1]])


# --- read_binary_mask ------------------------------------------------------------------------------


@pytest.mark.parametrize("top, dtype", [(1, np.uint8), (255, np.uint8), (65535, np.uint16)])
def test_binary_mask_values(tmp_path, top, dtype):
    path = write_tif(tmp_path / "m.tif", np.array([[0, top, top]], dtype))
    np.testing.assert_array_equal(imageio.read_binary_mask(path)[..., 0], [[0, 1, 1]])
    np.testing.assert_array_equal(imageio.read_binary_mask(path, invert=True)[..., 0], [[1, 0, 0]])
    assert imageio.read_binary_mask(path).shape == (1, 3, 1)


def test_binary_mask_refuses_ids_and_colours(tmp_path):
    with pytest.raises(ValueError, match=r"labels.png.*3 different values \(0, 1, 2\)"):
        imageio.read_binary_mask(write_png(tmp_path / "labels.png", np.array([[0, 1, 2]], np.uint8)))
    colour = np.zeros((1, 2, 3), np.uint8)
    colour[0, 0] = (255, 0, 0)
    with pytest.raises(ValueError, match="colour.png.*red, green and blue differ"):
        imageio.read_binary_mask(write_png(tmp_path / "colour.png", colour))
    grey_rgb = np.repeat(np.array([[0, 255]], np.uint8)[..., None], 3, axis=-1)
    np.testing.assert_array_equal(imageio.read_binary_mask(write_png(tmp_path / "g.png", grey_rgb))[..., 0], [[0, 1]])


@pytest.mark.parametrize("foreground", [1, 255])
def test_binary_mask_png_accepts_0_1_and_0_255(tmp_path, foreground):
    pixels = np.array([[0, foreground], [foreground, 0]], np.uint8)
    mask = imageio.read_binary_mask(write_png(tmp_path / "m.png", pixels))
    assert mask.dtype == np.float32
    assert mask.shape == (2, 2, 1)
    np.testing.assert_array_equal(mask[..., 0], [[0, 1], [1, 0]])


@pytest.mark.parametrize("value, expected", [(0, 0.0), (1, 1.0), (255, 1.0)])
def test_binary_mask_of_a_single_value(tmp_path, value, expected):
    mask = imageio.read_binary_mask(write_png(tmp_path / "m.png", np.full((3, 3), value, np.uint8)))
    np.testing.assert_array_equal(mask, np.full((3, 3, 1), expected))


def test_binary_mask_colour_is_refused_with_the_fix(tmp_path):
    pixels = np.zeros((2, 2, 3), np.uint8)
    pixels[0, 0] = [255, 0, 0]
    with pytest.raises(ValueError, match="colour.png") as error:
        imageio.read_binary_mask(write_png(tmp_path / "colour.png", pixels))
    assert "0 for background" in str(error.value)


def test_binary_mask_label_image_names_values_and_fix(tmp_path):
    pixels = np.array([[0, 1, 2], [3, 3, 0]], np.uint8)
    with pytest.raises(ValueError, match="labels.png") as error:
        imageio.read_binary_mask(write_png(tmp_path / "labels.png", pixels))
    message = str(error.value)
    assert "0, 1, 2, 3" in message
    assert "0 for background" in message
    assert "multi-class notebook" in message


def test_binary_mask_lists_only_a_few_values(tmp_path):
    pixels = np.arange(0, 200, 10, dtype=np.uint8).reshape(4, 5)
    with pytest.raises(ValueError, match=r"20 different values \(0, 10, 20, 30, 40, 50, \.\.\.\)"):
        imageio.read_binary_mask(write_png(tmp_path / "m.png", pixels))


def test_binary_mask_1_and_255_mixed_is_refused(tmp_path):
    with pytest.raises(ValueError, match="1, 255"):
        imageio.read_binary_mask(write_png(tmp_path / "m.png", np.array([[0, 1, 255]], np.uint8)))


def test_binary_mask_jpeg_gets_a_hint(tmp_path):
    pixels = np.zeros((16, 16), np.uint8)
    pixels[4:9, 3:11] = 255
    path = tmp_path / "m.jpg"
    Image.fromarray(pixels).save(path, quality=50)
    with pytest.raises(ValueError, match="save masks as PNG or TIFF"):
        imageio.read_binary_mask(path)


# --- listing and pairing, load_pairs -----------------------------------------------------------------


def test_natural_sorted():
    assert imageio.natural_sorted(["10", "2", "1", "b", "A"]) == ["1", "2", "10", "A", "b"]


def test_listing_and_pairing_by_stem(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1", "2", "10"])
    write_tif(image_folder / "3.tif", np.zeros((4, 5), np.uint8))
    write_tif(mask_folder / "10.tif", np.zeros((4, 5), np.uint8))
    (image_folder / ".DS_Store").write_bytes(b"\0")
    (image_folder / "notes.txt").write_text("x")
    (image_folder / "more").mkdir()
    images = imageio.list_image_files(image_folder, "image")
    masks = imageio.list_image_files(mask_folder, "mask")
    assert sorted(images.by_stem) == ["1", "10", "2", "3"]
    assert {p.name: reason for p, reason in images.skipped} == {
        ".DS_Store": "hidden or system file",
        "notes.txt": "not an image file",
        "more": "sub-folder",
    }
    pairing = imageio.pair_files(images, masks)
    assert [(n, i.name, m.name) for n, i, m in pairing.pairs] == [("1", "1.png", "1.png"), ("2", "2.png", "2.png")]
    assert pairing.images_without_mask == ["3"] and pairing.masks_without_image == []
    assert list(pairing.double_masks) == ["10"] and pairing.double_images == {}


def test_load_pairs_reads_images_and_binary_masks(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["10", "2"])
    pairs = imageio.load_pairs(image_folder, mask_folder)
    assert pairs.names == ["2", "10"]
    np.testing.assert_allclose(pairs.images[:, 0, 0, 0], [2 / 255, 10 / 255], rtol=1e-6)
    expected = np.zeros((4, 5), np.float32)
    expected[0] = 1
    np.testing.assert_array_equal(pairs.masks[1, ..., 0], expected)
    inverted = imageio.load_pairs(image_folder, mask_folder, invert_masks=True)
    np.testing.assert_array_equal(inverted.masks[1, ..., 0], 1 - expected)
    assert "inverted" in inverted.source


@pytest.mark.parametrize(
    "spoil, error, words",
    [
        (lambda i, m: write_png(i / "5.png", np.zeros((4, 5), np.uint8)), ValueError, "images without a mask"),
        (lambda i, m: write_png(m / "5_mask.png", np.zeros((4, 5), np.uint8)), ValueError, "5_mask.png"),
        (lambda i, m: write_tif(i / "1.tif", np.zeros((4, 5), np.uint8)), ValueError, "1.png and 1.tif"),
        (
            lambda i, m: write_png(m / "2.png", np.full((4, 5), 128, np.uint8)),
            ValueError,
            "2.png.*128.*0 for background",
        ),
        (lambda i, m: write_png(m / "2.png", np.zeros((4, 6), np.uint8)), ValueError, "same size"),
        (lambda i, m: write_png(i / "2.png", np.zeros((4, 5, 3), np.uint8)), ValueError, "grey: 1.png.*colour: 2.png"),
        (lambda i, m: (i / "2.png").write_bytes(b"\x89PNG broken"), ValueError, "2.png.*save it again"),
    ],
)
def test_load_pairs_is_strict_and_leaves_the_folders_unchanged(tmp_path, spoil, error, words):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1", "2"])
    spoil(image_folder, mask_folder)
    before = snapshot(tmp_path)
    with pytest.raises(error, match=words):
        imageio.load_pairs(image_folder, mask_folder)
    assert snapshot(tmp_path) == before


def test_load_pairs_folder_errors(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        imageio.load_pairs(tmp_path / "nowhere", mask_folder)
    (tmp_path / "masks.zip").write_bytes(b"zip")
    with pytest.raises(FileNotFoundError, match="is a file, not a folder"):
        imageio.load_pairs(image_folder, tmp_path / "masks.zip")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "scan.czi").write_bytes(b"\0")
    with pytest.raises(FileNotFoundError, match="No image files.*scan.czi"):
        imageio.load_pairs(tmp_path / "raw", mask_folder)
    with pytest.raises(ValueError, match="same folder"):
        imageio.load_pairs(image_folder, image_folder)


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


def test_load_pairs_empty_folder(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(FileNotFoundError, match="No image files") as error:
        imageio.load_pairs(tmp_path / "images", tmp_path / "masks")
    assert str(tmp_path / "images") in str(error.value) and ".png" in str(error.value)


def test_load_pairs_lists_every_unpaired_file(tmp_path):
    image_folder, mask_folder = make_pair_folders(tmp_path, ["1", "2"])
    write_png(image_folder / "5.png", np.zeros((4, 5), np.uint8))
    write_png(image_folder / "6.tif", np.zeros((4, 5), np.uint8))
    write_png(mask_folder / "7_mask.png", np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError) as error:
        imageio.load_pairs(image_folder, mask_folder)
    message = str(error.value)
    assert "images without a mask" in message and "5.png, 6.tif" in message
    assert "masks without an image" in message and "7_mask.png" in message
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


def test_bundled_sets_load_through_load_pairs():
    from helpers.course import course_root

    for name in ("membranes", "mitochondria"):
        folder = course_root() / "data" / name
        pairs = imageio.load_pairs(folder / "images", folder / "masks")
        assert pairs.images.dtype == np.float32 and 0 <= pairs.images.min() and pairs.images.max() <= 1
        assert set(np.unique(pairs.masks).tolist()) == {0.0, 1.0}
        assert len(pairs.names) == len(list((folder / "images").glob("*.png")))


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


@pytest.mark.parametrize(
    "code, fix",
    [
        (errno.ENOSPC, "free space"),
        (errno.EDQUOT, "free space"),
        (errno.EROFS, "folder you can write to"),
        (errno.EACCES, "folder you can write to"),
        (errno.EPERM, "folder you can write to"),
    ],
)
@pytest.mark.parametrize("fault_in", ["write", "rename"])
def test_disk_fault_names_the_folder_and_the_fix_and_leaves_no_file(tmp_path, monkeypatch, code, fix, fault_in):
    def write(partial):
        partial.write_bytes(b"half a mask")  # the partial file exists when the fault comes
        if fault_in == "write":
            raise OSError(code, os.strerror(code))

    if fault_in == "rename":
        monkeypatch.setattr(imageio.os, "replace", lambda *_: (_ for _ in ()).throw(OSError(code, "no")))
    with pytest.raises(imageio.DiskWriteError) as error:
        imageio.write_atomically(tmp_path / "mask.png", write)
    assert str(tmp_path) in str(error.value) and fix in str(error.value) and "results folder" in str(error.value)
    assert isinstance(error.value, OSError) and error.value.errno == code
    assert list(tmp_path.iterdir()) == []  # neither the final nor the partial file


def test_write_atomically_replaces_in_one_step_and_other_errors_pass(tmp_path):
    path = imageio.write_atomically(tmp_path / "state.json", lambda partial: partial.write_text("new"))
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["state.json"]

    def crash(partial):
        partial.write_text("half")
        raise KeyboardInterrupt  # a kill in the middle: the old file stays whole

    with pytest.raises(KeyboardInterrupt):
        imageio.write_atomically(path, crash)
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_write_atomically_keeps_the_ending_for_writers_that_need_it(tmp_path):
    path = imageio.write_atomically(tmp_path / "mask.png", lambda p: Image.fromarray(np.eye(3, dtype=np.uint8)).save(p))
    np.testing.assert_array_equal(imageio.read_mask(path), np.eye(3))


# --- headers, stacks and the folder's rescaling rule ----------------------------------------------


def test_image_header_reads_no_pixels(tmp_path, monkeypatch):
    write_png(tmp_path / "a.png", np.zeros((5, 7, 3), np.uint8))
    tifffile.imwrite(tmp_path / "b.tif", np.zeros((2, 3, 5, 7), np.uint16), imagej=True, metadata={"axes": "ZCYX"})
    tifffile.imwrite(tmp_path / "c.tif", np.zeros((5, 7), np.uint16), bitspersample=12)
    exif = Image.Exif()
    exif[0x0112] = 6  # turned a quarter: 5 wide and 7 high once upright
    Image.fromarray(np.zeros((5, 7), np.uint8)).save(tmp_path / "turned.png", exif=exif)
    monkeypatch.setattr(ImageFile.ImageFile, "load", None)  # reading the pixels would fail
    monkeypatch.setattr(tifffile.TiffPageSeries, "asarray", None)
    assert imageio.image_header(tmp_path / "a.png") == ((5, 7, 3), "YXS", np.uint8, 8)
    assert imageio.image_header(tmp_path / "b.tif") == ((2, 3, 5, 7), "ZCYX", np.uint16, 16)
    assert imageio.image_header(tmp_path / "c.tif") == ((5, 7), "YX", np.uint16, 12)
    assert imageio.image_header(tmp_path / "turned.png").shape == (7, 5)


def test_read_stack_gives_z_y_x_c_and_the_spacing(tmp_path):
    stack = np.arange(3 * 2 * 4 * 5, dtype=np.uint16).reshape(3, 2, 4, 5)  # Z, C, Y, X
    path = tmp_path / "s.tif"
    metadata = {"axes": "ZCYX", "spacing": 0.5, "unit": "um"}
    tifffile.imwrite(path, stack, imagej=True, metadata=metadata, resolution=(1 / 0.25, 1 / 0.2))
    pixels, spacing = imageio.read_stack(path)
    np.testing.assert_array_equal(pixels, stack.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(spacing, (0.5, 0.2, 0.25))
    tifffile.imwrite(tmp_path / "o.ome.tif", stack[:, 0], ome=True, metadata={"axes": "ZYX", "PhysicalSizeZ": 2.0})
    pixels, spacing = imageio.read_stack(tmp_path / "o.ome.tif")
    assert pixels.shape == (3, 4, 5, 1) and spacing == (2.0, None, None)
    pixels, spacing = imageio.read_stack(write_png(tmp_path / "flat.png", np.eye(4, dtype=np.uint8)))
    assert pixels.shape == (1, 4, 4, 1) and spacing is None


@pytest.mark.parametrize(
    "maxima, tags, rule",
    [
        ([4095, 3000], [16, 16], "12-bit in 16 bits / 4095"),  # the folder's maximum decides
        ([4096, 100], [16, 16], "16-bit / 65535"),  # one bright image: 16-bit for all, the dim one too
        ([200, 100], [12, 12], "12-bit in 16 bits / 4095"),  # the files say 12 bits
    ],
)
def test_folder_rescaling_is_one_rule_for_the_folder(tmp_path, maxima, tags, rule):
    paths = []
    for index, (top, bits) in enumerate(zip(maxima, tags)):
        paths.append(tmp_path / f"{index}.tif")
        tifffile.imwrite(paths[-1], np.array([[0, top]], np.uint16), bitspersample=bits)
    found, reason = imageio.folder_rescaling(paths)
    assert found == rule and rule in reason and "2 uint16 images" in reason
    dim = imageio.read_image(paths[1], rescaling=found)
    np.testing.assert_allclose(dim[0, 1, 0], maxima[1] / imageio.RULE_DIVISORS[rule], rtol=1e-6)


def test_folder_rescaling_of_8_bit_and_float_folders(tmp_path):
    eight = [write_png(tmp_path / f"{i}.png", np.full((2, 2), i, np.uint8)) for i in range(2)]
    assert imageio.folder_rescaling(eight)[0] == "8-bit / 255"
    floats = [
        write_tif(tmp_path / f"{i}.tif", np.full((2, 2), i / 2 + top, np.float32)) for i, top in enumerate([0, 3])
    ]
    assert imageio.folder_rescaling(floats[:1])[0] == "float in [0, 1] as is"
    assert imageio.folder_rescaling(floats)[0] == "own minimum to maximum"


def test_folder_rescaling_refuses_mixed_pixel_types(tmp_path):
    paths = [
        write_png(tmp_path / "a.png", np.zeros((2, 2), np.uint8)),
        write_tif(tmp_path / "b.tif", np.zeros((2, 2), np.uint16)),
    ]
    with pytest.raises(ValueError) as error:
        imageio.folder_rescaling(paths)
    assert "a.png" in str(error.value) and "b.tif" in str(error.value) and "Image > Type" in str(error.value)


def test_read_image_applies_the_given_rule_exactly(tmp_path):
    path = write_tif(tmp_path / "bright.tif", np.array([[0, 5000]], np.uint16))
    np.testing.assert_allclose(imageio.read_image(path, rescaling="16-bit / 65535")[0, 1, 0], 5000 / 65535)
    with pytest.raises(ValueError) as error:
        imageio.read_image(path, rescaling="12-bit in 16 bits / 4095")
    assert "bright.tif" in str(error.value) and "folder_rescaling" in str(error.value)
    with pytest.raises(ValueError, match="rescaling must be one of"):
        imageio.read_image(path, rescaling="16 bit")


def test_16_bit_colour_png_is_refused_not_read_as_8_bits(tmp_path):
    """Pillow reads 16-bit RGB PNGs as 8 bits; the file is written here byte by byte (Pillow cannot write one)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + row.tobytes() for row in np.full((2, 3, 3), 40000, ">u2"))
    header = struct.pack(">IIBBBBB", 3, 2, 16, 2, 0, 0, 0)  # 3x2, 16 bits, RGB
    path = tmp_path / "rgb16.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )
    for read in (imageio.read_image, imageio.image_header, imageio.read_mask):
        with pytest.raises(ValueError) as error:
            read(path)
        assert "rgb16.png" in str(error.value) and "TIFF" in str(error.value)
