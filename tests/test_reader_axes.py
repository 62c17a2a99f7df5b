"""The reader knows axes (issue 20, items 2 and 3): generated files of 1-4 channels, 8/12/16-bit and float
pixels, ImageJ and OME metadata, planar and interleaved samples, z-stacks, EXIF orientations, CMYK and masks
drawn in an alpha layer. Each file is written here and what is read back is compared with what was written
(after the rescaling rule), or with Pillow's own reading of the same file."""

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageOps

from helpers import imageio

FAST = settings(
    max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

#: (dtype, largest value drawn, the rule the folder gets) for each kind of pixel.
KINDS = {
    "8-bit": (np.uint8, 255, "8-bit / 255"),
    "12-bit in 16": (np.uint16, 4095, "12-bit in 16 bits / 4095"),
    "16-bit": (np.uint16, 65535, "16-bit / 65535"),
    "float in [0, 1]": (np.float32, 1, "float in [0, 1] as is"),
}


@st.composite
def channel_images(draw):
    """An (H, W, C) image of 1-4 channels, and its kind of pixel."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    dtype, top, _ = KINDS[kind]
    shape = (draw(st.integers(2, 6)), draw(st.integers(2, 6)), draw(st.integers(1, 4)))
    values = st.floats(0, 1, width=32) if dtype == np.float32 else st.integers(0, top)
    pixels = draw(hnp.arrays(dtype, shape, elements=values))
    if kind == "16-bit":
        pixels[0, 0, 0] = top  # full-range content: one value above 4095
    return pixels, kind


def write_tiff(path, pixels, layout):
    """Write (H, W, C) pixels as a TIFF of one layout: interleaved or planar samples, ImageJ or OME channels."""
    channels = pixels.shape[-1]
    if channels == 1 and layout in ("interleaved", "planar"):
        tifffile.imwrite(path, pixels[..., 0])
    elif layout in ("imagej", "ome"):
        data, axes = (pixels[..., 0], "YX") if channels == 1 else (np.moveaxis(pixels, -1, 0), "CYX")
        tifffile.imwrite(path, data, **{layout: True}, metadata={"axes": axes})
    else:
        data = pixels if layout == "interleaved" else np.moveaxis(pixels, -1, 0)
        planes = "contig" if layout == "interleaved" else "separate"
        extra = ["unspecified"] * (channels - 1)  # the file marks no channel as alpha
        tifffile.imwrite(path, data, photometric="minisblack", planarconfig=planes, extrasamples=extra)
    return path


@FAST
@given(image=channel_images(), layout=st.sampled_from(["interleaved", "planar", "imagej", "ome"]))
def test_tiff_keeps_every_channel_and_its_values(tmp_path, image, layout):
    pixels, kind = image
    path = write_tiff(tmp_path / f"{layout}.tif", pixels, layout)
    rule, reason = imageio.folder_rescaling([path])
    assert rule == KINDS[kind][2] and rule in reason
    expected = pixels.astype(np.float32) / np.float32(imageio.RULE_DIVISORS[rule])
    np.testing.assert_array_equal(imageio.read_image(path, rescaling=rule), expected)
    np.testing.assert_array_equal(imageio.read_image(path), expected)  # the image's own rule agrees here
    header = imageio.image_header(path)
    assert header.dtype == pixels.dtype and sorted(header.shape) == sorted(s for s in pixels.shape if s > 1)


@FAST
@given(
    slices=st.integers(2, 4),
    channels=st.integers(1, 3),
    spacing=st.tuples(*[st.sampled_from([0.1, 0.25, 0.5, 2.0])] * 3),
    metadata=st.sampled_from(["imagej", "ome", "pages"]),
)
def test_stack_is_never_read_as_colour(tmp_path, slices, channels, spacing, metadata):
    """A 2-4 slice z-stack (with or without channels) is refused by read_image and read whole by read_stack."""
    stack = np.random.default_rng(slices).integers(0, 255, (slices, channels, 4, 5), dtype=np.uint8)  # Z, C, Y, X
    path, data = tmp_path / "stack.tif", stack if channels > 1 else stack[:, 0]
    axes = "ZCYX" if channels > 1 else "ZYX"
    if metadata == "imagej":
        tifffile.imwrite(
            path, data, imagej=True, metadata={"axes": axes, "spacing": spacing[0], "unit": "um"},
            resolution=(1 / spacing[2], 1 / spacing[1]),
        )  # fmt: skip
    elif metadata == "ome":
        sizes = {f"PhysicalSize{axis}": value for axis, value in zip("ZYX", spacing)}
        tifffile.imwrite(path, data, ome=True, metadata={"axes": axes, **sizes})
    else:  # pages, no metadata naming the axis: read as slices (the documented rule)
        tifffile.imwrite(path, stack.reshape(-1, 4, 5), photometric="minisblack")
        stack = stack.reshape(-1, 1, 4, 5)
    for read in (imageio.read_image, imageio.read_mask):
        with pytest.raises(ValueError) as error:
            read(path)
        assert "stack.tif" in str(error.value) and "notebook 06" in str(error.value)
    pixels, read_spacing = imageio.read_stack(path)
    np.testing.assert_array_equal(pixels, stack.transpose(0, 2, 3, 1))
    if metadata == "pages":
        assert read_spacing is None
    else:
        np.testing.assert_allclose(read_spacing, spacing, rtol=1e-6)


@FAST
@given(
    orientation=st.integers(1, 8),
    mode=st.sampled_from(["L", "I;16", "RGB", "LA", "RGBA"]),
    suffix=st.sampled_from([".png", ".jpg"]),
    seed=st.integers(0, 9),
)
def test_exif_orientation_is_applied_to_images_and_masks(tmp_path, orientation, mode, suffix, seed):
    """Compared with Pillow's exif_transpose of the same file (JPEG: the same decoded values)."""
    if suffix == ".jpg" and mode not in ("L", "RGB"):
        mode = "L"  # JPEG holds neither 16-bit nor alpha
    bands, dtype = len(Image.new(mode, (1, 1)).getbands()), np.uint16 if mode == "I;16" else np.uint8
    shape = (3, 5) if bands == 1 else (3, 5, bands)
    pixels = np.random.default_rng(seed).integers(0, 200, shape).astype(dtype)
    path = tmp_path / f"photo{suffix}"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, exif=exif)  # Pillow picks the mode from the shape and dtype
    with Image.open(path) as picture:
        upright = np.asarray(ImageOps.exif_transpose(picture))
    np.testing.assert_array_equal(imageio.read_pixels(path), upright)
    assert imageio.image_header(path).shape == upright.shape
    image = imageio.read_image(path)
    assert image.shape[:2] == upright.shape[:2] and image.shape[-1] == max(bands, 1)
    if bands == 1:
        np.testing.assert_array_equal(imageio.read_mask(path), upright)


def test_tiff_orientation_tag_is_applied(tmp_path):
    pixels = np.arange(6, dtype=np.uint8).reshape(2, 3)
    path = tmp_path / "turned.tif"
    tifffile.imwrite(path, pixels, extratags=[(274, "H", 1, 6, True)])  # 6: turn 90 degrees clockwise
    np.testing.assert_array_equal(imageio.read_pixels(path), np.rot90(pixels, -1))
    assert imageio.image_header(path).shape == (3, 2)


@FAST
@given(ink=hnp.arrays(np.uint8, (3, 4, 4)), suffix=st.sampled_from([".jpg", ".tif"]))
def test_cmyk_is_converted_to_rgb_as_pillow_does(tmp_path, ink, suffix):
    path = tmp_path / f"cmyk{suffix}"
    if suffix == ".jpg":
        Image.fromarray(ink, "CMYK").save(path, quality=95)
        with Image.open(path) as picture:
            expected = np.asarray(picture.convert("RGB"))
    else:
        tifffile.imwrite(path, ink, photometric="separated")
        expected = np.asarray(Image.fromarray(ink, "CMYK").convert("RGB"))
    image = imageio.read_image(path)
    assert image.shape == (3, 4, 3)
    np.testing.assert_allclose(image * 255, expected, atol=1.01)  # Pillow rounds in integers
    white = np.zeros((2, 2, 4), np.uint8)  # no ink: white, not black (an inverted reader gives black)
    Image.fromarray(white, "CMYK").save(tmp_path / f"white{suffix}") if suffix == ".jpg" else tifffile.imwrite(
        tmp_path / f"white{suffix}", white, photometric="separated"
    )
    np.testing.assert_allclose(imageio.read_image(tmp_path / f"white{suffix}"), 1.0, atol=2 / 255)


@FAST
@given(
    drawn=hnp.arrays(np.bool_, (4, 5)),
    colour=st.tuples(*[st.integers(0, 255)] * 3),
    background=st.sampled_from(["same colour", "black"]),
    grey=st.booleans(),
)
def test_mask_drawn_in_an_alpha_layer_is_read_from_the_alpha(tmp_path, drawn, colour, background, grey):
    alpha = np.where(drawn, 255, 0).astype(np.uint8)
    paint = np.broadcast_to(np.array(colour[:1] if grey else colour, np.uint8), (4, 5, 1 if grey else 3)).copy()
    if background == "black":
        paint[~drawn] = 0  # painting programs often store transparent pixels as black
    pixels = np.concatenate([paint, alpha[..., np.newaxis]], axis=-1)
    path = tmp_path / "mask.png"
    Image.fromarray(pixels, "LA" if grey else "RGBA").save(path)
    if drawn.all():  # fully opaque: the alpha says nothing, the colour is the mask
        np.testing.assert_array_equal(imageio.read_mask(path), paint[..., 0] if grey else paint)
    else:
        np.testing.assert_array_equal(imageio.read_mask(path), alpha)
        np.testing.assert_array_equal(imageio.read_binary_mask(path)[..., 0], drawn)


def test_colour_mask_with_transparency_keeps_its_colours(tmp_path):
    pixels = np.zeros((2, 3, 4), np.uint8)
    pixels[0, 0], pixels[1, 1] = (255, 0, 0, 255), (0, 255, 0, 255)  # two classes, transparent elsewhere
    Image.fromarray(pixels, "RGBA").save(tmp_path / "classes.png")
    np.testing.assert_array_equal(imageio.read_mask(tmp_path / "classes.png"), pixels[..., :3])
