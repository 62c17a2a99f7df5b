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


def split_consecutive(n, n_validation, n_test):
    """Split ``range(n)`` into consecutive blocks: training first, then validation, then test.

    Use it for the sections of one stack (serial sections, time-lapse frames): neighbours look
    alike, so a random split would put near-twins of the test images into training and make
    the test scores too good. Consecutive blocks touch only at their two borders.

    Parameters
    ----------
    n : int
        Number of images, in stack order.
    n_validation, n_test : int
        How many go to validation and to test; the rest (at least one) is for training.

    Returns
    -------
    train, validation, test : ndarray of int

    Examples
    --------
    >>> [part.tolist() for part in split_consecutive(6, 1, 2)]
    [[0, 1, 2], [3], [4, 5]]
    """
    if min(n, n_validation, n_test) < 0:
        raise ValueError(
            f"Counts must not be negative; got n={n}, n_validation={n_validation}, n_test={n_test}."
        )
    n_train = n - n_validation - n_test
    if n_train < 1:
        raise ValueError(
            f"n_validation + n_test = {n_validation} + {n_test} leaves no image for training "
            f"out of n = {n}. Use fewer validation or test images, or add images."
        )
    order = np.arange(n)
    return order[:n_train], order[n_train:n_train + n_validation], order[n_train + n_validation:]


#: The ways :func:`split_images` can divide images into training, validation and test.
SPLIT_CHOICES = ("in stack order", "at random")


def split_images(n, n_validation, n_test, how, seed=0):
    """Split ``range(n)`` with :func:`split_consecutive` or :func:`split_indices`, as ``how`` says.

    Parameters
    ----------
    n, n_validation, n_test : int
    how : {"in stack order", "at random"}
        ``"in stack order"`` for sections of one stack or frames of one movie (neighbours look
        alike); ``"at random"`` for independent images.
    seed : int
        Used by ``"at random"`` only.

    Returns
    -------
    train, validation, test : ndarray of int
    """
    if how == "in stack order":
        return split_consecutive(n, n_validation, n_test)
    if how == "at random":
        return split_indices(n, n_validation, n_test, seed=seed)
    raise ValueError(f"how must be one of {SPLIT_CHOICES}, got {how!r}.")


def _bundled_pairs(name):
    """Read the bundled set data/<name>/images + masks; its source says it is synthetic."""
    folder = course_root() / "data" / name
    pairs = load_pairs(folder / "images", folder / "masks")
    return pairs._replace(source=f"bundled synthetic {name} (data/{name})")


def bundled_membranes():
    """Return the small synthetic EM-like membrane set that comes with the course.

    Returns
    -------
    SegmentationSet
        From ``data/membranes/images`` and ``data/membranes/masks``; mask 1 = membrane.
    """
    return _bundled_pairs("membranes")


def bundled_mitochondria():
    """Return the small synthetic EM-like mitochondria set (about 5% foreground) of the course.

    Returns
    -------
    SegmentationSet
        From ``data/mitochondria/images`` and ``.../masks`` (made by data/make_bundled_data.py);
        mask 1 = mitochondrion.
    """
    return _bundled_pairs("mitochondria")


def fallback_message(what, error, bundled):
    """Say which download failed and why, and that the notebook goes on with bundled data."""
    return (f"Could not get {what}.\n{error}\nThe notebook continues with the bundled {bundled}. "
            f"For the real data, fix the problem above and run this cell again.")


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
        print(fallback_message("the ISBI 2012 membranes", error,
                               "synthetic membranes (data/membranes), which are smaller and easier"))
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


# --- nuclei with instance labels (notebook 07) ---------------------------------------------

#: Images of nuclei with a label image each: ``images`` (N, S, S, 1) float32 in [0, 1] (nuclei
#: bright), ``labels`` (N, S, S) int32 (0 = background, 1, 2, ... = one number per nucleus),
#: ``names`` and ``source``.
NucleusSet = collections.namedtuple("NucleusSet", "images labels names source")

#: The DSB 2018 training images inside the downloaded dataset.
DSB_FOLDER = "stage1_train/"


def bundled_nuclei():
    """Return the small synthetic nucleus set of the course (``data/nuclei``, made by data/make_nuclei.py).

    Returns
    -------
    NucleusSet
        12 grey 128x128 images, many nuclei touching in pairs.
    """
    folder = course_root() / "data" / "nuclei"
    names = natural_sorted(p.stem for p in (folder / "images").glob("*.png"))
    if not names:
        raise FileNotFoundError(f"No images in {folder / 'images'}. Run: python data/make_nuclei.py")
    images = np.stack([load_image(folder / "images" / f"{name}.png") for name in names])
    labels = np.stack([_read_pixels(folder / "labels" / f"{name}.png").astype(np.int32) for name in names])
    return NucleusSet(images, labels, names, "bundled synthetic nuclei (data/nuclei)")


def dsb_label_image(mask_paths, shape):
    """Build one label image from one-PNG-per-nucleus masks (the DSB 2018 layout).

    Parameters
    ----------
    mask_paths : list of path
        Each file is one nucleus, non-zero inside it. Sorted by name, they get ids 1, 2, ...
    shape : tuple of int
        (height, width) of the image.

    Returns
    -------
    ndarray of int32, shape ``shape``
        Where masks overlap, the first one keeps the pixel.

    Raises
    ------
    ValueError
        If a mask has another size than the image.
    """
    labels = np.zeros(shape, np.int32)
    for number, path in enumerate(sorted(mask_paths, key=lambda p: Path(p).name), start=1):
        pixels = _read_pixels(path)
        if pixels.ndim == 3:
            pixels = pixels[..., 0]
        if pixels.shape != tuple(shape):
            raise ValueError(
                f"Nucleus mask {str(path)!r} is {_size(pixels)} but its image is {shape[1]}x{shape[0]}; "
                f"each nucleus mask must cover the whole image."
            )
        labels[(pixels > 0) & (labels == 0)] = number
    return labels


def _grey_nuclei_bright(image):
    """Return the grey version of an (H, W, C) image with nuclei bright (bright-field images are inverted)."""
    grey = image.mean(axis=-1)
    if np.median(grey) > 0.5:  # bright background (bright-field, H&E): nuclei are dark
        grey = 1.0 - grey
    low, high = np.percentile(grey, [1, 99.8])
    return np.clip((grey - low) / max(high - low, 1e-6), 0, 1).astype(np.float32)


def load_nuclei(mode, size=256):
    """Return nucleus images with instance label images for a notebook mode.

    Parameters
    ----------
    mode : {"smoke", "default"}
        ``"smoke"``: the bundled synthetic set. ``"default"``: the 50 DSB 2018 training images
        (downloaded once, about 8 MB), each turned grey with bright nuclei, its contrast
        stretched, cut to its top-left ``size`` x ``size`` pixels, and its one-file-per-nucleus
        masks joined into one label image. If the download fails, a message says why and the
        bundled set is returned instead.
    size : int
        Side of the cut-out (every DSB 2018 image is at least 256x256).

    Returns
    -------
    NucleusSet
    """
    import skimage.segmentation

    if mode == "smoke":
        return bundled_nuclei()
    if mode != "default":
        raise ValueError(f"Unknown mode {mode!r}; use 'smoke' or 'default'.")
    try:
        root = download.fetch_dataset("dsb2018_subset", files_under=DSB_FOLDER)
    except download.DatasetUnavailable as error:
        print(fallback_message("the DSB 2018 nuclei", error, "synthetic nuclei (data/nuclei)"))
        return bundled_nuclei()
    images, labels, names = [], [], []
    for folder in sorted((root / DSB_FOLDER).iterdir()):
        image_files = sorted((folder / "images").glob("*.png"))
        if not folder.is_dir() or not image_files:
            continue
        image = load_image(image_files[0])
        if min(image.shape[:2]) < size:
            raise ValueError(f"Image {image_files[0]} is {_size(image)}, smaller than size={size}; use a smaller size.")
        label = dsb_label_image(sorted((folder / "masks").glob("*.png")), image.shape[:2])
        images.append(_grey_nuclei_bright(image)[:size, :size, np.newaxis])
        labels.append(skimage.segmentation.relabel_sequential(label[:size, :size])[0].astype(np.int32))
        names.append(folder.name[:8])
    source = f"DSB 2018 nuclei (Caicedo et al. 2019), {len(names)} training images, top-left {size}x{size}"
    return NucleusSet(np.stack(images), np.stack(labels), names, source)


# --- 3-D volumes (notebook 06) ---------------------------------------------------------------

#: Volumes with masks: ``volumes`` (N, D, H, W, C) float32 in [0, 1], ``masks`` (N, D, H, W, 1)
#: float32 0/1, ``names`` and ``source``.
VolumeSet = collections.namedtuple("VolumeSet", "volumes masks names source")

def bundled_volumes():
    """Return the small synthetic two-channel volumes of the course (``data/volumes``, made by data/make_volumes.py).

    Returns
    -------
    VolumeSet
        6 volumes of 8 sections of 64x64 pixels, 2 channels; mask 1 = inside a cell.
    """
    import tifffile

    folder = course_root() / "data" / "volumes"
    names = natural_sorted(p.stem for p in (folder / "images").glob("*.tif"))
    if not names:
        raise FileNotFoundError(f"No volumes in {folder / 'images'}. Run: python data/make_volumes.py")
    volumes = np.stack([tifffile.imread(folder / "images" / f"{n}.tif") for n in names]).astype(np.float32) / 255
    masks = np.stack([tifffile.imread(folder / "masks" / f"{n}.tif") for n in names]).astype(np.float32)
    return VolumeSet(volumes, masks[..., np.newaxis], names, "bundled synthetic 2-channel cell volumes (data/volumes)")


def load_volumes(mode, shrink=4):
    """Return 3-D volumes with masks for a notebook mode.

    Parameters
    ----------
    mode : {"smoke", "default"}
        ``"smoke"``: the bundled synthetic volumes. ``"default"``: the Drosophila VNC serial-section
        TEM stack (downloaded once, about 22 MB) as one volume of 20 sections, with the membrane
        mask (label values 0-128). If the download fails, a message says why and the bundled set
        is returned instead.
    shrink : int
        Default mode only: shrink y and x by this factor (see :func:`load_drosophila_vnc`,
        which reads the stack) so that a CPU can train on it. 4 gives 20x256x256.

    Returns
    -------
    VolumeSet
    """
    if mode == "smoke":
        return bundled_volumes()
    if mode != "default":
        raise ValueError(f"Unknown mode {mode!r}; use 'smoke' or 'default'.")
    try:
        stack = load_drosophila_vnc(target="membrane", downscale=shrink)
    except download.DatasetUnavailable as error:
        print(fallback_message("the Drosophila VNC stack", error, "synthetic volumes (data/volumes)"))
        return bundled_volumes()
    volume = stack.images[np.newaxis].astype(np.float32)  # the 20 sections as one volume
    mask = stack.masks[np.newaxis].astype(np.float32)
    source = (f"Drosophila VNC ssTEM stack (Gerhard et al. 2013), {volume.shape[1]} sections, shrunk "
              f"{shrink}x in y and x; mask 1 = membrane")
    return VolumeSet(volume.astype(np.float32), mask, ["stack1"], source)


# ---------------------------------------------------------------------------------------
# Drosophila VNC ssTEM stack (Gerhard et al. 2013): 5 classes, or one class as a mask
# ---------------------------------------------------------------------------------------

#: The 5 classes of the Drosophila VNC labels, in the order of their class ids 0..4.
VNC_CLASS_NAMES = ("membrane", "glia/extracellular", "mitochondria", "synapse", "intracellular")

#: Grey value in the label PNGs -> class id. 0, 32, 64, 96 and 128 are kinds of membrane.
VNC_GREY_TO_CLASS = {0: 0, 32: 0, 64: 0, 96: 0, 128: 0, 159: 1, 191: 2, 223: 3, 255: 4}


def vnc_label_map(pixels):
    """Turn a Drosophila VNC label image (grey values) into class ids 0..4.

    Parameters
    ----------
    pixels : array_like of int
        A label PNG as stored: 0, 32, 64, 96, 128 (membrane), 159 (glia/extracellular),
        191 (mitochondria), 223 (synapse), 255 (intracellular).

    Returns
    -------
    ndarray of uint8
        Same shape, values 0..4 in the order of :data:`VNC_CLASS_NAMES`.

    Raises
    ------
    ValueError
        If a grey value is not one of the nine above.
    """
    pixels = np.asarray(pixels)
    lookup = np.full(256, 255, dtype=np.uint8)
    for grey, class_id in VNC_GREY_TO_CLASS.items():
        lookup[grey] = class_id
    if pixels.dtype != np.uint8:
        if pixels.size and (pixels.min() < 0 or pixels.max() > 255):
            raise ValueError(f"VNC labels are 8-bit grey values, but these range from {pixels.min()} to {pixels.max()}.")
        pixels = pixels.astype(np.uint8)
    labels = lookup[pixels]
    unknown = np.unique(pixels[labels == 255])
    if unknown.size:
        raise ValueError(
            f"Unknown grey values {unknown[:6].tolist()} in a VNC label image; expected "
            f"{sorted(VNC_GREY_TO_CLASS)}. Is this the labels/ folder of the dataset?"
        )
    return labels


def load_drosophila_vnc(target="classes", downscale=1):
    """Download (once) and read the 20 sections of the Drosophila VNC ssTEM stack.

    Parameters
    ----------
    target : str
        ``"classes"``: masks hold the class ids 0..4 of :data:`VNC_CLASS_NAMES`. The name of
        one class (``"mitochondria"``, ``"synapse"``, ``"membrane"``, ...): masks hold 1 on
        that class and 0 elsewhere.
    downscale : int
        Shrink the 1024x1024 sections by this whole factor (pixel means for the images,
        every ``downscale``-th pixel for the labels, so the class ids stay whole numbers).

    Returns
    -------
    SegmentationSet
        ``images`` (20, H, W, 1) float32 in [0, 1]; ``masks`` (20, H, W, 1) float32 of class
        ids or of 0 and 1; ``names`` "00".."19"; ``source`` with the citation.

    Raises
    ------
    ValueError
        For an unknown target or a downscale that is not a whole number >= 1 dividing 1024.
    helpers.download.DatasetUnavailable
        If the files cannot be downloaded; the message says why.
    """
    if target != "classes" and target not in VNC_CLASS_NAMES:
        raise ValueError(f"target must be 'classes' or one of {', '.join(VNC_CLASS_NAMES)}; got {target!r}.")
    if not (isinstance(downscale, (int, np.integer)) and downscale >= 1):
        raise ValueError(f"downscale must be a whole number >= 1, got {downscale!r}.")
    root = download.fetch_dataset("drosophila_vnc", files_under=("stack1/raw/", "stack1/labels/"))
    images, masks, names = [], [], []
    for raw in natural_sorted(p.name for p in (root / "stack1" / "raw").glob("*.tif")):
        name = Path(raw).stem
        image = _scale_to_unit(_read_pixels(root / "stack1" / "raw" / raw), raw)
        labels = vnc_label_map(_read_pixels(root / "stack1" / "labels" / f"labels000000{name}.png"))
        if image.shape[0] % downscale or image.shape[1] % downscale:
            raise ValueError(f"downscale {downscale} does not divide the image size {_size(image)}.")
        image = image.reshape(image.shape[0] // downscale, downscale, image.shape[1] // downscale, downscale)
        images.append(image.mean(axis=(1, 3)))
        labels = labels[::downscale, ::downscale]
        if target != "classes":
            labels = labels == VNC_CLASS_NAMES.index(target)
        masks.append(labels.astype(np.float32))
        names.append(name)
    what = "5 classes" if target == "classes" else f"{target} masks"
    source = f"Drosophila VNC ssTEM stack 1 (Gerhard et al. 2013, CC BY-NC-SA 3.0), {what}"
    if downscale > 1:
        source += f", shrunk {downscale}x"
    return SegmentationSet(np.stack(images)[..., None].astype(np.float32), np.stack(masks)[..., None], names, source)
