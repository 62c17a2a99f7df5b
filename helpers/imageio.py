"""The one reader of image and mask files, and the one place where folders are listed and paired.

:func:`read_image` returns float32 ``(height, width, channels)`` in [0, 1] with every channel of the file
(1 to 4), rescaled by the folder's rule (:func:`folder_rescaling`) or by :data:`RESCALE_POLICY`.
:func:`read_mask` returns the label values as stored (palette PNGs give their *indices*, the classes);
:func:`read_binary_mask` a 0/1 mask; :func:`read_stack` a z-stack with its voxel spacing; :func:`load_pairs`
an image folder and a mask folder of the same file names, strictly. Writers here never overwrite
(:func:`new_path`) and never leave a half-written file (:func:`write_atomically`).

Axes: TIFFs are read with the axes their ImageJ/OME metadata and tags give (z, channels, y, x, colour
samples), as Fiji shows them: an axis is channels or colour only when the file says so, never for its size.
Pages, time points and unnamed axes are z-slices: a multi-page TIFF is a stack, refused by :func:`read_image`
(notebook 06 reads stacks). EXIF/TIFF orientation is applied, CMYK becomes RGB, opaque alpha is dropped.
"""

import collections
import contextlib
import errno
import itertools
import os
import re
import unicodedata
from pathlib import Path

import numpy as np

__all__ = [
    "IMAGE_EXTENSIONS", "RESCALE_POLICY", "RULE_DIVISORS", "TWELVE_BIT_LIMIT", "MASK_SUFFIXES", "MASK_FIX",
    "SegmentationSet", "FolderListing", "Pairing", "ImageHeader",
    "few_names", "natural_sorted", "file_stem", "list_image_files", "pair_files", "check_not_same_folder", "load_pairs",
    "image_header", "read_pixels", "read_stack", "read_palette", "scaling_rule", "folder_rescaling", "scale_to_unit",
    "read_image", "as_channels", "is_grey_rgb", "read_mask", "read_binary_mask",
    "DiskWriteError", "write_atomically", "new_path", "new_folder", "write_text_file",
]  # fmt: skip

#: File endings read as images or masks (upper or lower case).
IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg")

#: 16-bit images whose largest value is below this are read as 12-bit data (divided by 4095).
TWELVE_BIT_LIMIT = 4096

#: The rescale policy of :func:`read_image` without a folder's rule, in words (quote it in a methods section).
RESCALE_POLICY = (
    "8-bit values / 255; 16-bit values / 65535, or / 4095 when tagged 12-bit or all below 4096 (12-bit camera "
    "data); floats in [0, 1] as they are; other floats and signed or 32-bit integers from the image's own "
    "minimum (0) to maximum (1); 1-bit as 0/1; palette PNGs as their colours (grey when all are grey); opaque "
    "alpha dropped. For a folder, folder_rescaling decides one of these rules from all its files."
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

#: What a file says before its pixels are read (:func:`image_header`): ``shape`` and ``axes`` in the
#: file's order over Z, C, Y, X and S (the samples of one pixel's colour), axes of size 1 left out;
#: ``dtype``; ``bits`` the declared bits per sample (12 for a TIFF tagged 12-bit).
ImageHeader = collections.namedtuple("ImageHeader", "shape axes dtype bits")

MASK_FIX = (
    "Save the mask with 0 for background and 255 (or 1) for foreground; "
    "label images with several ids belong in the multi-class notebook."
)
READ_FIX = "Open it in Fiji/ImageJ and save it again as PNG or TIFF, or move it out of the folder."


# --- listing and pairing ---------------------------------------------------------------------


def few_names(names, shown=5):
    """Return the first ``shown`` names joined by commas, then "..." if there are more."""
    names = [str(name) for name in names]
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")


def natural_sorted(texts):
    """Return the texts sorted with numbers in numeric order ("2" before "10")."""
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
    """Return the name a file pairs by: NFC-normalised, without its ending (``x.ome.tif``, ``x.PNG`` -> ``x``)."""
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
    for path in sorted(folder.iterdir()):
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


def pair_files(images, masks):
    """Pair the files of two :func:`list_image_files` listings by stem; return a :data:`Pairing`.

    A mask pairs with the image of its stem, or of its stem without a :data:`MASK_SUFFIXES` ending
    (``cell_01_mask.png`` -> ``cell_01.png``); two masks for one image pair with none.
    """
    candidates, by_suffix, unmatched = collections.defaultdict(list), {}, []  # image stem -> mask paths
    for stem, paths in masks.by_stem.items():
        ending = next((s for s in sorted(MASK_SUFFIXES, key=len, reverse=True) if stem.lower().endswith(s)), "")
        base = stem if stem in images.by_stem or len(stem) <= len(ending) else stem[: len(stem) - len(ending)]
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
    by_suffix = {stem: path for stem, path in by_suffix.items() if stem not in double_masks}
    without_mask = natural_sorted(set(images.by_stem) - set(candidates))
    return Pairing(pairs, without_mask, natural_sorted(unmatched), double_images, double_masks, by_suffix)


def check_not_same_folder(image_folder, mask_folder):
    """Raise ValueError when a folder is None, empty text or "." (the current folder), or both are one folder."""
    for name, folder in (("image_folder (IMAGE_FOLDER)", image_folder), ("mask_folder (MASK_FOLDER)", mask_folder)):
        if folder is None or str(folder).strip() in ("", "."):
            kind = name.split("_")[0]
            raise ValueError(
                f"{name} is empty ({folder if folder is None else repr(str(folder))}), which would read the "
                f"current folder ({Path.cwd()}). Set it to the path of your {kind} folder, e.g. "
                f"'/content/drive/MyDrive/my-cells/{kind}s'."
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

    Pairs by :func:`pair_files`; other files are ignored; ``invert_masks`` swaps foreground and background.
    Returns a :data:`SegmentationSet`. A missing or empty folder raises FileNotFoundError; anything else
    that does not fit (pairing, names, unreadable files, masks, sizes) ValueError naming the files and the fix.
    """
    check_not_same_folder(image_folder, mask_folder)
    images, masks = list_image_files(image_folder, "image"), list_image_files(mask_folder, "mask")
    pairing = pair_files(images, masks)
    for kind, doubles in (("image", pairing.double_images), ("mask", pairing.double_masks)):
        if doubles:
            names = "; ".join(" and ".join(p.name for p in paths) for paths in doubles.values())
            raise ValueError(f"Several {kind} files have the same name: {names}. Keep one file per name.")
    without_mask = ", ".join(images.by_stem[stem][0].name for stem in pairing.images_without_mask)
    without_image = ", ".join(masks.by_stem[stem][0].name for stem in pairing.masks_without_image)
    if without_mask or without_image:
        raise ValueError(
            f"Images and masks do not pair up: images without a mask in {str(masks.folder)!r}: {without_mask or '-'}; "
            f"masks without an image in {str(images.folder)!r}: {without_image or '-'}. Each image needs a mask "
            f"with the same file name (7.png <-> 7.png, 7.tif or 7_mask.png): rename, add or remove those files."
        )
    names, image_paths, mask_paths = zip(*pairing.pairs)
    pixels = [read_image(path) for path in image_paths]
    labels = [read_binary_mask(path, invert=invert_masks) for path in mask_paths]
    _check_sizes(pixels, labels, image_paths, mask_paths)
    source = f"images from {images.folder}, masks from {masks.folder}" + " (masks inverted)" * invert_masks
    return SegmentationSet(np.stack(pixels), np.stack(labels), list(names), source)


def _check_sizes(images, masks, image_paths, mask_paths):
    def size(array):
        return f"{array.shape[1]}x{array.shape[0]}"

    by_size, wrong = collections.defaultdict(list), []
    for image, mask, image_path, mask_path in zip(images, masks, image_paths, mask_paths):
        by_size[(size(image), image.shape[-1])].append(image_path.name)
        if image.shape[:2] != mask.shape[:2]:
            wrong.append(f"image {image_path} is {size(image)} but mask {mask_path} is {size(mask)}")
    if wrong:
        raise ValueError(
            f"Masks must have the same size (width x height) as their images: {'; '.join(wrong)}. "
            f"Export each mask from its own image at full resolution (no scaling or cropping)."
        )
    if len(by_size) > 1:
        groups = "; ".join(
            f"{s}, {'grey' if c == 1 else 'colour' if c == 3 else f'{c} channels'}: {few_names(n)}"
            for (s, c), n in by_size.items()
        )
        raise ValueError(
            f"The images differ in size or colour ({groups}). Crop or tile them to one size (e.g. cut big "
            f"images into tiles), give them all the same channels, or load each size from its own folder."
        )


# --- reading pixels: what the file says, then the pixels -------------------------------------

_PIL_DTYPES = {"1": "bool", "I;16": "uint16", "I;16B": "uint16", "I;16L": "uint16", "I": "int32", "F": "float32"}


def _open_tiff(path, read):
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series, page, imagej = tif.series[0], tif.pages[0], tif.imagej_metadata or {}
        said = {"Z": imagej.get("spacing")}  # the voxel size: ImageJ, then the resolution tags, then OME
        if 282 in page.tags and (page.resolution != (1, 1) or page.resolutionunit != 1 or "unit" in imagej):
            said.update(zip("XY", (1 / value if value else None for value in page.resolution)))
        said.update(re.findall(r'PhysicalSize([XYZ])="([^"]+)"', tif.ome_metadata or ""))
        marks = (bool({1, 2} & set(page.extrasamples)), page.photometric == 5, page.tags.valueof(274, 1), said)
        return series.shape, series.axes, series.dtype, page.bitspersample, marks, series.asarray() if read else None


def _open_pil(path, read):
    from PIL import Image

    with Image.open(path) as picture:
        mode, bands = picture.mode, 1 if picture.mode in ("P", "PA") else len(picture.getbands())
        dtype = np.dtype("uint16" if (picture.format, mode) == ("PNG", "I") else _PIL_DTYPES.get(mode, "uint8"))
        bits = 16 if ";16" in str(picture.tile[:1]) else 1 if dtype.kind == "b" else dtype.itemsize * 8
        exif = picture.getexif() if read or picture.format != "PNG" or "exif" in picture.info else {}  # else: loads
        marks = (mode in ("RGBA", "LA"), mode == "CMYK", exif.get(0x0112, 1), {})
        pixels = np.asarray(picture.convert("P") if mode == "PA" else picture).astype(dtype) if read else None
        shape = (picture.height, picture.width, bands)[: 2 + (bands > 1)]
        return shape, "YXS"[: len(shape)], dtype, bits, marks, pixels


def _open(path, read=True):
    """Return ``(pixels, axes, header, alpha, spacing)``: pixels (None unless ``read``) in the order (Z, Y, X,
    C or S), upright, CMYK as RGB; ``alpha`` when the file marks the last sample as transparency."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file {str(path)!r}. Check the path and the file name.")
    if path.stat().st_size == 0:
        raise ValueError(f"File {str(path)!r} is empty (0 bytes), e.g. an interrupted copy. Copy it again.")
    try:
        opener = _open_tiff if path.suffix.lower() in (".tif", ".tiff") else _open_pil
        shape, axes, dtype, bits, (alpha, cmyk, orientation, said), pixels = opener(path, read)
        spacing = tuple(float(said[axis]) if said.get(axis) else None for axis in "ZYX")
    except Exception as error:
        raise ValueError(
            f"Could not read {str(path)!r}: it is damaged (e.g. an interrupted copy) or not a PNG, TIFF or "
            f"JPEG image. {READ_FIX}"
        ) from error
    kept = [(size, axis if axis in "ZCYXS" else "Z") for size, axis in zip(shape, axes) if size > 1 or axis in "YX"]
    sizes, names = [size for size, _ in kept], "".join(axis for _, axis in kept)
    if names.count("Z") > 1:
        raise ValueError(
            f"{str(path)!r} has axes {axes} of sizes {shape}: more than one stack axis (z, time or pages). "
            f"Save one z-stack per file (Fiji: Image > Hyperstacks > Reduce Dimensionality)."
        )
    y, x = names.index("Y"), names.index("X")
    if orientation in (5, 6, 7, 8):  # a quarter turn or a transposition swaps height and width
        sizes[y], sizes[x] = sizes[x], sizes[y]
    header = ImageHeader(tuple(sizes), names, np.dtype(dtype), int(bits))
    if header.bits > 8 * header.dtype.itemsize:  # Pillow reads 16-bit colour PNGs as 8 bits
        raise ValueError(
            f"{str(path)!r} is a 16-bit PNG with colour or alpha, read only as 8 bits here. Save it as TIFF (Fiji: File > Save As > Tiff)."
        )
    if not read:
        return None, None, header, alpha, spacing if any(spacing) else None
    order = sorted(range(len(names)), key=lambda index: "ZYXCS".index(names[index]))
    pixels, names = pixels.reshape([size for size, _ in kept]).transpose(order), "".join(names[i] for i in order)
    if cmyk and pixels.shape[-1] == 4:  # (1 - ink) (1 - black), as Pillow converts
        top = np.iinfo(pixels.dtype).max if pixels.dtype.kind in "ui" else 1.0
        ink = pixels.astype(np.float64) / top
        pixels = np.round((1 - ink[..., :3]) * (1 - ink[..., 3:]) * top).astype(pixels.dtype)
    y = names.index("Y")  # then orientation (1-8) as Pillow's exif_transpose: transpose, then flips
    pixels = np.swapaxes(pixels, y, y + 1) if orientation in (5, 6, 7, 8) else pixels
    flips = {2: (y + 1,), 3: (y, y + 1), 4: (y,), 6: (y + 1,), 7: (y, y + 1), 8: (y,)}.get(orientation, ())
    return np.flip(pixels, flips) if flips else pixels, names, header, alpha, spacing if any(spacing) else None


def image_header(path):
    """Return the :data:`ImageHeader` of an image file, read without its pixels."""
    return _open(path, read=False)[2]


def read_pixels(path):
    """Return an image file's stored values, upright: (H, W) or (H, W, C); a stack (Z, H, W[, C]).

    Channels come last whatever the file's order; CMYK comes as RGB. Palette PNGs (mode "P", saved by
    many annotation tools) give their palette **indices**; :func:`read_palette` gives the colours.
    """
    return _open(path)[0]


def read_stack(path):
    """Read a z-stack: return ``(pixels, spacing)``, pixels as stored in the order (Z, Y, X, C).

    C is 1 for grey; a 2-D file gives Z = 1. ``spacing`` is (z, y, x) in the file's unit from ImageJ or
    OME metadata and the resolution tags, each None where the file does not say (None if it says none).
    """
    pixels, axes, header, _, spacing = _open(path)
    if "C" in axes and "S" in axes:
        raise ValueError(
            f"Stack {str(path)!r} has both channels and colour samples (axes {header.axes}). Save it with one "
            f"kind of channel (Fiji: Image > Color > Split Channels, then Merge Channels)."
        )
    pixels = pixels if "Z" in axes else pixels[np.newaxis]
    return (pixels if pixels.ndim == 4 else pixels[..., np.newaxis]), spacing


def read_palette(path):
    """Return the colours of a palette PNG as an (N, 3) uint8 array (row i = index i), else None."""
    from PIL import Image

    with contextlib.suppress(Exception), Image.open(path) as picture:  # the reader names a damaged file
        if Path(path).suffix.lower() == ".png" and picture.mode in ("P", "PA"):
            return np.asarray(picture.getpalette() or [], np.uint8).reshape(-1, 3)
    return None


def scaling_rule(pixels, bits=None):
    """Name the rule by which :func:`scale_to_unit` rescales these stored pixels of one image.

    One of the keys of :data:`RULE_DIVISORS`, or "own minimum to maximum". ``bits``: the file's declared
    bits per sample (:func:`image_header`); 16-bit data tagged 12-bit or less is 12-bit data.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype in (bool, np.uint8):
        return "1-bit as 0/1" if pixels.dtype == bool else "8-bit / 255"
    if pixels.dtype == np.uint16:
        twelve = (bits or 16) <= 12 or (pixels.size and pixels.max() < TWELVE_BIT_LIMIT)
        return "12-bit in 16 bits / 4095" if twelve else "16-bit / 65535"
    if pixels.dtype.kind == "f" and pixels.size and 0 <= pixels.min() and pixels.max() <= 1:
        return "float in [0, 1] as is"
    return "own minimum to maximum"


def folder_rescaling(paths):
    """Decide ONE rescaling rule for all the images of a folder; return ``(rule, reason)``.

    From the headers (type, bit-depth tags); pixels are read, one file at a time, only when these cannot
    tell: 16-bit files whose folder maximum is below 4096 are 12-bit data, floats all in [0, 1] stay as they
    are. ``reason``: one sentence for the folder's report. Mixed types raise ValueError naming an example of each.
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
    (dtype, files), extremes, said = next(iter(by_dtype.items())), np.zeros(0), ""
    bits = [bits for _, bits in files]
    if dtype.kind == "f" or (dtype == np.uint16 and max(bits) > 12):
        lows, highs = zip(*((np.nanmin(p), np.nanmax(p)) for p in map(read_pixels, paths)))
        extremes, top = np.array([min(lows), max(highs)]), paths[int(np.argmax(highs))].name
        said = f" with values {extremes[0]:g} to {extremes[1]:g} (the largest in {top})"
    rule = scaling_rule(extremes.astype(dtype), max(bits))
    return rule, f"{len(paths)} {dtype} image{'s' * (len(paths) > 1)}{said}: {rule!r} for all of them."


def scale_to_unit(pixels, path="the image", rule=None):
    """Return float32 pixels in [0, 1] by ``rule`` (a :func:`scaling_rule` name; None: the image's own).

    Values outside a fixed rule's range raise ValueError naming ``path`` and the fix.
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
    if rule not in RULE_DIVISORS:
        return ((pixels.astype(np.float64) - low) / max(high - low, 1e-12)).astype(np.float32)
    if low < 0 or high > RULE_DIVISORS[rule]:
        raise ValueError(
            f"Image {str(path)!r} holds values {low:g} to {high:g}, outside the folder's rescaling rule "
            f"{rule!r} (0 to {RULE_DIVISORS[rule]}). Decide the rule again from all the folder's files "
            f"(helpers.imageio.folder_rescaling), or move this file to a folder of its own kind."
        )
    return pixels.astype(np.float32) / np.float32(RULE_DIVISORS[rule])


def _read_2d(path, kind):
    """Return (pixels, header, alpha) of a 2-D file; a stack raises ValueError naming notebook 06."""
    pixels, axes, header, alpha, _ = _open(path)
    if "Z" in axes:
        raise ValueError(
            f"{kind.capitalize()} {str(path)!r} is a stack of {pixels.shape[0]} slices (axes {header.axes}, shape "
            f"{header.shape}); expected one 2-D {kind}. Save one file per slice (Fiji: Image > Stacks > Stack to Images), "
            f"or use the 3-D notebook 06 for stacks. Slices that are channels: save it as a "
            f"hyperstack with channels (Fiji: Image > Hyperstacks > Stack to Hyperstack)."
        )
    opaque = alpha and pixels[..., -1].min() == (np.iinfo(pixels.dtype).max if pixels.dtype.kind in "ui" else 1)
    return (pixels[..., :-1] if opaque else pixels), header, alpha and not opaque


def read_image(path, rescaling=None):
    """Read one 2-D image file as float32 (H, W, C) in [0, 1], with all its channels (C = 1 to 4).

    ``rescaling``: the folder's rule (:func:`folder_rescaling`), applied exactly; None decides per image
    (:data:`RESCALE_POLICY`). A palette PNG gives its colours (grey when they are all grey); an alpha
    channel is dropped only when opaque. A stack raises ValueError naming the file and notebook 06.
    """
    pixels, header, _ = _read_2d(path, "image")
    palette = read_palette(path)
    if palette is not None:
        if pixels.size and pixels.max() >= len(palette):
            raise ValueError(
                f"Palette PNG {str(path)!r} uses index {pixels.max()} of {len(palette)} colours. {READ_FIX}"
            )
        used = palette[np.unique(pixels)][np.newaxis]
        pixels = palette[pixels][..., 0] if is_grey_rgb(used) else palette[pixels]
    pixels = pixels[..., np.newaxis] if pixels.ndim == 2 else pixels
    if pixels.ndim > 3 or pixels.shape[-1] > 4:
        raise ValueError(
            f"Image {str(path)!r} has shape {pixels.shape} (axes {header.axes}); the course reads 1 to 4 channels. "
            f"Keep the channels you need (Fiji: Image > Color > Channels Tool) and save it again."
        )
    return scale_to_unit(pixels, path, rescaling or scaling_rule(pixels, header.bits))


def as_channels(image, channels):
    """Return an (H, W, C) image with ``channels`` channels: grey repeated into RGB, or the mean of RGB."""
    image = np.asarray(image, np.float32)
    if (image.shape[-1], channels) in ((1, 3), (3, 1)):
        return np.repeat(image, 3, axis=-1) if channels == 3 else image.mean(axis=-1, keepdims=True)
    if image.shape[-1] != channels:
        raise ValueError(
            f"An image of {image.shape[-1]} channels cannot become {channels} channels (only grey <-> colour "
            f"converts). Give every image the same channels (Fiji: Image > Color > Channels Tool)."
        )
    return image


def is_grey_rgb(pixels):
    """True when an (H, W, 3) array has equal red, green and blue everywhere."""
    pixels = np.asarray(pixels)
    return bool(pixels.ndim == 3 and pixels.shape[-1] == 3 and (pixels == pixels[..., :1]).all())


def read_mask(path):
    """Read a mask file with its label values as stored, never rescaled.

    (H, W) for grey, 1-bit (as uint8 0/1) and palette files (the indices, not the colours); (H, W, 3) for
    RGB (grey saved as RGB too: :func:`is_grey_rgb` tells). A mask drawn in an alpha layer (one colour,
    varying transparency) gives its alpha; other alpha is dropped. A stack raises ValueError.
    """
    pixels, header, alpha = _read_2d(path, "mask")
    pixels = pixels.astype(np.uint8) if pixels.dtype == bool else pixels
    if alpha:
        drawn = len(np.unique(pixels[..., :-1][pixels[..., -1] > 0], axis=0)) <= 1
        pixels = pixels[..., -1] if drawn else pixels[..., :-1]
    pixels = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[-1] == 1 else pixels
    if pixels.ndim > 3 or (pixels.ndim == 3 and pixels.shape[-1] != 3):
        raise ValueError(
            f"Mask {str(path)!r} has shape {pixels.shape} (axes {header.axes}); a mask is grey or colour (RGB). "
            f"Save one mask per image, with the same name as the image."
        )
    return pixels


def read_binary_mask(path, invert=False):
    """Read a binary mask file as float32 (H, W, 1): 1 where the file is non-zero, 0 elsewhere.

    The file holds {0, 1}, {0, 255} or {0, 65535} (or one of them), 1-bit, or a palette with indices 0
    and 1; colour only if red = green = blue. ``invert=True`` swaps foreground and background (files that
    mark the structure with 0). Other values raise ValueError naming the file and the fix.
    """
    pixels = read_mask(path)
    if pixels.ndim == 3 and not is_grey_rgb(pixels):
        raise ValueError(f"Mask {str(path)!r} is a colour image (red, green and blue differ). {MASK_FIX}")
    values = np.unique(pixels[..., 0] if pixels.ndim == 3 else pixels)
    if not any(set(values.tolist()) <= {0, top} for top in (1, 255, 65535)):
        jpeg = " JPEG compression changes pixel values: save masks as PNG or TIFF."
        raise ValueError(
            f"Mask {str(path)!r} has {len(values)} different values ({few_names((f'{v:g}' for v in values), 6)}); "
            f"a mask must have only 0 (background) and 255 or 1 (foreground). {MASK_FIX}"
            + (jpeg if Path(path).suffix.lower() in (".jpg", ".jpeg") else "")
        )
    mask = (pixels[..., :1] if pixels.ndim == 3 else pixels[..., np.newaxis]) > 0
    return (mask != invert).astype(np.float32)


# --- writing: never over the user's files, never half-written -------------------------------------


class DiskWriteError(OSError):
    """A results folder that is full or read-only; the message names the folder and the fix."""


def write_atomically(path, write):
    """Call ``write(partial)`` on a hidden file beside ``path`` (its name keeps the ending), then rename it
    onto ``path`` in one step, so no file is left half-written under its final name. Returns ``path``.

    A full (``ENOSPC``, ``EDQUOT``) or read-only folder raises :class:`DiskWriteError` naming it and the fix.
    """
    path = Path(path)
    partial = path.with_name(f".partial-{path.name}")
    try:
        write(partial)
        os.replace(partial, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        code = error.errno if isinstance(error, OSError) else None
        if code not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        full = code in (errno.ENOSPC, errno.EDQUOT)
        problem, fix = ("is full", "free space in Google Drive or on the disk, or ") if full else ("is read-only", "")
        fault = DiskWriteError(
            f"Could not write {path.name}: the folder {path.parent} {problem} ({os.strerror(error.errno)}). "
            f"Fix: {fix}choose a folder you can write to as the results folder."
        )
        fault.errno = error.errno
        raise fault from error
    return path


def new_path(path):
    """Return ``path`` if nothing is there yet, else the first free ``name-2.ext``, ``name-3.ext`` ..."""
    path = Path(path).expanduser()
    numbered = (path.with_name(f"{path.stem}-{number}{path.suffix}") for number in itertools.count(2))
    return next(candidate for candidate in itertools.chain([path], numbered) if not candidate.exists())


def new_folder(folder):
    """Create and return a new folder: ``folder``, else ``folder-2``, ``folder-3`` ... (:func:`new_path`)."""
    folder = new_path(folder)
    folder.mkdir(parents=True)
    return folder


def write_text_file(folder, name, text):
    """Write ``text`` to a new file ``folder/name`` (``name-2`` ... if it exists), atomically; return its path."""
    path = new_path(Path(folder) / name)
    return write_atomically(path, lambda partial: partial.write_text(text + "\n", encoding="utf-8"))
