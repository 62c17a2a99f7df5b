"""The data sets of the notebooks, each by mode: real data in ``default`` mode, bundled in ``smoke``.

Every ``load_<set>(mode)`` follows one rule (:func:`_real_or_bundled`): in ``"smoke"`` mode the
tiny bundled look-alike in ``data/``; in ``"default"`` the real set, downloaded once and checked
by sha256, or, if that fails, the bundled set with a message why. Each set's ``source`` says which.

Then the split: the network learns from the training images, choices (threshold, epoch, settings)
are made on the validation images, and the scores are measured once on the test images. Sections of
one stack look like their neighbours, so they are split in stack order; independent images at random.
"""

import collections
from pathlib import Path

import numpy as np

from helpers import download
from helpers._checks import as_class_ids, check_mode
from helpers.course import course_root
from helpers.imageio import SegmentationSet, load_pairs, natural_sorted, read_image, read_mask
from helpers.synthetic import KIDNEY_CLASS_NAMES

__all__ = [
    "SegmentationSet",
    "VNC_CLASS_NAMES",
    "KIDNEY_CLASS_NAMES",
    "load_membranes",
    "load_small_foreground",
    "load_multiclass",
    "load_nuclei",
    "load_volumes",
    "load_drosophila_vnc",
    "example_inputs",
    "write_example_folder",
    "split_indices",
    "split_consecutive",
    "split_images",
    "split_volumes",
    "write_stack",
    "write_example_stacks",
]

#: The ISBI 2012 training images and labels inside the downloaded dataset.
ISBI_TRAIN_FOLDER = "data/membrane/train/"
#: The DSB 2018 training images inside the downloaded dataset.
DSB_FOLDER = "stage1_train/"


def _size(array):
    """Return ``"width x height"`` of an image array."""
    return f"{array.shape[1]}x{array.shape[0]}"


def _real_or_bundled(mode, load_real, load_bundled, what, bundled_what):
    """The one mode-and-fallback rule: bundled in smoke mode; real, or bundled if it cannot be had.

    ``load_real, load_bundled``: Functions of no arguments returning the data set.
    ``what``: The real data set, for the message, e.g. "the ISBI 2012 membranes".
    ``bundled_what``: The bundled set, for the message, e.g. "synthetic membranes (data/membranes)".
    """
    check_mode(mode)
    if mode == "smoke":
        return load_bundled()
    try:
        return load_real()
    except download.DatasetUnavailable as error:
        print(
            f"Could not get {what}.\n{error}\nThe notebook continues with the bundled {bundled_what}. "
            f"For the real data, fix the problem above and run this cell again."
        )
        return load_bundled()


def _bundled_names(folder, suffix, script):
    """The file names (without suffix) in ``folder/images``, in natural order; raise if there are none."""
    names = natural_sorted(path.stem for path in (folder / "images").glob(f"*{suffix}"))
    if not names:
        raise FileNotFoundError(f"No images in {folder / 'images'}; run python data/{script}.")
    return names


def _bundled_pairs(name):
    """Read the bundled set data/<name>/images + masks; its source says it is synthetic."""
    folder = course_root() / "data" / name
    pairs = load_pairs(folder / "images", folder / "masks")
    return pairs._replace(source=f"bundled synthetic {name} (data/{name})")


def bundled_membranes():
    """Return the small synthetic EM-like membrane set of the course (``data/membranes``; mask 1 = membrane)."""
    return _bundled_pairs("membranes")


def bundled_mitochondria():
    """Return the small synthetic EM-like mitochondria set of the course (``data/mitochondria``, 5% foreground)."""
    return _bundled_pairs("mitochondria")


def load_membranes(mode):
    """Return the membrane images and masks for a notebook mode (notebooks 01-03, 08).

    ``mode``: ``"smoke"``: the bundled synthetic set. ``"default"``: the 30 ISBI 2012 training images (downloaded
    once), with masks inverted so that 1 = membrane; the bundled set if the download fails.
    """
    return _real_or_bundled(
        mode,
        _isbi_membranes,
        bundled_membranes,
        "the ISBI 2012 membranes",
        "synthetic membranes (data/membranes), which are smaller and easier",
    )


def _isbi_membranes():
    root = download.fetch_dataset("isbi2012", files_under=ISBI_TRAIN_FOLDER)
    train = root / ISBI_TRAIN_FOLDER
    # ISBI labels are 255 = cell interior, 0 = membrane; the course segments the membranes.
    pairs = load_pairs(train / "image", train / "label", invert_masks=True)
    return pairs._replace(
        source="ISBI 2012 EM membranes (Cardona et al. 2010), training set; masks inverted so 1 = membrane"
    )


def load_small_foreground(mode):
    """Return the images of notebook 04: a task where the foreground is a small share of pixels.

    ``mode``: ``"default"``: mitochondria of the Drosophila VNC stack (about 5% of the pixels), shrunk 2x to 512x512
    (downloaded once). ``"smoke"``: the bundled synthetic mitochondria (data/mitochondria, about 5% too). The
    bundled set if the download fails.
    """
    return _real_or_bundled(
        mode,
        lambda: load_drosophila_vnc("mitochondria", downscale=2),
        bundled_mitochondria,
        "the Drosophila VNC stack",
        "synthetic mitochondria (data/mitochondria)",
    )


def load_multiclass(mode):
    """Return the images, label maps and class names of notebook 05.

    ``mode``: ``"default"``: the Drosophila VNC stack with 5 classes, shrunk 4x to 256x256 (downloaded once).
    ``"smoke"``: the bundled 4-class kidney look-alike (data/kidney). The bundled set if the download fails.
    Returns: ``masks`` hold class ids (float32, shape (N, H, W, 1)).
    """
    return _real_or_bundled(
        mode,
        lambda: (load_drosophila_vnc("classes", downscale=4), VNC_CLASS_NAMES),
        lambda: (bundled_kidney(), KIDNEY_CLASS_NAMES),
        "the Drosophila VNC stack",
        "kidney look-alike (data/kidney)",
    )


def bundled_kidney():
    """Read data/kidney (made by data/make_kidney_data.py): 4-class label maps, as a SegmentationSet."""
    folder = course_root() / "data" / "kidney"
    names = _bundled_names(folder, ".png", "make_kidney_data.py")
    images = np.stack([read_image(folder / "images" / f"{n}.png") for n in names])
    labels = np.stack([as_class_ids(read_mask(folder / "labels" / f"{n}.png"), 4, f"{n}.png") for n in names])
    return SegmentationSet(
        images.astype(np.float32),
        labels[..., None].astype(np.float32),
        names,
        "bundled kidney look-alike (data/kidney): background, stroma, cap mesenchyme, ureteric tree",
    )


#: Images of nuclei with a label image each: ``images`` (N, S, S, 1) float32 in [0, 1] (nuclei
#: bright), ``labels`` (N, S, S) int32 (0 = background, 1, 2, ... = one number per nucleus),
#: ``names`` and ``source``.
NucleusSet = collections.namedtuple("NucleusSet", "images labels names source")


def bundled_nuclei():
    """Return the synthetic nucleus set of the course (``data/nuclei``: 12 grey 128x128 images, nuclei touching)."""
    folder = course_root() / "data" / "nuclei"
    names = _bundled_names(folder, ".png", "make_nuclei.py")
    images = np.stack([read_image(folder / "images" / f"{name}.png") for name in names])
    labels = np.stack([read_mask(folder / "labels" / f"{name}.png").astype(np.int32) for name in names])
    return NucleusSet(images, labels, names, "bundled synthetic nuclei (data/nuclei)")


def dsb_label_image(mask_paths, shape):
    """Build one label image from one-PNG-per-nucleus masks (the DSB 2018 layout).

    ``mask_paths``: Each file is one nucleus, non-zero inside it. Sorted by name, they get ids 1, 2, ...
    Where masks overlap, the first one keeps the pixel.
    """
    labels = np.zeros(shape, np.int32)
    for number, path in enumerate(sorted(mask_paths, key=lambda p: Path(p).name), start=1):
        pixels = read_mask(path)
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

    ``mode``: ``"smoke"``: the bundled synthetic set. ``"default"``: the 50 DSB 2018 training images (downloaded
    once, about 8 MB), each turned grey with bright nuclei, its contrast stretched, cut to its top-left ``size`` x
    ``size`` pixels, and its one-file-per-nucleus masks joined into one label image. If the download fails, a
    message says why and the bundled set is returned instead.
    ``size``: Side of the cut-out (every DSB 2018 image is at least 256x256).
    """
    return _real_or_bundled(
        mode, lambda: _dsb_nuclei(size), bundled_nuclei, "the DSB 2018 nuclei", "synthetic nuclei (data/nuclei)"
    )


def _dsb_nuclei(size):
    import skimage.segmentation

    root = download.fetch_dataset("dsb2018_subset", files_under=DSB_FOLDER)
    images, labels, names = [], [], []
    for folder in sorted((root / DSB_FOLDER).iterdir()):
        image_files = sorted((folder / "images").glob("*.png"))
        if not folder.is_dir() or not image_files:
            continue
        image = read_image(image_files[0])
        if min(image.shape[:2]) < size:
            raise ValueError(f"Image {image_files[0]} is {_size(image)}, smaller than size={size}; use a smaller size.")
        label = dsb_label_image(sorted((folder / "masks").glob("*.png")), image.shape[:2])
        images.append(_grey_nuclei_bright(image)[:size, :size, np.newaxis])
        labels.append(skimage.segmentation.relabel_sequential(label[:size, :size])[0].astype(np.int32))
        names.append(folder.name[:8])
    source = f"DSB 2018 nuclei (Caicedo et al. 2019), {len(names)} training images, top-left {size}x{size}"
    return NucleusSet(np.stack(images), np.stack(labels), names, source)


#: Volumes with masks: ``volumes`` (N, D, H, W, C) float32 in [0, 1] (or a list of (D, H, W, C) of
#: several sizes), ``masks`` the same with 1 channel (class ids), ``names``, ``source`` and ``spacing``
#: (z, y, x) of a voxel in µm, or None when unknown.
VolumeSet = collections.namedtuple("VolumeSet", "volumes masks names source spacing", defaults=(None,))


def bundled_volumes():
    """Return the synthetic volumes of the course (``data/volumes``: 6 x 8 x 64 x 64, 2 channels; mask 1 = cell)."""
    import tifffile

    folder = course_root() / "data" / "volumes"
    names = _bundled_names(folder, ".tif", "make_volumes.py")
    volumes = np.stack([tifffile.imread(folder / "images" / f"{n}.tif") for n in names]).astype(np.float32) / 255
    masks = np.stack([tifffile.imread(folder / "masks" / f"{n}.tif") for n in names]).astype(np.float32)
    source = "bundled synthetic 2-channel cell volumes (data/volumes)"
    return VolumeSet(volumes, masks[..., np.newaxis], names, source, (4.0, 1.0, 1.0))  # µm: make_volumes.py Z_SCALE


def load_volumes(mode, shrink=4):
    """Return 3-D volumes with masks for a notebook mode.

    ``mode``: ``"smoke"``: the bundled synthetic volumes. ``"default"``: the Drosophila VNC serial-section TEM stack
    (downloaded once, about 22 MB) as one volume of 20 sections, with the membrane mask (label values 0-128). If the
    download fails, a message says why and the bundled set is returned instead.
    ``shrink``: Default mode only: shrink y and x by this factor (see :func:`load_drosophila_vnc`, which reads the
    stack) so that a CPU can train on it. 4 gives 20x256x256.
    """
    return _real_or_bundled(
        mode,
        lambda: _vnc_volume(shrink),
        bundled_volumes,
        "the Drosophila VNC stack",
        "synthetic volumes (data/volumes)",
    )


def _vnc_volume(shrink):
    stack = load_drosophila_vnc(target="membrane", downscale=shrink)
    volume = stack.images[np.newaxis].astype(np.float32)  # the 20 sections as one volume
    mask = stack.masks[np.newaxis].astype(np.float32)
    source = (
        f"Drosophila VNC ssTEM stack (Gerhard et al. 2013), {volume.shape[1]} sections, shrunk "
        f"{shrink}x in y and x; mask 1 = membrane"
    )
    return VolumeSet(
        volume.astype(np.float32), mask, ["stack1"], source, (0.045, 0.0046 * shrink, 0.0046 * shrink)
    )  # µm


def write_stack(path, pixels, spacing=None, unit=None):
    """Write a (Z, Y, X) or (Z, Y, X, C) stack as an ImageJ TIFF, with the voxel ``spacing`` (z, y, x) and its
    ``unit`` (such as "micron") if given."""
    import tifffile

    pixels = np.asarray(pixels)
    axes = "ZYX" if pixels.ndim == 3 else "ZCYX"
    pixels = pixels if pixels.ndim == 3 else np.moveaxis(pixels, -1, 1)
    options = {} if spacing is None else {"resolution": (1 / spacing[2], 1 / spacing[1])}  # x, then y
    metadata = {
        "axes": axes,
        **({} if spacing is None else {"spacing": spacing[0]}),
        **({"unit": unit} if unit else {}),
    }
    tifffile.imwrite(path, pixels, imagej=True, metadata=metadata, **options)


def write_example_stacks(volumes, folder):
    """Write a :data:`VolumeSet` as a folder of stacks, as notebook 06 reads your own: ``folder/images/<name>.tif``
    (8-bit, ImageJ TIFF with the spacing in µm) and ``folder/masks/<name>.tif``. An existing folder is used as it is.

    Returns: The image and mask folders.
    """
    folder = Path(folder)
    images, masks = folder / "images", folder / "masks"
    if folder.exists():
        print(f"{folder} exists; it is used as it is (nothing written).")
        return images, masks
    for path in (images, masks):
        path.mkdir(parents=True)
    for name, volume, mask in zip(volumes.names, volumes.volumes, volumes.masks):
        write_stack(images / f"{name}.tif", np.round(volume * 255).astype(np.uint8), volumes.spacing, "micron")
        write_stack(masks / f"{name}.tif", mask[..., 0].astype(np.uint8), volumes.spacing, "micron")
    print(f"Wrote {len(volumes.names)} stacks and their masks to {folder}.")
    return images, masks


#: The 5 classes of the Drosophila VNC labels, in the order of their class ids 0..4.
VNC_CLASS_NAMES = ("membrane", "glia/extracellular", "mitochondria", "synapse", "intracellular")


#: Grey value in the label PNGs -> class id. 0, 32, 64, 96 and 128 are kinds of membrane.
VNC_GREY_TO_CLASS = {0: 0, 32: 0, 64: 0, 96: 0, 128: 0, 159: 1, 191: 2, 223: 3, 255: 4}


def vnc_label_map(pixels):
    """Turn a Drosophila VNC label image (grey values) into class ids 0..4.

    ``pixels``: A label PNG as stored: 0, 32, 64, 96, 128 (membrane), 159 (glia/extracellular), 191 (mitochondria),
    223 (synapse), 255 (intracellular).
    Returns: Same shape, values 0..4 in the order of :data:`VNC_CLASS_NAMES`.
    """
    pixels = np.asarray(pixels)
    lookup = np.full(256, 255, dtype=np.uint8)
    for grey, class_id in VNC_GREY_TO_CLASS.items():
        lookup[grey] = class_id
    if pixels.dtype != np.uint8:
        if pixels.size and (pixels.min() < 0 or pixels.max() > 255):
            raise ValueError(
                f"VNC labels are 8-bit grey values, but these range from {pixels.min()} to {pixels.max()}."
            )
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

    ``target``: ``"classes"``: masks hold the class ids 0..4 of :data:`VNC_CLASS_NAMES`. The name of one class
    (``"mitochondria"``, ``"synapse"``, ``"membrane"``, ...): masks hold 1 on that class and 0 elsewhere.
    ``downscale``: Shrink the 1024x1024 sections by this whole factor (pixel means for the images, every
    ``downscale``-th pixel for the labels, so the class ids stay whole numbers).
    Returns: ``images`` (20, H, W, 1) float32 in [0, 1]; ``masks`` (20, H, W, 1) float32 of class ids or of 0 and 1;
    ``names`` "00".."19"; ``source`` with the citation.
    """
    if target != "classes" and target not in VNC_CLASS_NAMES:
        raise ValueError(f"target must be 'classes' or one of {', '.join(VNC_CLASS_NAMES)}; got {target!r}.")
    if not (isinstance(downscale, (int, np.integer)) and downscale >= 1):
        raise ValueError(f"downscale must be a whole number >= 1, got {downscale!r}.")
    root = download.fetch_dataset("drosophila_vnc", files_under=("stack1/raw/", "stack1/labels/"))
    images, masks, names = [], [], []
    for raw in natural_sorted(p.name for p in (root / "stack1" / "raw").glob("*.tif")):
        name = Path(raw).stem
        image = read_image(root / "stack1" / "raw" / raw)[..., 0]
        labels = vnc_label_map(read_mask(root / "stack1" / "labels" / f"labels000000{name}.png"))
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


# ---------------------------------------------------------------------------------------
# The example "user folder" of notebook 08
# ---------------------------------------------------------------------------------------

#: ISBI 2012 images without labels, used as "new images" to predict in default mode.
ISBI_TEST_FOLDER = "data/membrane/test/"


def example_inputs(mode):
    """Return (SegmentationSet, list of new images) for notebook 08's example folder.

    ``"smoke"``: the bundled synthetic membranes, two of them again as new images.
    ``"default"``: the 30 ISBI 2012 training pairs and the first 3 ISBI test images (no masks),
    fetched through :mod:`helpers.download`.
    """
    pairs = load_membranes(mode)
    if mode == "smoke" or not pairs.source.startswith("ISBI"):
        return pairs, list(pairs.images[:2])
    root = download.fetch_dataset("isbi2012", files_under=ISBI_TEST_FOLDER)
    return pairs, [read_image(root / ISBI_TEST_FOLDER / f"{index}.png") for index in range(3)]


def _to_uint8(array):
    return np.round(np.asarray(array)[..., 0] * 255).astype(np.uint8)


def write_example_folder(pairs, new_images, folder):
    """Write a "user folder" of images, masks and new images, with five typical problems planted.

    Planted: the 2nd mask is named ``<name>_mask.png``; the 3rd mask is saved as 0/1 instead
    of 0/255; the 4th pair is cropped to 470x500 pixels (not divisible by 16); the 5th image is
    saved as RGB; ``images/README.txt`` is not an image. If ``folder`` exists, it is used as it
    is and nothing is written.

    ``pairs``: At least 5 pairs, masks 1 = structure.
    Returns: The image, mask and new-image folders.
    """
    import skimage.io

    folder = Path(folder)
    images, masks, new = folder / "images", folder / "masks", folder / "new-images"
    if folder.exists():
        print(f"{folder} exists; it is used as it is (nothing written).")
        return images, masks, new
    if len(pairs.images) < 5:
        raise ValueError(f"The example needs at least 5 image/mask pairs, got {len(pairs.images)}.")
    for path in (images, masks, new):
        path.mkdir(parents=True)
    for index, (name, image, mask) in enumerate(zip(pairs.names, pairs.images, pairs.masks)):
        image, mask = _to_uint8(image), _to_uint8(mask)
        mask_name = f"{name}.png"
        if index == 1:
            mask_name = f"{name}_mask.png"
        if index == 2:
            mask = (mask > 0).astype(np.uint8)
        if index == 3:
            image, mask = image[:500, :470], mask[:500, :470]
        if index == 4:
            image = np.repeat(image[..., np.newaxis], 3, axis=-1)
        skimage.io.imsave(images / f"{name}.png", image, check_contrast=False)
        skimage.io.imsave(masks / mask_name, mask, check_contrast=False)
    (images / "README.txt").write_text("Images of my experiment, 2026.\n", encoding="utf-8")
    for index, image in enumerate(new_images):
        skimage.io.imsave(new / f"new-{index}.png", _to_uint8(image), check_contrast=False)
    print(f"Wrote {len(pairs.images)} images, their masks and {len(new_images)} new images to {folder}.")
    return images, masks, new


# ---- Training, validation and test: in stack order or at random


def split_indices(n, n_validation, n_test, seed=0):
    """Split ``range(n)`` at random into training, validation and test indices.

    ``n``: Number of images.
    ``n_validation, n_test``: How many go to validation and to test; the rest (at least one) is for training.
    ``seed``: The same seed gives the same split.
    Returns: Sorted, disjoint, and together exactly ``0, 1, ..., n - 1``.
    """
    if min(n, n_validation, n_test) < 0:
        raise ValueError(f"Counts must not be negative; got n={n}, n_validation={n_validation}, n_test={n_test}.")
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
    the test scores too good. Consecutive blocks touch only at their two borders. ``n`` images in
    stack order: ``n_validation`` and ``n_test`` go to validation and test, the rest (at least one) to training.

    >>> [part.tolist() for part in split_consecutive(6, 1, 2)]
    [[0, 1, 2], [3], [4, 5]]
    """
    if min(n, n_validation, n_test) < 0:
        raise ValueError(f"Counts must not be negative; got n={n}, n_validation={n_validation}, n_test={n_test}.")
    n_train = n - n_validation - n_test
    if n_train < 1:
        raise ValueError(
            f"n_validation + n_test = {n_validation} + {n_test} leaves no image for training "
            f"out of n = {n}. Use fewer validation or test images, or add images."
        )
    order = np.arange(n)
    return order[:n_train], order[n_train : n_train + n_validation], order[n_train + n_validation :]


#: The ways :func:`split_images` can divide images into training, validation and test.
SPLIT_CHOICES = ("in stack order", "at random")


def split_images(n, n_validation, n_test, how, seed=0):
    """Split ``range(n)`` with :func:`split_consecutive` or :func:`split_indices`, as ``how`` says.

    ``how``: ``"in stack order"`` for sections of one stack or frames of one movie (neighbours look alike); ``"at
    random"`` for independent images.
    ``seed``: Used by ``"at random"`` only.
    """
    if how == "in stack order":
        return split_consecutive(n, n_validation, n_test)
    if how == "at random":
        return split_indices(n, n_validation, n_test, seed=seed)
    raise ValueError(f"how must be one of {SPLIT_CHOICES}, got {how!r}.")


def split_volumes(volumes, masks, fractions=(0.6, 0.2, 0.2)):
    """Split volumes into training, validation and test parts.

    Several volumes (a list, sizes may differ, or an (n, d, H, W, C) array) are split volume by volume (at
    least one each for validation and test); a single volume is split along z into consecutive blocks of
    sections, so that no section is in two parts.

    ``fractions``: Shares for training, validation and test.
    Returns: Each part a pair (volumes, masks), as lists of (d, H, W, C) and (d, H, W, K) arrays.
    """
    volumes, masks = [np.asarray(v) for v in volumes], [np.asarray(m) for m in masks]
    if len(volumes) != len(masks) or any(v.ndim != 4 or m.shape[:3] != v.shape[:3] for v, m in zip(volumes, masks)):
        raise ValueError(
            "volumes must be (depth, height, width, channels) each, and masks the same but for the last axis; got "
            f"{[v.shape for v in volumes][:3]} and {[m.shape for m in masks][:3]}."
        )
    count, depth = len(volumes), len(volumes[0])
    n = count if count > 1 else depth
    n_validation = max(1, int(round(n * fractions[1])))
    n_test = max(1, int(round(n * fractions[2])))
    if n - n_validation - n_test < 1:
        raise ValueError(f"{n} {'volumes' if count > 1 else 'sections'} are too few to split into three parts.")
    bounds = [0, n - n_validation - n_test, n - n_test, n]
    if count > 1:
        return tuple((volumes[a:b], masks[a:b]) for a, b in zip(bounds, bounds[1:]))
    return tuple(([volumes[0][a:b]], [masks[0][a:b]]) for a, b in zip(bounds, bounds[1:]))
