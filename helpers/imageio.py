"""The one reader of image and mask files, and the one place where folders are listed and paired.

:func:`read_image` returns float32 ``(height, width, channels)`` in [0, 1], grey as 1 channel and
colour as 3, rescaled by :data:`RESCALE_POLICY`. :func:`read_mask` returns the label values as
stored (palette PNGs give their *indices*, which are the classes); :func:`read_binary_mask` a 0/1
mask. :func:`load_pairs` reads an image folder and a mask folder of the same file names, strictly.
Writers here never overwrite (:func:`new_path`).
"""

import collections
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
    "read_pixels",
    "read_palette",
    "scale_to_unit",
    "scaling_rule",
    "read_image",
    "as_channels",
    "read_mask",
    "read_binary_mask",
    "is_grey_rgb",
    "MASK_FIX",
    "new_path",
    "new_folder",
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


# --- reading pixels --------------------------------------------------------------------------


def _is_palette_png(path):
    if path.suffix.lower() != ".png":
        return False
    from PIL import Image

    try:
        with Image.open(path) as picture:
            return picture.mode in ("P", "PA")
    except Exception:
        return False  # the reader below names the file and the fix


def read_pixels(path):
    """Return the pixels of an image file as they are stored (dtype and channels unchanged).

    Palette PNGs (mode "P", saved by many annotation tools) give their palette **indices** (2-D
    uint8); :func:`read_palette` gives the colours. A missing, empty or unreadable file raises an
    error naming the file and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file {str(path)!r}. Check the path and the file name.")
    if path.stat().st_size == 0:
        raise ValueError(
            f"File {str(path)!r} is empty (0 bytes), e.g. an interrupted copy. Copy the file again from the original."
        )
    try:
        if _is_palette_png(path):
            from PIL import Image

            with Image.open(path) as picture:
                return np.asarray(picture.convert("P") if picture.mode == "PA" else picture).copy()
        import skimage.io

        return np.asarray(skimage.io.imread(path))
    except Exception as error:
        raise ValueError(
            f"Could not read {str(path)!r}: it is damaged (e.g. an interrupted copy) or not a "
            f"PNG, TIFF or JPEG image. {READ_FIX}"
        ) from error


def read_palette(path):
    """Return the colours of a palette PNG as an (N, 3) uint8 array (row i = index i), else None."""
    path = Path(path)
    if not _is_palette_png(path):
        return None
    from PIL import Image

    with Image.open(path) as picture:
        colours = np.asarray(picture.getpalette() or [], np.uint8)
    return colours.reshape(-1, 3)


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


def scaling_rule(pixels):
    """Name the rule by which :func:`scale_to_unit` rescales these stored pixels.

    One of the keys of :data:`RULE_DIVISORS`, or "own minimum to maximum".

    >>> scaling_rule(np.array([[0, 4095]], np.uint16))
    '12-bit in 16 bits / 4095'
    """
    pixels = np.asarray(pixels)
    if pixels.dtype == bool:
        return "1-bit as 0/1"
    if pixels.dtype == np.uint8:
        return "8-bit / 255"
    if pixels.dtype == np.uint16:
        if pixels.size and pixels.max() < TWELVE_BIT_LIMIT:
            return "12-bit in 16 bits / 4095"
        return "16-bit / 65535"
    if pixels.dtype.kind == "f" and pixels.size and 0 <= pixels.min() and pixels.max() <= 1:
        return "float in [0, 1] as is"
    return "own minimum to maximum"


def scale_to_unit(pixels, path="the image"):
    """Return float32 pixels in [0, 1] by :data:`RESCALE_POLICY` (``path`` is named in errors).

    >>> scale_to_unit(np.array([0, 4095], np.uint16)).tolist()
    [0.0, 1.0]
    """
    pixels = np.asarray(pixels)
    if pixels.dtype.kind not in "biuf":
        raise ValueError(
            f"Image {str(path)!r} has pixel type {pixels.dtype}, not numbers. "
            f"Convert it to 8-bit or 16-bit (Fiji: Image > Type) and save it again."
        )
    rule = scaling_rule(pixels)
    if rule in RULE_DIVISORS:
        return pixels.astype(np.float32) / np.float32(RULE_DIVISORS[rule])
    if not np.all(np.isfinite(pixels)):
        raise ValueError(
            f"Image {str(path)!r} holds NaN or infinite values. Replace them (Fiji: Process > "
            f"Math > Remove NaNs) and save it again."
        )
    low, high = float(pixels.min()), float(pixels.max())
    return ((pixels.astype(np.float64) - low) / max(high - low, 1e-12)).astype(np.float32)


def read_image(path):
    """Read one 2-D image file as float32 (H, W, C) in [0, 1]: C is 1 for grey, 3 for colour.

    Rescaled by :data:`RESCALE_POLICY`; alpha is dropped; a palette PNG gives its colours (grey
    when they are all grey). An RGB file whose red, green and blue are equal still gives 3
    channels (:func:`as_channels` converts). A stack raises ValueError naming the file.
    """
    path = Path(path)
    pixels = read_pixels(path)
    palette = read_palette(path)
    if palette is not None:
        pixels = _palette_colours(pixels, palette, path)
    if pixels.ndim == 3 and pixels.shape[-1] in (2, 4):
        pixels = pixels[..., :-1]  # drop the alpha channel
    if pixels.ndim == 2:
        pixels = pixels[..., np.newaxis]
    if pixels.ndim != 3 or pixels.shape[-1] not in (1, 3):
        raise ValueError(
            f"Image {str(path)!r} has shape {pixels.shape}; expected one 2-D image, grey or "
            f"colour (height, width) or (height, width, 3). A 3-D stack or multi-page TIFF "
            f"must be saved as one file per slice (or used in the 3-D notebook)."
        )
    return scale_to_unit(pixels, path)


def as_channels(image, channels):
    """Return an (H, W, C) image with 1 or 3 channels: grey repeated into RGB, or the mean of RGB.

    >>> as_channels(np.array([[[0.0, 0.5, 1.0]]]), 1).tolist()
    [[[0.5]]]
    """
    image = np.asarray(image, np.float32)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (colour), got {channels!r}.")
    if image.shape[-1] == channels:
        return image
    if channels == 3:
        return np.repeat(image[..., :1], 3, axis=-1)
    return image.mean(axis=-1, keepdims=True)


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
    and (H, W, 3) for RGB files (alpha dropped; grey saved as RGB stays 3 channels:
    :func:`is_grey_rgb` tells). A stack raises ValueError naming the file.
    """
    path = Path(path)
    pixels = read_pixels(path)
    if pixels.dtype == bool:
        pixels = pixels.astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[-1] in (2, 4):
        pixels = pixels[..., :-1]  # drop the alpha channel
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
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
    """Write ``text`` to a new file ``folder/name`` (``name-2`` ... if it exists); return its path."""
    path = new_path(Path(folder) / name)
    path.write_text(text + "\n", encoding="utf-8")
    return path
