"""The data sets of the notebooks by mode, and their training / validation / test split.

Every ``load_<set>(mode)``: in ``"smoke"`` mode the tiny bundled look-alike in ``data/``; in ``"default"``
the real set (downloaded once, sha256-checked), or the bundled set with a message why. ``source`` says which.
Choices are made on the validation images, scores measured once on the test images.
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
    "SegmentationSet", "VolumeSet", "NucleusSet", "VNC_CLASS_NAMES", "KIDNEY_CLASS_NAMES",
    "load_membranes", "load_small_foreground", "load_multiclass", "load_nuclei", "load_volumes", "load_drosophila_vnc",
    "example_inputs", "write_example_folder", "write_stack", "write_example_stacks",
    "split_indices", "split_consecutive", "split_images", "split_volumes",
]  # fmt: skip

#: The ISBI 2012 training images and labels inside the downloaded dataset.
ISBI_TRAIN_FOLDER = "data/membrane/train/"
#: The DSB 2018 training images inside the downloaded dataset.
DSB_FOLDER = "stage1_train/"


def _size(array):
    """Return ``"width x height"`` of an image array."""
    return f"{array.shape[1]}x{array.shape[0]}"


def _real_or_bundled(mode, load_real, load_bundled, what, bundled_what):
    """The one mode rule: bundled in smoke mode; real, or bundled if it cannot be had (``what`` and
    ``bundled_what`` name them in the message; ``load_real``, ``load_bundled`` take no arguments)."""
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
    """Membrane images and masks (notebooks 01-03, 08): default, the 30 ISBI 2012 training images, masks
    inverted so that 1 = membrane; smoke, the bundled synthetic set."""
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
    """Notebook 04's small foreground (about 5% of the pixels): default, the mitochondria of the Drosophila VNC
    stack shrunk 2x to 512x512; smoke, the bundled synthetic mitochondria."""
    return _real_or_bundled(
        mode,
        lambda: load_drosophila_vnc("mitochondria", downscale=2),
        bundled_mitochondria,
        "the Drosophila VNC stack",
        "synthetic mitochondria (data/mitochondria)",
    )


def load_multiclass(mode):
    """Notebook 05's images, class-id masks (N, H, W, 1) and class names: default, the Drosophila VNC stack with
    5 classes shrunk 4x to 256x256; smoke, the bundled 4-class kidney look-alike (data/kidney)."""
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
    source = "bundled kidney look-alike (data/kidney): background, stroma, cap mesenchyme, ureteric tree"
    return SegmentationSet(images.astype(np.float32), labels[..., None].astype(np.float32), names, source)


#: Nuclei: ``images`` (N, S, S, 1) float32 in [0, 1] (nuclei bright), ``labels`` (N, S, S) int32 (0 =
#: background, one id per nucleus), ``names`` and ``source``.
NucleusSet = collections.namedtuple("NucleusSet", "images labels names source")


def bundled_nuclei():
    """Return the synthetic nucleus set of the course (``data/nuclei``: 12 grey 128x128 images, nuclei touching)."""
    folder = course_root() / "data" / "nuclei"
    names = _bundled_names(folder, ".png", "make_nuclei.py")
    images = np.stack([read_image(folder / "images" / f"{name}.png") for name in names])
    labels = np.stack([read_mask(folder / "labels" / f"{name}.png").astype(np.int32) for name in names])
    return NucleusSet(images, labels, names, "bundled synthetic nuclei (data/nuclei)")


def dsb_label_image(mask_paths, shape):
    """One label image from one-PNG-per-nucleus masks (DSB 2018): ids 1, 2, ... by file name; where masks
    overlap, the first keeps the pixel."""
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
    """Nucleus images with instance label images: default, the 50 DSB 2018 training images, grey with bright
    nuclei, contrast stretched, cut to their top-left ``size`` x ``size`` pixels (all are at least 256x256),
    masks joined into one label image; smoke, the bundled synthetic nuclei."""
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
    """3-D volumes with masks: default, the Drosophila VNC ssTEM stack as one volume of 20 sections with the
    membrane mask, y and x shrunk by ``shrink`` (4: 20x256x256); smoke, the bundled synthetic volumes."""
    return _real_or_bundled(
        mode,
        lambda: _vnc_volume(shrink),
        bundled_volumes,
        "the Drosophila VNC stack",
        "synthetic volumes (data/volumes)",
    )


def _vnc_volume(shrink):
    stack = load_drosophila_vnc(target="membrane", downscale=shrink)  # its sections become one volume
    what = f"{len(stack.names)} sections, shrunk {shrink}x in y and x; mask 1 = membrane"
    spacing = (0.045, 0.0046 * shrink, 0.0046 * shrink)  # µm: 45 nm sections, 4.6 nm pixels
    source = f"Drosophila VNC ssTEM stack (Gerhard et al. 2013), {what}"
    return VolumeSet(stack.images[np.newaxis], stack.masks[np.newaxis], ["stack1"], source, spacing)


def write_stack(path, pixels, spacing=None, unit=None):
    """Write a (Z, Y, X) or (Z, Y, X, C) stack as an ImageJ TIFF, with the voxel ``spacing`` (z, y, x) and its
    ``unit`` (such as "micron") if given."""
    import tifffile

    pixels, metadata, options = np.asarray(pixels), {"axes": "ZYX"}, {}
    if pixels.ndim == 4:  # ImageJ keeps the channels before y and x
        pixels, metadata["axes"] = np.moveaxis(pixels, -1, 1), "ZCYX"
    if spacing is not None:
        metadata["spacing"], options["resolution"] = spacing[0], (1 / spacing[2], 1 / spacing[1])  # x, then y
    if unit:
        metadata["unit"] = unit
    tifffile.imwrite(path, pixels, imagej=True, metadata=metadata, **options)


def write_example_stacks(volumes, folder):
    """Write a :data:`VolumeSet` as notebook 06 reads your stacks: ``folder/images/<name>.tif`` (8-bit ImageJ TIFF,
    spacing in µm) and ``folder/masks/<name>.tif``; return both folders. An existing folder is used as it is."""
    folder = Path(folder)
    images, masks = folder / "images", folder / "masks"
    if folder.exists():
        print(f"{folder} exists; it is used as it is (nothing written).")
        return images, masks
    images.mkdir(parents=True)
    masks.mkdir()
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
    """Turn a Drosophila VNC label image (grey values, :data:`VNC_GREY_TO_CLASS`) into the class ids 0..4 of
    :data:`VNC_CLASS_NAMES`."""
    pixels, lookup = np.asarray(pixels), np.full(256, 255, dtype=np.uint8)
    lookup[list(VNC_GREY_TO_CLASS)] = list(VNC_GREY_TO_CLASS.values())
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
    """Download (once) and read the 20 sections of the Drosophila VNC ssTEM stack as a SegmentationSet.

    ``target``: ``"classes"`` (masks of the class ids of :data:`VNC_CLASS_NAMES`) or one class's name (masks 0/1).
    ``downscale``: Shrink the 1024x1024 sections by this whole factor (image means, every n-th label pixel).
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
    """(SegmentationSet, new images) of notebook 08's example: default, the ISBI 2012 training pairs and 3 test
    images; smoke, the bundled membranes and two of them again."""
    pairs = load_membranes(mode)
    if mode == "smoke" or not pairs.source.startswith("ISBI"):
        return pairs, list(pairs.images[:2])
    root = download.fetch_dataset("isbi2012", files_under=ISBI_TEST_FOLDER)
    return pairs, [read_image(root / ISBI_TEST_FOLDER / f"{index}.png") for index in range(3)]


def _to_uint8(array):
    return np.round(np.asarray(array)[..., 0] * 255).astype(np.uint8)


def write_example_folder(pairs, new_images, folder):
    """Write a "user folder" of images, masks and new images from at least 5 pairs, with five typical problems
    planted: the 2nd mask named ``<name>_mask.png``, the 3rd saved as 0/1, the 4th pair cropped to 470x500, the
    5th image RGB, and ``images/README.txt``. An existing folder is used as it is. Returns the three folders."""
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
        mask_name = f"{name}_mask.png" if index == 1 else f"{name}.png"
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


def _check_counts(n, n_validation, n_test):
    if min(n, n_validation, n_test) < 0:
        raise ValueError(f"Counts must not be negative; got n={n}, n_validation={n_validation}, n_test={n_test}.")
    if n_validation + n_test >= n:
        raise ValueError(
            f"n_validation + n_test = {n_validation} + {n_test} leaves no image for training "
            f"out of n = {n}. Use fewer validation or test images, or add images."
        )


def split_indices(n, n_validation, n_test, seed=0):
    """Split ``range(n)`` at random into sorted training, validation and test indices (the rest, at least one,
    trains); the same ``seed`` gives the same split."""
    _check_counts(n, n_validation, n_test)
    order = np.random.default_rng(seed).permutation(n)
    parts = order[n_test + n_validation :], order[n_test : n_test + n_validation], order[:n_test]
    return tuple(np.sort(part) for part in parts)


def split_consecutive(n, n_validation, n_test):
    """Split ``range(n)`` into consecutive blocks: training first, then validation, then test.

    For the sections of one stack or frames of one movie: neighbours look alike, so a random split would put
    near-twins of the test images into training and make the test scores too good.

    >>> [part.tolist() for part in split_consecutive(6, 1, 2)]
    [[0, 1, 2], [3], [4, 5]]
    """
    _check_counts(n, n_validation, n_test)
    bounds = np.cumsum([0, n - n_validation - n_test, n_validation, n_test])
    return tuple(np.arange(start, end) for start, end in zip(bounds, bounds[1:]))


#: The ways :func:`split_images` can divide images into training, validation and test.
SPLIT_CHOICES = ("in stack order", "at random")


def split_images(n, n_validation, n_test, how, seed=0):
    """Split ``range(n)`` ``"in stack order"`` (:func:`split_consecutive`: sections, frames) or ``"at random"``
    (:func:`split_indices`, with ``seed``: independent images)."""
    if how == "in stack order":
        return split_consecutive(n, n_validation, n_test)
    if how == "at random":
        return split_indices(n, n_validation, n_test, seed=seed)
    raise ValueError(f"how must be one of {SPLIT_CHOICES}, got {how!r}.")


def split_volumes(volumes, masks, fractions=(0.6, 0.2, 0.2)):
    """Split volumes (a list, sizes may differ) into training, validation and test parts by ``fractions``:
    volume by volume (at least one each for validation and test), or a single volume along z into consecutive
    blocks of sections. Returns each part as (volumes, masks), lists of (d, H, W, C) and (d, H, W, K) arrays."""
    volumes, masks = [np.asarray(v) for v in volumes], [np.asarray(m) for m in masks]
    if len(volumes) != len(masks) or any(v.ndim != 4 or m.shape[:3] != v.shape[:3] for v, m in zip(volumes, masks)):
        raise ValueError(
            "volumes must be (depth, height, width, channels) each, and masks the same but for the last axis; got "
            f"{[v.shape for v in volumes][:3]} and {[m.shape for m in masks][:3]}."
        )
    n = len(volumes) if len(volumes) > 1 else len(volumes[0])
    n_validation, n_test = (max(1, int(round(n * share))) for share in fractions[1:])
    if n - n_validation - n_test < 1:
        raise ValueError(f"{n} {'volumes' if len(volumes) > 1 else 'sections'} are too few to split into three parts.")
    parts = split_consecutive(n, n_validation, n_test)
    if len(volumes) > 1:
        return tuple(([volumes[i] for i in part], [masks[i] for i in part]) for part in parts)
    return tuple(([volumes[0][part]], [masks[0][part]]) for part in parts)
