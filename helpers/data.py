"""Images and masks from folders, checked before training.

Course convention: an image is a float32 array ``(height, width, channels)`` with values in
[0, 1]; a mask is a float32 array ``(height, width, 1)`` of 0 and 1, where 1 marks the
structure we segment (the foreground).

A dataset on disk is two folders, one with images and one with masks, where a mask has the
same file name as its image (``7.png`` <-> ``7.png``; ``7.tif`` <-> ``7.png`` is fine too).
:func:`load_pairs` reads them and stops with a message that names the file and the fix when
something is wrong. It never changes the folders.
"""

import collections
import re
from pathlib import Path

import numpy as np
import skimage.io

from helpers import download
from helpers.course import course_root

#: Images and masks of one dataset: ``images`` (N, H, W, C) and ``masks`` (N, H, W, 1) float32,
#: ``names`` the file stems in natural order, ``source`` says where they came from.
SegmentationSet = collections.namedtuple("SegmentationSet", "images masks names source")

#: File endings read as images or masks (upper or lower case).
IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg")

#: The ISBI 2012 training images and labels inside the downloaded dataset.
ISBI_TRAIN_FOLDER = "data/membrane/train/"

MASK_FIX = (
    "Save the mask with 0 for background and 255 (or 1) for foreground; "
    "label images with several ids belong in the multi-class notebook."
)


def load_image(path):
    """Read an image file as float32 values in [0, 1].

    Parameters
    ----------
    path : str or pathlib.Path
        A PNG, TIFF or JPEG file with one 2-D image (grey, RGB or RGBA; 8 or 16 bit).

    Returns
    -------
    image : ndarray of float32, shape (H, W, C)
        ``C`` is 1 for grey and 3 for colour (the alpha channel is dropped). 8-bit values
        are divided by 255, 16-bit values by 65535.

    Raises
    ------
    ValueError
        If the file cannot be read, holds a stack instead of one 2-D image, or has a pixel
        type other than 8/16-bit integers or floats in [0, 1].
    """
    pixels = _read_pixels(path)
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
    return _scale_to_unit(pixels, path)


def load_mask(path, invert=False):
    """Read a mask file as float32 values 0 and 1.

    Parameters
    ----------
    path : str or pathlib.Path
        A PNG or TIFF file with values {0, 1} or {0, 255} (all 0, all 1 or all 255 also
        work). A colour file is accepted when its red, green and blue are equal.
    invert : bool, optional
        Swap foreground and background: use it when the file marks the structure with 0.

    Returns
    -------
    mask : ndarray of float32, shape (H, W, 1)
        1 where the file is non-zero (or zero, with ``invert=True``), 0 elsewhere.

    Raises
    ------
    ValueError
        If the file cannot be read, has colours, or has values other than 0 and 1 / 0 and 255.
    """
    pixels = _grey_mask_pixels(_read_pixels(path), path)
    values = np.unique(pixels)
    if not (set(values.tolist()) <= {0, 1} or set(values.tolist()) <= {0, 255}):
        raise ValueError(_non_binary_message(path, values))
    mask = (pixels > 0).astype(np.float32)
    if invert:
        mask = 1.0 - mask
    return mask[..., np.newaxis]


def load_pairs(image_folder, mask_folder, *, invert_masks=False):
    """Read every image of a folder with the mask of the same name from another folder.

    Parameters
    ----------
    image_folder, mask_folder : str or pathlib.Path
        Folders with PNG, TIFF or JPEG files. ``7.png`` in ``image_folder`` pairs with
        ``7.png`` (or ``7.tif``, ...) in ``mask_folder``. Other files are ignored.
    invert_masks : bool, optional
        Swap foreground and background of every mask (see :func:`load_mask`).

    Returns
    -------
    SegmentationSet
        ``images`` (N, H, W, C) and ``masks`` (N, H, W, 1) float32, ``names`` the file stems
        sorted naturally (``"2"`` before ``"10"``), ``source`` the two folders.

    Raises
    ------
    FileNotFoundError
        If a folder does not exist or holds no image files.
    ValueError
        If an image has no mask or a mask no image, a mask is not 0/1 or 0/255, a file cannot
        be read, an image and its mask differ in size, or the images differ in size.
    """
    image_folder, mask_folder = Path(image_folder), Path(mask_folder)
    if image_folder.resolve() == mask_folder.resolve():
        raise ValueError(
            f"The image folder and the mask folder are the same folder ({image_folder}). "
            f"Keep the images and the masks in two folders, with the same file names."
        )
    image_files = _files_by_stem(image_folder, "image")
    mask_files = _files_by_stem(mask_folder, "mask")
    _check_every_image_has_a_mask(image_files, mask_files, image_folder, mask_folder)
    names = natural_sorted(image_files)
    images = [load_image(image_files[name]) for name in names]
    masks = [load_mask(mask_files[name], invert=invert_masks) for name in names]
    _check_mask_sizes(images, masks, [image_files[n] for n in names], [mask_files[n] for n in names])
    _check_same_size(images, [image_files[n] for n in names])
    source = f"images from {image_folder}, masks from {mask_folder}"
    if invert_masks:
        source += " (masks inverted)"
    return SegmentationSet(np.stack(images), np.stack(masks), names, source)


def split_indices(n, n_validation, n_test, seed=0):
    """Split ``range(n)`` at random into training, validation and test indices.

    Parameters
    ----------
    n : int
        Number of images.
    n_validation, n_test : int
        How many go to validation and to test; the rest (at least one) is for training.
    seed : int, optional
        The same seed gives the same split.

    Returns
    -------
    train, validation, test : ndarray of int
        Sorted, disjoint, and together exactly ``0, 1, ..., n - 1``.

    Raises
    ------
    ValueError
        If a count is negative or nothing is left for training.
    """
    if min(n, n_validation, n_test) < 0:
        raise ValueError(
            f"Counts must not be negative; got n={n}, n_validation={n_validation}, n_test={n_test}."
        )
    if n_validation + n_test >= n:
        raise ValueError(
            f"n_validation + n_test = {n_validation} + {n_test} leaves no image for training "
            f"out of n = {n}. Use fewer validation or test images, or add images."
        )
    order = np.random.default_rng(seed).permutation(n)
    test = np.sort(order[:n_test])
    validation = np.sort(order[n_test : n_test + n_validation])
    train = np.sort(order[n_test + n_validation :])
    return train, validation, test


def bundled_membranes():
    """Return the small synthetic EM-like membrane set that comes with the course.

    Returns
    -------
    SegmentationSet
        From ``data/membranes/images`` and ``data/membranes/masks``; mask 1 = membrane.
    """
    folder = course_root() / "data" / "membranes"
    pairs = load_pairs(folder / "images", folder / "masks")
    return pairs._replace(source="bundled synthetic membranes (data/membranes)")


def load_membranes(mode):
    """Return the membrane images and masks for a notebook mode.

    Parameters
    ----------
    mode : {"smoke", "default"}
        ``"smoke"``: the bundled synthetic set. ``"default"``: the 30 ISBI 2012 training
        images (downloaded once), with masks inverted so that 1 = membrane. If the download
        fails, a message says why and the bundled set is returned instead.

    Returns
    -------
    SegmentationSet
        Its ``source`` says which data it is.

    Raises
    ------
    ValueError
        If ``mode`` is neither ``"smoke"`` nor ``"default"``.
    """
    if mode == "smoke":
        return bundled_membranes()
    if mode != "default":
        raise ValueError(f"Unknown mode {mode!r}; use 'smoke' or 'default'.")
    try:
        root = download.fetch_dataset("isbi2012", files_under=ISBI_TRAIN_FOLDER)
    except download.DatasetUnavailable as error:
        print(
            f"Could not get the ISBI 2012 membranes.\n{error}\n"
            f"The notebook continues with the bundled synthetic membranes (data/membranes), "
            f"which are smaller and easier. For the real data, fix the problem above and run "
            f"this cell again."
        )
        return bundled_membranes()
    train = root / ISBI_TRAIN_FOLDER
    # ISBI labels are 255 = cell interior, 0 = membrane; the course segments the membranes.
    pairs = load_pairs(train / "image", train / "label", invert_masks=True)
    return pairs._replace(
        source="ISBI 2012 EM membranes (Cardona et al. 2010), training set; masks inverted so 1 = membrane"
    )


def natural_sorted(texts):
    """Return the texts sorted with numbers in numeric order (``"2"`` before ``"10"``).

    Parameters
    ----------
    texts : iterable of str

    Returns
    -------
    list of str
    """
    return sorted(texts, key=_natural_key)


def _natural_key(text):
    parts = re.split(r"([0-9]+)", text)
    return [int(part) if index % 2 else part.lower() for index, part in enumerate(parts)], text


def _read_pixels(path):
    """Return the pixels of an image file as they are stored."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file {str(path)!r}. Check the path and the file name.")
    try:
        return np.asarray(skimage.io.imread(path))
    except Exception as error:
        raise ValueError(
            f"Could not read {str(path)!r}: it is damaged (e.g. an interrupted copy) or not a "
            f"PNG, TIFF or JPEG image. Open it in Fiji/ImageJ and save it again as PNG or "
            f"TIFF, or move it out of the folder."
        ) from error


def _scale_to_unit(pixels, path):
    """Return float32 pixels in [0, 1]: 8-bit / 255, 16-bit / 65535, floats in [0, 1] as they are."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / 65535
    if pixels.dtype == bool:
        return pixels.astype(np.float32)
    if pixels.dtype.kind == "f" and pixels.size and 0 <= pixels.min() and pixels.max() <= 1:
        return pixels.astype(np.float32)
    raise ValueError(
        f"Image {str(path)!r} has pixel type {pixels.dtype} with values from {pixels.min()} to "
        f"{pixels.max()}; expected 8-bit or 16-bit integers, or floats in [0, 1]. Convert it "
        f"to 8-bit or 16-bit (Fiji: Image > Type) and save it again."
    )


def _grey_mask_pixels(pixels, path):
    """Return the 2-D pixels of a mask file; colour is accepted only when it is grey."""
    if pixels.ndim == 3 and pixels.shape[-1] in (2, 4):
        pixels = pixels[..., :-1]  # drop the alpha channel
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        red, green, blue = np.moveaxis(pixels, -1, 0)
        if not (np.array_equal(red, green) and np.array_equal(red, blue)):
            raise ValueError(f"Mask {str(path)!r} is a colour image (red, green and blue differ). {MASK_FIX}")
    if pixels.ndim == 3:
        pixels = pixels[..., 0]
    if pixels.ndim != 2:
        raise ValueError(
            f"Mask {str(path)!r} has shape {pixels.shape}; expected one 2-D mask. "
            f"Save one mask per image, with the same name as the image."
        )
    return pixels


def _non_binary_message(path, values):
    shown = ", ".join(f"{value:g}" for value in values[:6].tolist())
    if len(values) > 6:
        shown += ", ..."
    message = (
        f"Mask {str(path)!r} has {len(values)} different values ({shown}); a mask must have "
        f"only 0 (background) and 255 or 1 (foreground). {MASK_FIX}"
    )
    if Path(path).suffix.lower() in (".jpg", ".jpeg"):
        message += " JPEG compression changes pixel values: save masks as PNG or TIFF."
    return message


def _files_by_stem(folder, kind):
    """Return ``{stem: path}`` of the image files in ``folder`` (hidden files are skipped)."""
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(
            f"The {kind} folder {str(folder)!r} {what}. Check the path (in Colab, mount "
            f"Google Drive first and copy the path from the file browser)."
        )
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    found = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    if not found:
        others = f" It holds: {', '.join(p.name for p in files[:5])}." if files else " It is empty."
        raise FileNotFoundError(
            f"No {kind} files in {str(folder)!r}.{others} Put the {kind}s there as "
            f"{', '.join(IMAGE_EXTENSIONS)} files."
        )
    by_stem = collections.defaultdict(list)
    for path in found:
        by_stem[path.stem].append(path)
    doubles = [" and ".join(p.name for p in paths) for paths in by_stem.values() if len(paths) > 1]
    if doubles:
        raise ValueError(
            f"In {str(folder)!r} several {kind} files have the same name: {'; '.join(doubles)}. "
            f"Keep one file per name so that each image pairs with one mask."
        )
    return {stem: paths[0] for stem, paths in by_stem.items()}


def _check_every_image_has_a_mask(image_files, mask_files, image_folder, mask_folder):
    without_mask = natural_sorted(set(image_files) - set(mask_files))
    without_image = natural_sorted(set(mask_files) - set(image_files))
    if not (without_mask or without_image):
        return
    problems = []
    if without_mask:
        names = ", ".join(image_files[stem].name for stem in without_mask)
        problems.append(f"images without a mask in {str(mask_folder)!r}: {names}")
    if without_image:
        names = ", ".join(mask_files[stem].name for stem in without_image)
        problems.append(f"masks without an image in {str(image_folder)!r}: {names}")
    raise ValueError(
        f"Images and masks do not pair up: {'; '.join(problems)}. Each image needs a mask with "
        f"the same file name (7.png <-> 7.png or 7.tif <-> 7.png; not 7_mask.png): rename, "
        f"add or remove those files."
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
        f"{size}, {'grey' if channels == 1 else 'colour'}: {_few(names)}"
        for (size, channels), names in by_size.items()
    )
    raise ValueError(
        f"The images differ in size or colour ({groups}). Crop or tile them to one size "
        f"(e.g. cut big images into tiles), convert them all to grey or all to colour, or load "
        f"each size from its own folder."
    )


def _few(names, shown=5):
    """Return the first few names joined by commas, with ``...`` when there are more."""
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")


def _size(array):
    """Return ``"width x height"`` of an image array."""
    return f"{array.shape[1]}x{array.shape[0]}"
