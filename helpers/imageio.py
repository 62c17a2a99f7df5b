"""The one reader of image and mask files, and the one place where folders are listed and paired.

:func:`read_image` returns float32 ``(height, width, channels)`` in [0, 1], grey as 1 channel and
colour as 3, rescaled by :data:`RESCALE_POLICY`. :func:`read_mask` returns the label values as
stored (palette PNGs give their *indices*, which are the classes); :func:`read_binary_mask` a 0/1
mask. :func:`load_pairs` reads an image folder and a mask folder of the same file names, strictly.
Writers here never overwrite (:func:`new_path`).
"""

import collections
import contextlib
import errno
import os
import re
import unicodedata
from pathlib import Path

import numpy as np

__all__ = [
    "IMAGE_EXTENSIONS",
    "RESCALE_POLICY",
    "RULE_DIVISORS",
    "TWELVE_BIT_LIMIT",
    "SegmentationSet",
    "FolderListing",
    "Pairing",
    "MASK_SUFFIXES",
    "few_names",
    "natural_sorted",
    "file_stem",
    "list_image_files",
    "pair_files",
    "check_not_same_folder",
    "load_pairs",
    "ImageHeader",
    "image_header",
    "read_pixels",
    "read_stack",
    "read_palette",
    "scale_to_unit",
    "scaling_rule",
    "folder_rescaling",
    "read_image",
    "as_channels",
    "read_mask",
    "read_binary_mask",
    "is_grey_rgb",
    "MASK_FIX",
    "new_path",
    "new_folder",
    "DiskWriteError",
    "write_atomically",
    "write_text_file",
]

#: File endings read as images or masks (upper or lower case).
IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg")

#: 16-bit images whose largest value is below this are read as 12-bit data (divided by 4095).
TWELVE_BIT_LIMIT = 4096

#: The rescale policy of :func:`read_image`, in words (print it, or quote it in a methods section).
RESCALE_POLICY = (
    "8-bit values / 255; 16-bit values / 65535, or / 4095 when every value of the image is below 4096 "
    "(12-bit camera data); floats in [0, 1] as they are; other floats and signed or 32-bit integers "
    "from the image's own minimum (0) to maximum (1); 1-bit as 0/1; palette PNGs as their colours "
    "(grey when every colour is grey); alpha channels dropped."
)

#: What each rule of :func:`scaling_rule` that divides by a fixed number divides by (a bioimage.io
#: package's ``scale_linear`` gain is 1 / it); "own minimum to maximum" has no fixed number.
RULE_DIVISORS = {
    "1-bit as 0/1": 1,
    "8-bit / 255": 255,
    "12-bit in 16 bits / 4095": 4095,
    "16-bit / 65535": 65535,
    "float in [0, 1] as is": 1,
}

#: ``images`` (N, H, W, C) and ``masks`` (N, H, W, 1) float32, ``names`` the file stems in natural
#: order, ``source`` where they came from.
SegmentationSet = collections.namedtuple("SegmentationSet", "images masks names source")

#: ``by_stem`` ``{stem: [paths]}`` of image files (several when ``7.png`` and ``7.tif`` share a stem;
#: stems by :func:`file_stem`); ``skipped`` ``[(path, reason)]``, reason "hidden or system file",
#: "broken link", "sub-folder" or "not an image file".
FolderListing = collections.namedtuple("FolderListing", "folder kind by_stem skipped")

#: ``pairs`` ``[(stem, image_path, mask_path)]`` in natural order; ``images_without_mask`` /
#: ``masks_without_image`` stems; ``double_images`` / ``double_masks`` ``{stem: [paths]}`` (not paired);
#: ``by_suffix`` ``{stem: mask path}`` of the pairs made through a :data:`MASK_SUFFIXES` ending.
Pairing = collections.namedtuple(
    "Pairing", "pairs images_without_mask masks_without_image double_images double_masks by_suffix"
)

MASK_FIX = (
    "Save the mask with 0 for background and 255 (or 1) for foreground; "
    "label images with several ids belong in the multi-class notebook."
)

READ_FIX = "Open it in Fiji/ImageJ and save it again as PNG or TIFF, or move it out of the folder."


# --- listing and pairing ---------------------------------------------------------------------


def few_names(names, shown=5):
    """Return the first ``shown`` names joined by commas, then "..." if there are more.

    >>> few_names(["a", "b", "c"], shown=2)
    'a, b, ...'
    """
    names = [str(name) for name in names]
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")


def natural_sorted(texts):
    """Return the texts sorted with numbers in numeric order.

    >>> natural_sorted(["10", "2", "b1", "a"])
    ['2', '10', 'a', 'b1']
    """
    return sorted(texts, key=_natural_key)


def _natural_key(text):
    parts = re.split(r"([0-9]+)", text)
    return [int(part) if index % 2 else part.lower() for index, part in enumerate(parts)], text


#: Names of system files that are skipped like hidden files (besides every name starting with ".").
SYSTEM_FILES = ("thumbs.db", "desktop.ini", "icon\r")

#: Endings of mask names that pair with the image without them (``cell_01_mask.png`` <-> ``cell_01.png``).
MASK_SUFFIXES = tuple(
    separator + word
    for word in ("mask", "masks", "label", "labels", "seg", "gt", "annotation", "cp_masks")
    for separator in ("_", "-", " ", ".")
)


def file_stem(path):
    """Return the name a file pairs by: NFC-normalised, without its ending (``x.ome.tif`` -> ``x``).

    >>> file_stem("cell.ome.tif"), file_stem("7.PNG")
    ('cell', '7')
    """
    stem = unicodedata.normalize("NFC", Path(path).stem)
    return stem[: -len(".ome")] if stem.lower().endswith(".ome") else stem


def list_image_files(folder, kind="image"):
    """List the image files of a folder by stem (a :data:`FolderListing`); say what else is there.

    ``kind`` ("image", "mask") is used in messages. A folder that is missing, a file, or holds no
    image file raises FileNotFoundError saying what it holds instead.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(
            f"The {kind} folder {str(folder)!r} {what}. Check the path (in Colab, mount Google "
            f"Drive first and copy the folder's path from the file browser on the left)."
        )
    by_stem, skipped = collections.defaultdict(list), []
    entries = sorted(folder.iterdir())
    for path in entries:
        if path.name.startswith(".") or path.name.lower() in SYSTEM_FILES:
            skipped.append((path, "hidden or system file"))
        elif not path.exists():
            skipped.append((path, "broken link"))
        elif path.is_dir():
            skipped.append((path, "sub-folder"))
        elif path.suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append((path, "not an image file"))
        else:
            by_stem[file_stem(path)].append(path)
    if not by_stem:
        shown = [p.name for p, reason in skipped if reason != "hidden or system file"]
        others = f" It holds: {', '.join(shown[:5])}." if shown else " It is empty."
        raise FileNotFoundError(
            f"No {kind} files in {str(folder)!r}.{others} Put the {kind}s there as {', '.join(IMAGE_EXTENSIONS)} files."
        )
    return FolderListing(folder, kind, dict(by_stem), skipped)


def _image_stem(mask_stem):
    """Return the stem without a :data:`MASK_SUFFIXES` ending, or None if it has none."""
    ending = next((s for s in sorted(MASK_SUFFIXES, key=len, reverse=True) if mask_stem.lower().endswith(s)), None)
    return mask_stem[: -len(ending)] if ending and len(mask_stem) > len(ending) else None


def pair_files(images, masks):
    """Pair the files of two :func:`list_image_files` listings by stem; return a :data:`Pairing`.

    A mask pairs with the image of its stem, or of its stem without a :data:`MASK_SUFFIXES` ending
    (``cell_01_mask.png`` -> ``cell_01.png``); two masks for one image pair with none.
    """
    candidates = collections.defaultdict(list)  # image stem -> mask paths
    by_suffix, unmatched = {}, []
    for stem, paths in masks.by_stem.items():
        base = stem if stem in images.by_stem else _image_stem(stem)
        if base in images.by_stem:
            candidates[base].extend(paths)
            if base != stem:
                by_suffix[base] = paths[0]
        else:
            unmatched.append(stem)
    double_images = {s: p for s, p in images.by_stem.items() if len(p) > 1}
    double_masks = {s: p for s, p in candidates.items() if len(p) > 1}
    pairs = [
        (stem, images.by_stem[stem][0], candidates[stem][0])
        for stem in natural_sorted(images.by_stem)
        if stem in candidates and stem not in double_images and stem not in double_masks
    ]
    return Pairing(
        pairs,
        natural_sorted(set(images.by_stem) - set(candidates)),
        natural_sorted(unmatched),
        double_images,
        double_masks,
        {stem: path for stem, path in by_suffix.items() if stem not in double_masks},
    )


def check_not_same_folder(image_folder, mask_folder):
    """Raise ValueError when a folder is empty text (or None) or the image and mask folders are one folder.

    Empty text becomes the current folder in ``Path("")``, so ``"."`` counts as empty too.
    """
    for name, folder in (("image_folder (IMAGE_FOLDER)", image_folder), ("mask_folder (MASK_FOLDER)", mask_folder)):
        if folder is None or str(folder).strip() in ("", "."):
            raise ValueError(
                f"{name} is empty ({folder if folder is None else repr(str(folder))}), which would read "
                f"the current folder ({Path.cwd()}). "
                f"Set it to the path of your {name.split('_')[0]} folder, e.g. "
                f"'/content/drive/MyDrive/my-cells/{name.split('_')[0]}s'."
            )
    image_folder, mask_folder = Path(image_folder).expanduser(), Path(mask_folder).expanduser()
    if image_folder.exists() and mask_folder.exists() and image_folder.resolve() == mask_folder.resolve():
        raise ValueError(
            f"image_folder and mask_folder (IMAGE_FOLDER, MASK_FOLDER) are the same folder ({image_folder}). "
            f"Keep the images and the masks in two folders, with the same file names, and set MASK_FOLDER "
            f"to the masks' folder."
        )


def load_pairs(image_folder, mask_folder, *, invert_masks=False):
    """Read every image of a folder with the binary mask of the same name from another folder.

    ``7.png`` in ``image_folder`` pairs with ``7.png``, ``7.tif`` or ``7_mask.png`` ... in
    ``mask_folder`` (:func:`pair_files`); other files are ignored. ``invert_masks`` swaps foreground and background (:func:`read_binary_mask`).
    Returns a :data:`SegmentationSet`. Raises FileNotFoundError for a missing or empty folder, and
    ValueError, naming the files and the fix, when files do not pair up, share a name, cannot be
    read, a mask is not binary, or sizes (or grey/colour) differ.
    """
    check_not_same_folder(image_folder, mask_folder)
    image_folder, mask_folder = Path(image_folder), Path(mask_folder)
    images_listed = list_image_files(image_folder, "image")
    masks_listed = list_image_files(mask_folder, "mask")
    pairing = pair_files(images_listed, masks_listed)
    for kind, doubles in (("image", pairing.double_images), ("mask", pairing.double_masks)):
        if doubles:
            names = "; ".join(" and ".join(p.name for p in paths) for paths in doubles.values())
            raise ValueError(
                f"Several {kind} files have the same name: {names}. Keep one file per name so that "
                f"each image pairs with one mask."
            )
    _raise_unpaired(pairing, images_listed, masks_listed)
    names, image_paths, mask_paths = zip(*pairing.pairs)
    images = [read_image(path) for path in image_paths]
    masks = [read_binary_mask(path, invert=invert_masks) for path in mask_paths]
    _check_mask_sizes(images, masks, image_paths, mask_paths)
    _check_same_size(images, image_paths)
    source = f"images from {image_folder}, masks from {mask_folder}"
    if invert_masks:
        source += " (masks inverted)"
    return SegmentationSet(np.stack(images), np.stack(masks), list(names), source)


def _raise_unpaired(pairing, images, masks):
    if not (pairing.images_without_mask or pairing.masks_without_image):
        return
    problems = []
    if pairing.images_without_mask:
        names = ", ".join(images.by_stem[stem][0].name for stem in pairing.images_without_mask)
        problems.append(f"images without a mask in {str(masks.folder)!r}: {names}")
    if pairing.masks_without_image:
        names = ", ".join(masks.by_stem[stem][0].name for stem in pairing.masks_without_image)
        problems.append(f"masks without an image in {str(images.folder)!r}: {names}")
    raise ValueError(
        f"Images and masks do not pair up: {'; '.join(problems)}. Each image needs a mask with "
        f"the same file name (7.png <-> 7.png, 7.tif or 7_mask.png): rename, add or remove "
        f"those files."
    )


def _check_mask_sizes(images, masks, image_paths, mask_paths):
    wrong = [
        f"image {image_path} is {_size(image)} but mask {mask_path} is {_size(mask)}"
        for image, mask, image_path, mask_path in zip(images, masks, image_paths, mask_paths)
        if image.shape[:2] != mask.shape[:2]
    ]
    if wrong:
        raise ValueError(
            f"Masks must have the same size (width x height) as their images: {'; '.join(wrong)}. "
            f"Export each mask from its own image at full resolution (no scaling or cropping)."
        )


def _check_same_size(images, image_paths):
    by_size = collections.defaultdict(list)
    for image, path in zip(images, image_paths):
        by_size[(_size(image), image.shape[-1])].append(path.name)
    if len(by_size) == 1:
        return
    groups = "; ".join(
        f"{size}, {'grey' if channels == 1 else 'colour'}: {few_names(names)}"
        for (size, channels), names in by_size.items()
    )
    raise ValueError(
        f"The images differ in size or colour ({groups}). Crop or tile them to one size "
        f"(e.g. cut big images into tiles), convert them all to grey or all to colour, or load "
        f"each size from its own folder."
    )


def _size(array):
    return f"{array.shape[1]}x{array.shape[0]}"


# --- reading pixels: what the file says, then the pixels -------------------------------------

#: What a file says before its pixels are read (:func:`image_header`): ``shape`` and ``axes`` in the
#: file's order over Z, C, Y, X, S (S: the samples of one pixel's colour), ``dtype``, and ``bits`` the
#: declared bits per sample (12 for a TIFF tagged 12-bit). Axes of size 1 are left out.
ImageHeader = collections.namedtuple("ImageHeader", "shape axes dtype bits")

#: Pixels in the order (Z, Y, X, C or S), upright, CMYK as RGB; ``alpha`` when the file marks the
#: last sample as transparency.
_Stored = collections.namedtuple("_Stored", "pixels axes header alpha")

_PIL_DTYPES = {"1": "bool", "I;16": "uint16", "I;16B": "uint16", "I;16L": "uint16", "I": "int32", "F": "float32"}


def _open_tiff(path, read):
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series, page = tif.series[0], tif.pages[0]
        marks = (bool({1, 2} & set(page.extrasamples)), page.photometric == 5, page.tags.valueof(274, 1))
        return series.shape, series.axes, series.dtype, page.bitspersample, marks, series.asarray() if read else None


def _open_pil(path, read):
    from PIL import Image

    with Image.open(path) as picture:
        mode, pixels = picture.mode, None
        dtype = np.dtype("uint16" if (picture.format, mode) == ("PNG", "I") else _PIL_DTYPES.get(mode, "uint8"))
        bands = 1 if mode in ("P", "PA") else len(picture.getbands())
        marks = (mode in ("RGBA", "LA"), mode == "CMYK", picture.getexif().get(0x0112, 1))
        if read:
            pixels = np.asarray(picture.convert("P") if mode == "PA" else picture).astype(dtype)
        shape = (picture.height, picture.width, bands)[: 2 + (bands > 1)]
        return shape, "YXS"[: len(shape)], dtype, 1 if dtype.kind == "b" else dtype.itemsize * 8, marks, pixels


def _open(path, read=True):
    """Read a file's header (and its pixels when ``read``) as a :data:`_Stored`; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file {str(path)!r}. Check the path and the file name.")
    if path.stat().st_size == 0:
        raise ValueError(
            f"File {str(path)!r} is empty (0 bytes), e.g. an interrupted copy. Copy the file again from the original."
        )
    try:
        opener = _open_tiff if path.suffix.lower() in (".tif", ".tiff") else _open_pil
        shape, axes, dtype, bits, (alpha, cmyk, orientation), pixels = opener(path, read)
    except Exception as error:
        raise ValueError(
            f"Could not read {str(path)!r}: it is damaged (e.g. an interrupted copy) or not a "
            f"PNG, TIFF or JPEG image. {READ_FIX}"
        ) from error
    kept = [(size, axis if axis in "ZCYXS" else "Z") for size, axis in zip(shape, axes) if size > 1 or axis in "YX"]
    sizes, names = [size for size, _ in kept], "".join(axis for _, axis in kept)
    if names.count("Z") > 1:
        raise ValueError(
            f"{str(path)!r} has axes {axes} of sizes {shape}: more than one stack axis (z, time or pages). "
            f"Save one z-stack per file (Fiji: Image > Hyperstacks > Reduce Dimensionality)."
        )
    if orientation in (5, 6, 7, 8):  # a quarter turn or a transposition swaps height and width
        y, x = names.index("Y"), names.index("X")
        sizes[y], sizes[x] = sizes[x], sizes[y]
    header = ImageHeader(tuple(sizes), names, np.dtype(dtype), int(bits))
    if not read:
        return _Stored(None, None, header, alpha)
    order = sorted(range(len(names)), key=lambda index: "ZYXCS".index(names[index]))
    pixels, names = pixels.reshape([size for size, _ in kept]).transpose(order), "".join(names[i] for i in order)
    if cmyk and pixels.shape[-1] == 4:
        pixels = _cmyk_to_rgb(pixels)
    return _Stored(_upright(pixels, orientation, names.index("Y")), names, header, alpha)


def _cmyk_to_rgb(pixels):
    """Turn CMYK ink (..., 4) into RGB (..., 3) of the same dtype, as Pillow does: (1 - ink) (1 - black)."""
    top = np.iinfo(pixels.dtype).max if pixels.dtype.kind in "ui" else 1.0
    ink = pixels.astype(np.float64) / top
    return np.round((1 - ink[..., :3]) * (1 - ink[..., 3:]) * top).astype(pixels.dtype)


def _upright(pixels, orientation, y):
    """Apply an EXIF / TIFF orientation (1-8) to pixels whose height is axis ``y``, as Pillow's exif_transpose."""
    if orientation in (5, 6, 7, 8):
        pixels = np.swapaxes(pixels, y, y + 1)
    flips = {2: (y + 1,), 3: (y, y + 1), 4: (y,), 6: (y + 1,), 7: (y, y + 1), 8: (y,)}.get(orientation, ())
    return np.flip(pixels, flips) if flips else pixels


def image_header(path):
    """Return the :data:`ImageHeader` of an image file, read without its pixels.

    >>> image_header(some_rgb_png)  # doctest: +SKIP
    ImageHeader(shape=(480, 640, 3), axes='YXS', dtype=dtype('uint8'), bits=8)
    """
    return _open(path, read=False).header


def read_pixels(path):
    """Return an image file's stored values, upright: (H, W) or (H, W, C); a stack (Z, H, W[, C]).

    Channels come last whatever the file's order; CMYK comes as RGB. Palette PNGs (mode "P", saved by
    many annotation tools) give their palette **indices**; :func:`read_palette` gives the colours.
    """
    return _open(path).pixels


def read_stack(path):
    """Read a z-stack: return ``(pixels, spacing)``, pixels as stored in the order (Z, Y, X, C).

    C is 1 for grey; a 2-D file gives Z = 1. ``spacing`` is (z, y, x) in the file's unit from ImageJ or
    OME metadata and the resolution tags, each None where the file does not say (None if it says none).
    """
    stored = _open(path)
    pixels, axes = stored.pixels, stored.axes
    if "C" in axes and "S" in axes:
        raise ValueError(
            f"Stack {str(path)!r} has both channels and colour samples (axes {stored.header.axes}). "
            f"Save it with one kind of channel (Fiji: Image > Color > Split Channels, then Merge Channels)."
        )
    pixels = pixels if "Z" in axes else pixels[np.newaxis]
    return (pixels if pixels.ndim == 4 else pixels[..., np.newaxis]), _spacing(path)


def _spacing(path):
    """The (z, y, x) voxel size a TIFF states (ImageJ, OME, resolution tags), None where it is silent."""
    if Path(path).suffix.lower() not in (".tif", ".tiff"):
        return None
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page, imagej = tif.pages[0], tif.imagej_metadata or {}
        z, y, x = imagej.get("spacing"), None, None
        if 282 in page.tags and (page.resolution != (1, 1) or page.resolutionunit != 1 or "unit" in imagej):
            x, y = (1 / value if value else None for value in page.resolution)
        said = dict(re.findall(r'PhysicalSize([XYZ])="([^"]+)"', tif.ome_metadata or ""))
    spacing = tuple(
        float(said.get(axis, value)) if said.get(axis, value) else None for axis, value in zip("ZYX", (z, y, x))
    )
    return spacing if any(spacing) else None


def read_palette(path):
    """Return the colours of a palette PNG as an (N, 3) uint8 array (row i = index i), else None."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        return None
    from PIL import Image

    try:
        with Image.open(path) as picture:
            if picture.mode not in ("P", "PA"):
                return None
            return np.asarray(picture.getpalette() or [], np.uint8).reshape(-1, 3)
    except Exception:
        return None  # the reader names the file and the fix


def _palette_colours(indices, palette, path):
    """Turn palette indices into grey (H, W) or RGB (H, W, 3) uint8 pixels."""
    if indices.size and indices.max() >= len(palette):
        raise ValueError(
            f"Palette PNG {str(path)!r} uses index {indices.max()} but has {len(palette)} colours. {READ_FIX}"
        )
    used = palette[np.unique(indices)]
    colours = palette[indices]
    if np.array_equal(used[:, 0], used[:, 1]) and np.array_equal(used[:, 0], used[:, 2]):
        return colours[..., 0]
    return colours


def scaling_rule(pixels, bits=None):
    """Name the rule by which :func:`scale_to_unit` rescales these stored pixels of one image.

    One of the keys of :data:`RULE_DIVISORS`, or "own minimum to maximum". ``bits``: the file's declared
    bits per sample (:func:`image_header`); 16-bit data tagged 12-bit or less is 12-bit data.

    >>> scaling_rule(np.array([[0, 4095]], np.uint16))
    '12-bit in 16 bits / 4095'
    """
    pixels = np.asarray(pixels)
    if pixels.dtype == bool:
        return "1-bit as 0/1"
    if pixels.dtype == np.uint8:
        return "8-bit / 255"
    if pixels.dtype == np.uint16:
        if (bits or 16) <= 12 or (pixels.size and pixels.max() < TWELVE_BIT_LIMIT):
            return "12-bit in 16 bits / 4095"
        return "16-bit / 65535"
    if pixels.dtype.kind == "f" and pixels.size and 0 <= pixels.min() and pixels.max() <= 1:
        return "float in [0, 1] as is"
    return "own minimum to maximum"


def folder_rescaling(paths):
    """Decide ONE rescaling rule for all the images of a folder; return ``(rule, reason)``.

    From the headers (dtype, bit-depth tags), reading pixels (one file at a time) only when they cannot
    tell: 16-bit files whose folder maximum is below 4096 are 12-bit data; floats all in [0, 1] stay as
    they are. ``rule`` is for :func:`read_image`; ``reason`` one sentence for the folder's report. Mixed
    pixel types raise ValueError naming a file of each type and the fix.
    """
    paths = [Path(path) for path in paths]
    if not paths:
        raise ValueError("folder_rescaling got no files: give it the paths of the folder's images.")
    by_dtype = collections.defaultdict(list)
    for path in paths:
        header = image_header(path)
        by_dtype[header.dtype].append((path, header.bits))
    if len(by_dtype) > 1:
        kinds = "; ".join(f"{dtype} (e.g. {files[0][0].name})" for dtype, files in by_dtype.items())
        raise ValueError(
            f"The images mix pixel types: {kinds}. One rescaling rule must fit the whole folder: convert them "
            f"all to one type (Fiji: Image > Type, then save again) or put each type in a folder of its own."
        )
    (dtype, files), said = next(iter(by_dtype.items())), ""
    extremes = np.zeros(0, dtype)
    if dtype.kind == "f" or (dtype == np.uint16 and max(bits for _, bits in files) > 12):
        lows, highs = zip(*((np.nanmin(p), np.nanmax(p)) for p in map(read_pixels, paths)))
        extremes, top = np.array([min(lows), max(highs)], dtype), paths[int(np.argmax(highs))].name
        said = f" with values {extremes[0]:g} to {extremes[1]:g} (the largest in {top})"
    rule = scaling_rule(extremes, max(bits for _, bits in files))
    return rule, f"{len(paths)} {dtype} image{'s' * (len(paths) > 1)}{said}: {rule!r} for all of them."


def scale_to_unit(pixels, path="the image", rule=None):
    """Return float32 pixels in [0, 1] by ``rule`` (a :func:`scaling_rule` name; None: the image's own).

    Values outside a fixed rule's range raise ValueError naming ``path`` and the fix.

    >>> scale_to_unit(np.array([0, 4095], np.uint16)).tolist()
    [0.0, 1.0]
    """
    if rule is not None and rule not in (*RULE_DIVISORS, "own minimum to maximum"):
        raise ValueError(f"rescaling must be one of {[*RULE_DIVISORS, 'own minimum to maximum']}, got {rule!r}.")
    pixels = np.asarray(pixels)
    if pixels.dtype.kind not in "biuf":
        raise ValueError(
            f"Image {str(path)!r} has pixel type {pixels.dtype}, not numbers. "
            f"Convert it to 8-bit or 16-bit (Fiji: Image > Type) and save it again."
        )
    if pixels.dtype.kind == "f" and not np.all(np.isfinite(pixels)):
        raise ValueError(
            f"Image {str(path)!r} holds NaN or infinite values. Replace them (Fiji: Process > "
            f"Math > Remove NaNs) and save it again."
        )
    rule = rule or scaling_rule(pixels)
    low, high = (float(pixels.min()), float(pixels.max())) if pixels.size else (0.0, 0.0)
    if rule in RULE_DIVISORS:
        if low < 0 or high > RULE_DIVISORS[rule]:
            raise ValueError(
                f"Image {str(path)!r} holds values {low:g} to {high:g}, outside the folder's rescaling rule "
                f"{rule!r} (0 to {RULE_DIVISORS[rule]}). Decide the rule again from all the folder's files "
                f"(helpers.imageio.folder_rescaling), or move this file to a folder of its own kind."
            )
        return pixels.astype(np.float32) / np.float32(RULE_DIVISORS[rule])
    return ((pixels.astype(np.float64) - low) / max(high - low, 1e-12)).astype(np.float32)


def _refuse_stack(path, stored, kind):
    if "Z" in stored.axes:
        raise ValueError(
            f"{kind.capitalize()} {str(path)!r} is a stack of {stored.pixels.shape[0]} slices (axes "
            f"{stored.header.axes}, shape {stored.header.shape}); expected one 2-D {kind}. Use the 3-D notebook "
            f"06 for stacks, or save one file per slice (Fiji: Image > Stacks > Stack to Images). Slices that "
            f"are channels: save it as a hyperstack with channels (Fiji: Image > Hyperstacks > Stack to Hyperstack)."
        )


def _opaque(alpha):
    return alpha.size > 0 and alpha.min() == (np.iinfo(alpha.dtype).max if alpha.dtype.kind in "ui" else 1)


def read_image(path, rescaling=None):
    """Read one 2-D image file as float32 (H, W, C) in [0, 1], with all its channels (C = 1 to 4).

    ``rescaling``: the folder's rule (:func:`folder_rescaling`), applied exactly; None decides per image
    (:data:`RESCALE_POLICY`). A palette PNG gives its colours (grey when they are all grey); an alpha
    channel is dropped only when fully opaque. A stack raises ValueError naming the file and notebook 06.
    """
    path = Path(path)
    stored = _open(path)
    _refuse_stack(path, stored, "image")
    pixels, palette = stored.pixels, read_palette(path)
    if palette is not None:
        pixels = _palette_colours(pixels, palette, path)
    if stored.alpha and _opaque(pixels[..., -1]):
        pixels = pixels[..., :-1]
    pixels = pixels[..., np.newaxis] if pixels.ndim == 2 else pixels
    if pixels.ndim != 3 or pixels.shape[-1] > 4:
        raise ValueError(
            f"Image {str(path)!r} has shape {stored.header.shape} (axes {stored.header.axes}); expected one 2-D "
            f"image of 1 to 4 channels. Keep the channels you need (Fiji: Image > Color > Channels Tool)."
        )
    return scale_to_unit(pixels, path, rescaling or scaling_rule(pixels, stored.header.bits))


def as_channels(image, channels):
    """Return an (H, W, C) image with ``channels`` channels: grey repeated into RGB, or the mean of RGB.

    >>> as_channels(np.array([[[0.0, 0.5, 1.0]]]), 1).tolist()
    [[[0.5]]]
    """
    image = np.asarray(image, np.float32)
    if image.shape[-1] == channels:
        return image
    if (image.shape[-1], channels) == (1, 3):
        return np.repeat(image, 3, axis=-1)
    if (image.shape[-1], channels) == (3, 1):
        return image.mean(axis=-1, keepdims=True)
    raise ValueError(
        f"An image of {image.shape[-1]} channels cannot become {channels} channels (only grey <-> colour "
        f"converts). Give every image the same channels (Fiji: Image > Color > Channels Tool)."
    )


def is_grey_rgb(pixels):
    """True when an (H, W, 3) array has equal red, green and blue everywhere."""
    pixels = np.asarray(pixels)
    return bool(
        pixels.ndim == 3
        and pixels.shape[-1] == 3
        and np.array_equal(pixels[..., 0], pixels[..., 1])
        and np.array_equal(pixels[..., 0], pixels[..., 2])
    )


def read_mask(path):
    """Read a mask file with its label values as stored, never rescaled.

    Returns (H, W) for grey, 1-bit (as uint8 0/1) and palette files (the indices, not the colours),
    and (H, W, 3) for RGB files (grey saved as RGB stays 3 channels: :func:`is_grey_rgb` tells). A mask
    drawn in an alpha layer (one colour, varying transparency) gives its alpha; other alpha is dropped.
    A stack raises ValueError naming the file.
    """
    path = Path(path)
    stored = _open(path)
    _refuse_stack(path, stored, "mask")
    pixels = stored.pixels.astype(np.uint8) if stored.pixels.dtype == bool else stored.pixels
    if stored.alpha:
        colour, alpha = pixels[..., :-1], pixels[..., -1]
        drawn = not _opaque(alpha) and len(np.unique(colour[alpha > 0], axis=0)) <= 1
        pixels = alpha if drawn else colour
    pixels = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[-1] == 1 else pixels
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[-1] == 3)):
        raise ValueError(
            f"Mask {str(path)!r} has shape {pixels.shape}; expected one 2-D mask. "
            f"Save one mask per image, with the same name as the image."
        )
    return pixels


def read_binary_mask(path, invert=False):
    """Read a binary mask file as float32 (H, W, 1): 1 where the file is non-zero, 0 elsewhere.

    The file holds {0, 1}, {0, 255} or {0, 65535} (one value alone also works), 1-bit, or a palette
    with indices 0 and 1; colour only if red, green and blue are equal. ``invert=True`` swaps
    foreground and background (for files that mark the structure with 0). Other values raise
    ValueError naming the file and the fix.
    """
    pixels = read_mask(path)
    if pixels.ndim == 3:
        if not is_grey_rgb(pixels):
            raise ValueError(f"Mask {str(path)!r} is a colour image (red, green and blue differ). {MASK_FIX}")
        pixels = pixels[..., 0]
    values = np.unique(pixels)
    if not any(set(values.tolist()) <= {0, top} for top in (1, 255, 65535)):
        message = (
            f"Mask {str(path)!r} has {len(values)} different values ({few_names((f'{v:g}' for v in values.tolist()), 6)}); "
            f"a mask must have only 0 (background) and 255 or 1 (foreground). {MASK_FIX}"
        )
        if Path(path).suffix.lower() in (".jpg", ".jpeg"):
            message += " JPEG compression changes pixel values: save masks as PNG or TIFF."
        raise ValueError(message)
    mask = (pixels > 0).astype(np.float32)
    if invert:
        mask = 1.0 - mask
    return mask[..., np.newaxis]


# --- writing without overwriting: nothing the user owns is ever replaced ------------------------


class DiskWriteError(OSError):
    """A results folder that is full or read-only; the message names the folder and the fix."""


#: The errno values of a full disk or quota, or a folder that cannot be written.
DISK_FAULTS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def write_atomically(path, write):
    """Call ``write(partial_path)`` on a hidden file beside ``path``, then rename it onto ``path``.

    So no file is ever left half-written under its final name (the partial file keeps the name's
    ending, for writers that need it). A full or read-only folder raises :class:`DiskWriteError`.
    Returns ``path``.
    """
    path = Path(path)
    partial = path.with_name(f".partial-{path.name}")
    try:
        write(partial)
        os.replace(partial, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        if not (isinstance(error, OSError) and error.errno in DISK_FAULTS):
            raise
        full = error.errno in (errno.ENOSPC, errno.EDQUOT)
        problem = "the disk (or Google Drive) is full" if full else "the folder cannot be written (read-only)"
        fix = "free space in Google Drive or on the disk, or" if full else "choose a folder you can write to:"
        fault = DiskWriteError(
            f"Could not write {path.name} in {path.parent}: {problem}. Fix: {fix} set another results folder."
        )
        fault.errno = error.errno
        raise fault from error
    return path


def new_path(path):
    """Return ``path`` if nothing is there yet, else the first free ``name-2.ext``, ``name-3.ext`` ..."""
    path, number = Path(path).expanduser(), 1
    candidate = path
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def new_folder(folder):
    """Create and return a new folder: ``folder``, else ``folder-2``, ``folder-3`` ... (:func:`new_path`)."""
    folder = new_path(folder)
    folder.mkdir(parents=True)
    return folder


def write_text_file(folder, name, text):
    """Write ``text`` to a new file ``folder/name`` (``name-2`` ... if it exists), atomically; return its path."""
    return write_atomically(
        new_path(Path(folder) / name), lambda partial: partial.write_text(text + "\n", encoding="utf-8")
    )
