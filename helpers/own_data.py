"""Your own images: check a folder before training, predict a folder after, describe the method.

:func:`check_folder` reads a folder of images and a folder of masks and reports **every**
problem it finds before any training: unpaired names, sizes, bit depth, mask encoding
(0/255, 0/1, label ids, colour masks), images smaller than a training crop, sizes not
divisible by ``2**depth``. Each problem names the file and the fix. A pair that cannot be
used is left out *and counted in the report*, never dropped silently. Nothing in the folders
is changed: files are only read.

:func:`load_checked` loads the usable pairs in the course convention (float32 images in
[0, 1], masks 0/1), padding by mirroring where a size does not fit.

:func:`predict_folder` writes one mask per image into a **new** output folder, and
:func:`methods_paragraph` writes the paragraph for a paper's methods section.
"""

import collections
from pathlib import Path

import numpy as np
import skimage.io

from helpers import course
from helpers.data import IMAGE_EXTENSIONS, SegmentationSet, natural_sorted

#: One finding: ``severity`` is "error" (the pair is left out), "warning" (used, check it) or
#: "note" (used as described); ``file`` the file or folder; ``what`` the problem; ``fix`` what to do.
Problem = collections.namedtuple("Problem", "severity file what fix")

#: Endings of mask names that should have been the image's name (``7_mask.png`` for ``7.png``).
MASK_SUFFIXES = ("_mask", "-mask", "_masks", "_label", "-label", "_labels", "_seg", "_gt", "_annotation")

RENAME_FIX = "Give each mask exactly the file name of its image (7.png <-> 7.png; 7.tif <-> 7.png is fine)."


class FolderReport:
    """What :func:`check_folder` found.

    Attributes
    ----------
    image_folder, mask_folder : pathlib.Path
    problems : list of Problem
    pairs : list of (str, pathlib.Path, pathlib.Path)
        The usable pairs: name, image file, mask file, in natural order.
    left_out : dict
        ``{name: reason}`` for every image that is not used.
    mask_rules : dict
        ``{name: rule}``: how each mask's values become 0/1 ("0/255", "0/1", "labels > 0", ...).
    depth, crop_size : int
    """

    def __init__(self, image_folder, mask_folder, depth, crop_size):
        self.image_folder, self.mask_folder = Path(image_folder), Path(mask_folder)
        self.depth, self.crop_size = depth, crop_size
        self.problems, self.pairs, self.left_out, self.mask_rules = [], [], {}, {}
        self.channels = {}

    def add(self, severity, file, what, fix):
        self.problems.append(Problem(severity, str(file), what, fix))

    def count(self, severity):
        """Number of problems of one severity ("error", "warning" or "note")."""
        return sum(problem.severity == severity for problem in self.problems)

    @property
    def ok(self):
        """True when there are usable pairs and no errors."""
        return bool(self.pairs) and self.count("error") == 0

    def summary(self):
        """Return the report as text: counts, then every problem with its fix."""
        found = len(self.pairs) + len(self.left_out)
        lines = [
            f"Checked {found} images in {self.image_folder} and the masks in {self.mask_folder}.",
            f"Usable pairs: {len(self.pairs)}. Left out: {len(self.left_out)}"
            + (f" ({', '.join(f'{n}: {r}' for n, r in self.left_out.items())})." if self.left_out else "."),
            f"Errors: {self.count('error')}, warnings: {self.count('warning')}, notes: {self.count('note')}.",
        ]
        for problem in sorted(self.problems, key=lambda p: ("error", "warning", "note").index(p.severity)):
            lines.append(f"- {problem.severity.upper()} {problem.file}: {problem.what} Fix: {problem.fix}")
        return "\n".join(lines)

    def __str__(self):
        return self.summary()

    def _repr_pretty_(self, printer, cycle):
        printer.text(self.summary())


def _files(folder, kind, report):
    """Return ``{stem: [paths]}`` of the image files in ``folder``, reporting everything else."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(
            f"The {kind} folder {str(folder)!r} {what}. Check the path (in Colab, mount Google "
            f"Drive first and copy the folder's path from the file browser on the left)."
        )
    by_stem = collections.defaultdict(list)
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            report.add("note", path, f"hidden file in the {kind} folder, not used.",
                       "Nothing to do (system files such as .DS_Store are skipped).")
        elif path.is_dir():
            report.add("note", path, f"sub-folder of the {kind} folder; its files are not read.",
                       f"Move its {kind}s into {folder} if they belong to this set.")
        elif path.suffix.lower() not in IMAGE_EXTENSIONS:
            report.add("note", path, f"not an image file ({path.suffix or 'no ending'}), not used.",
                       f"Save {kind}s as {', '.join(IMAGE_EXTENSIONS)}; move other files elsewhere.")
        else:
            by_stem[path.stem].append(path)
    if not by_stem:
        raise FileNotFoundError(
            f"No {kind} files in {str(folder)!r}. Put the {kind}s there as "
            f"{', '.join(IMAGE_EXTENSIONS)} files."
        )
    return by_stem


def _read(path, report, kind):
    """Return the pixels of a file, or None after reporting why it cannot be read."""
    if path.stat().st_size == 0:
        report.add("error", path, f"the {kind} file is empty (0 bytes), e.g. an interrupted copy.",
                   "Copy the file again from the original.")
        return None
    try:
        return np.asarray(skimage.io.imread(path))
    except Exception as error:  # skimage raises many kinds for damaged files
        report.add("error", path, f"the {kind} file cannot be read ({type(error).__name__}).",
                   "Open it in Fiji/ImageJ and save it again as PNG or TIFF.")
        return None


def _image_channels(pixels, path, report):
    """Return the channel count of an image (1 or 3), or None after reporting a stack."""
    if pixels.ndim == 2:
        return 1
    if pixels.ndim == 3 and pixels.shape[-1] in (2, 4):
        report.add("note", path, "has an alpha (transparency) channel; it is dropped.", "Nothing to do.")
        return pixels.shape[-1] - 1
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        return 3
    report.add("error", path, f"holds a stack of shape {pixels.shape}, not one 2-D image.",
               "Save one file per slice (Fiji: Image > Stacks > Stack to Images), or use the 3-D notebook 06.")
    return None


def _check_bit_depth(pixels, path, report):
    if pixels.dtype == np.uint8 or pixels.dtype == bool:
        return
    if pixels.dtype == np.uint16:
        if pixels.max() < 4096:
            report.add("warning", path, f"16-bit image whose values only reach {pixels.max()} "
                       "(12-bit camera data?); it is rescaled from its own minimum to maximum.",
                       "Nothing to do; use the same rescaling when you measure intensities.")
        return
    if pixels.dtype.kind == "f" and pixels.min() >= 0 and pixels.max() <= 1:
        return
    report.add("warning", path, f"pixel type {pixels.dtype} with values {pixels.min():g} to {pixels.max():g}; "
               "it is rescaled from its own minimum to maximum.",
               "Nothing to do, or convert to 8/16-bit in Fiji (Image > Type) to control the scaling.")


def _mask_rule(pixels, path, report):
    """Return how this mask becomes 0/1, or None after reporting why it cannot."""
    if pixels.ndim == 3 and pixels.shape[-1] in (2, 4):
        pixels = pixels[..., :-1]
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        if not (np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 0], pixels[..., 2])):
            report.add("error", path, "the mask is a colour (RGB) image with different red, green and blue.",
                       "Save the mask as a greyscale image: 0 for background, 255 for the structure "
                       "(Fiji: Image > Type > 8-bit, then threshold).")
            return None, None
        pixels = pixels[..., 0]
        report.add("note", path, "grey mask saved as RGB; the red channel is used.", "Nothing to do.")
    if pixels.ndim != 2:
        report.add("error", path, f"the mask has shape {pixels.shape}, not one 2-D mask.",
                   "Save one 2-D mask per image, with the image's name.")
        return None, None
    values = np.unique(pixels)
    value_set = set(values.tolist())
    foreground_fraction = float(np.mean(pixels > 0))
    if value_set == {0}:
        report.add("warning", path, "the mask is empty (no foreground pixel).",
                   "Fine if the image really has none; otherwise the mask was exported blank.")
    elif len(values) == 1:
        report.add("warning", path, "the mask is foreground everywhere.",
                   "Check the export; with nothing to contrast, this image teaches little.")
    elif foreground_fraction > 0.5:
        report.add("warning", path, f"{foreground_fraction:.0%} of the mask is foreground; is it inverted "
                   "(structure = 0)?", "If the structure is black, use invert_masks=True.")
    if value_set <= {0, 1}:
        return "0/1", pixels
    if value_set <= {0, 255} or value_set <= {0, 65535}:
        return f"0/{max(value_set)}", pixels
    if path.suffix.lower() in (".jpg", ".jpeg"):
        report.add("error", path, f"JPEG mask with {len(values)} different values (compression blurs edges).",
                   "Save masks as PNG or TIFF, never JPEG.")
        return None, None
    if pixels.dtype.kind in "ui":
        report.add("warning", path, f"the mask has {len(values) - (0 in value_set)} different non-zero values "
                   "(a label image with one id per object?); every non-zero pixel is foreground.",
                   "Nothing to do for semantic segmentation; to keep objects apart see notebook 07.")
        return "labels > 0", pixels
    report.add("error", path, f"the mask has {len(values)} different values between {values[0]:g} and "
               f"{values[-1]:g}, not 0 and 1 (a probability or smoothed image?).",
               "Threshold it and save 0 for background and 255 for the structure.")
    return None, None


def check_folder(image_folder, mask_folder, *, depth=4, crop_size=128):
    """Check a folder of images and a folder of masks, and report every problem before training.

    Parameters
    ----------
    image_folder, mask_folder : str or pathlib.Path
        ``7.png`` in ``image_folder`` pairs with ``7.png`` (or ``7.tif`` ...) in ``mask_folder``.
    depth : int
        Poolings of the U-Net: sizes should be divisible by ``2**depth`` (they are padded).
    crop_size : int
        Side of the training crops: smaller images are padded by mirroring.

    Returns
    -------
    FolderReport
        Print it to read every problem and its fix; ``.pairs`` are the usable pairs.

    Raises
    ------
    FileNotFoundError
        If a folder does not exist or holds no image file.
    ValueError
        If both folders are the same folder.
    """
    image_folder, mask_folder = Path(image_folder).expanduser(), Path(mask_folder).expanduser()
    if image_folder.exists() and mask_folder.exists() and image_folder.resolve() == mask_folder.resolve():
        raise ValueError(
            f"The image folder and the mask folder are the same folder ({image_folder}). Keep images "
            f"and masks in two folders, with the same file names."
        )
    report = FolderReport(image_folder, mask_folder, depth, crop_size)
    images, masks = _files(image_folder, "image", report), _files(mask_folder, "mask", report)
    _report_masks_without_image(images, masks, report)
    for name in natural_sorted(images):
        reason = _check_pair(name, images[name], masks, report)
        if reason:
            report.left_out[name] = reason
    _report_mixed_images(report)
    return report


def _report_masks_without_image(images, masks, report):
    for stem in natural_sorted(set(masks) - set(images)):
        path = masks[stem][0]
        base = next((stem[: -len(s)] for s in MASK_SUFFIXES if stem.lower().endswith(s) and stem[: -len(s)] in images), None)
        if base is not None:
            report.add("error", path, f"mask name does not match: it looks like the mask of {images[base][0].name}.",
                       f"Rename {path.name} to {base}{path.suffix}. {RENAME_FIX}")
        else:
            report.add("warning", path, "mask without an image of the same name; not used.",
                       f"Add the image, rename it, or move the mask away. {RENAME_FIX}")


def _check_pair(name, image_paths, masks, report):
    """Check one image and its mask; return why it is left out, or None when it is usable."""
    if len(image_paths) > 1:
        report.add("error", image_paths[0], f"several images share the name {name!r}: "
                   f"{', '.join(p.name for p in image_paths)}.", "Keep one file per name; rename or move the others.")
        return "several images with this name"
    image_path = image_paths[0]
    if name not in masks:
        report.add("error", image_path, "image without a mask of the same name.",
                   f"Add its mask to {report.mask_folder}. {RENAME_FIX}")
        return "no mask"
    if len(masks[name]) > 1:
        report.add("error", masks[name][0], f"several masks share the name {name!r}: "
                   f"{', '.join(p.name for p in masks[name])}.", "Keep one mask per image; rename or move the others.")
        return "several masks with this name"
    mask_path = masks[name][0]
    image, mask = _read(image_path, report, "image"), _read(mask_path, report, "mask")
    if image is None or mask is None:
        return "file cannot be read"
    channels = _image_channels(image, image_path, report)
    if channels is None:
        return "image is a stack"
    _check_bit_depth(image, image_path, report)
    rule, _ = _mask_rule(mask, mask_path, report)
    if rule is None:
        return "mask cannot be read as 0/1"
    if image.shape[:2] != mask.shape[:2]:
        report.add("error", mask_path, f"the mask is {mask.shape[1]}x{mask.shape[0]} but its image "
                   f"{image_path.name} is {image.shape[1]}x{image.shape[0]} (width x height).",
                   "Export the mask from its own image at full resolution, without scaling or cropping.")
        return "mask and image differ in size"
    height, width = image.shape[:2]
    if min(height, width) < report.crop_size:
        report.add("warning", image_path, f"{width}x{height} is smaller than the {report.crop_size}-pixel "
                   "training crops; image and mask are padded by mirroring.",
                   "Nothing to do, or choose a smaller crop_size.")
    step = 2 ** report.depth
    if height % step or width % step:
        report.add("note", image_path, f"{width}x{height} is not divisible by 2**depth = {step}; it is "
                   "padded by mirroring for prediction and the padding is cut off again.", "Nothing to do.")
    report.mask_rules[name] = rule
    report.channels[name] = channels
    report.pairs.append((name, image_path, mask_path))
    return None


def _report_mixed_images(report):
    shapes = collections.Counter(report.channels.values())
    if len(shapes) > 1:
        grey = [name for name, c in report.channels.items() if c == 1]
        report.add("warning", report.image_folder, f"{len(grey)} grey and {len(report.channels) - len(grey)} "
                   "colour images; colour images are converted to grey (mean of red, green, blue).",
                   "Nothing to do, or save them all the same way.")
    rules = collections.Counter(report.mask_rules.values())
    if len(rules) > 1:
        report.add("note", report.mask_folder, "masks use different encodings ("
                   + ", ".join(f"{rule}: {count}" for rule, count in rules.items()) + "); each is read its own way.",
                   "Nothing to do.")


def _to_unit(pixels):
    """Return float32 pixels in [0, 1]: 8-bit / 255; 16-bit, floats and others by their range."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255
    if pixels.dtype == bool:
        return pixels.astype(np.float32)
    if pixels.dtype == np.uint16 and pixels.max() >= 4096:
        return pixels.astype(np.float32) / 65535
    if pixels.dtype.kind == "f" and pixels.min() >= 0 and pixels.max() <= 1:
        return pixels.astype(np.float32)
    low, high = float(pixels.min()), float(pixels.max())
    return ((pixels.astype(np.float32) - low) / max(high - low, 1e-12)).astype(np.float32)


def read_image(path, channels=1):
    """Read an image as float32 (H, W, channels) in [0, 1], converting grey/colour as asked."""
    pixels = np.asarray(skimage.io.imread(path))
    if pixels.ndim == 3 and pixels.shape[-1] in (2, 4):
        pixels = pixels[..., :-1]
    image = _to_unit(pixels)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.shape[-1] != channels:
        image = np.repeat(image, channels, axis=-1) if channels == 3 else image.mean(axis=-1, keepdims=True)
    return image


def _read_mask(path):
    pixels = np.asarray(skimage.io.imread(path))
    if pixels.ndim == 3:
        pixels = pixels[..., 0]
    return (pixels > 0).astype(np.float32)[..., np.newaxis]


def pad_to(array, height, width):
    """Pad an (H, W, C) array at the bottom and right by mirroring to at least ``height`` x ``width``."""
    extra_h, extra_w = max(height - array.shape[0], 0), max(width - array.shape[1], 0)
    return np.pad(array, ((0, extra_h), (0, extra_w), (0, 0)), mode="symmetric")


def load_checked(report, *, invert_masks=False):
    """Load the usable pairs of a :class:`FolderReport` as one :class:`~helpers.data.SegmentationSet`.

    Images become grey or colour as most of them are; images of other sizes, and images
    smaller than the crops, are padded by mirroring (image and mask alike) to one size.

    Parameters
    ----------
    report : FolderReport
        From :func:`check_folder`.
    invert_masks : bool
        Swap foreground and background of every mask.

    Returns
    -------
    SegmentationSet

    Raises
    ------
    ValueError
        If the report has no usable pair.
    """
    if not report.pairs:
        raise ValueError(f"No usable image/mask pair in {report.image_folder}: read the report and fix the errors.")
    channels = collections.Counter(report.channels.values()).most_common(1)[0][0]
    images = [read_image(image, channels) for _, image, _ in report.pairs]
    masks = [_read_mask(mask) for _, _, mask in report.pairs]
    if invert_masks:
        masks = [1 - mask for mask in masks]
    height = max(report.crop_size, *(image.shape[0] for image in images))
    width = max(report.crop_size, *(image.shape[1] for image in images))
    images = np.stack([pad_to(image, height, width) for image in images])
    masks = np.stack([pad_to(mask, height, width) for mask in masks])
    names = [name for name, _, _ in report.pairs]
    return SegmentationSet(images, masks, names, f"images from {report.image_folder}, masks from {report.mask_folder}")


def predict_padded(model, image, depth=4):
    """Predict one (H, W, C) image whole: mirror-pad to a multiple of ``2**depth``, then cut back.

    Returns
    -------
    ndarray of float32, shape (H, W, 1)
    """
    step = 2 ** depth
    height, width = image.shape[:2]
    padded = pad_to(image, -(-height // step) * step, -(-width // step) * step)
    probability = model.predict(padded[np.newaxis], verbose=0)[0]
    return probability[:height, :width]


def new_folder(folder):
    """Return ``folder`` if it does not exist yet, else ``folder-2``, ``folder-3`` ...; create it."""
    folder, number = Path(folder).expanduser(), 1
    candidate = folder
    while candidate.exists():
        number += 1
        candidate = folder.with_name(f"{folder.name}-{number}")
    candidate.mkdir(parents=True)
    return candidate


def predict_folder(model, input_folder, output_folder, *, threshold=0.5, depth=4, channels=1, file_type="png",
                   tile=1024):
    """Segment every image of a folder and write the masks into a NEW folder.

    An image up to ``tile`` pixels on its longer side is predicted whole, mirror-padded to a
    multiple of ``2**depth``; a larger one tile by tile (:func:`helpers.tiling.predict_tiled`,
    Gaussian blending, overlap ``tile // 4``), so memory does not grow with the image. Masks are written as 8-bit 0/255 files with
    the image's name. Nothing existing is overwritten: if ``output_folder`` exists, the
    masks go to ``output_folder-2`` (or ``-3`` ...).

    Parameters
    ----------
    model : keras.Model
        Built with ``input_shape=(None, None, channels)``.
    input_folder, output_folder : str or pathlib.Path
    threshold : float
        Chosen on validation images (:func:`helpers.metrics.choose_threshold`).
    depth : int
    channels : int
    file_type : {"png", "tif"}
    tile : int
        Images larger than this (on either side) are predicted in tiles of this size.

    Returns
    -------
    pathlib.Path
        The folder the masks were written to.
    """
    if file_type not in ("png", "tif"):
        raise ValueError(f"file_type should be 'png' or 'tif', got {file_type!r}.")
    input_folder = Path(input_folder).expanduser()
    paths = [p for p in sorted(input_folder.iterdir()) if p.suffix.lower() in IMAGE_EXTENSIONS
             and not p.name.startswith(".")] if input_folder.is_dir() else []
    if not paths:
        raise FileNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {input_folder}. Check the path.")
    folder = new_folder(output_folder)
    for path in paths:
        image = read_image(path, channels)
        if max(image.shape[:2]) > tile:
            from helpers import tiling

            probability = tiling.predict_tiled(model, image, tile=tile, overlap=tile // 4, divisible_by=2 ** depth)
        else:
            probability = predict_padded(model, image, depth)
        mask = np.where(probability[..., 0] >= threshold, 255, 0).astype(np.uint8)
        skimage.io.imsave(folder / f"{path.stem}.{file_type}", mask, check_contrast=False)
    print(f"Wrote {len(paths)} masks (0 = background, 255 = structure) to {folder}.")
    return folder


def methods_paragraph(*, data, model, training, evaluation):
    """Return a methods paragraph, with versions and parameters, for a paper or a lab notebook.

    Parameters
    ----------
    data : dict
        e.g. ``{"description": ..., "n_train": ..., "n_validation": ..., "n_test": ...,
        "split": "in stack order"}`` (``split`` is optional: how the images were divided).
    model : dict
        e.g. ``{"filters": 16, "depth": 4, "parameters": 1_940_000, "batch_norm": True}``.
    training : dict
        e.g. ``{"epochs": 10, "best_epoch": 8, "monitor": "val_loss", "crop_size": 128,
        "batch_size": 8, "steps_per_epoch": 20, "optimizer": "Adam", "learning_rate": 1e-3,
        "loss": "binary cross-entropy + Dice", "augmentation": "flips and 90-degree rotations"}``.
    evaluation : dict
        e.g. ``{"threshold": 0.45, "dice": 0.8, "iou": 0.7}``.

    Returns
    -------
    str
    """
    versions = course.package_versions(("tensorflow", "keras", "numpy", "scikit-image"))
    split = data.get("split")
    need = {"data": ("description", "n_train", "n_validation", "n_test"),
            "model": ("filters", "depth", "parameters"),
            "training": ("epochs", "best_epoch", "monitor", "crop_size", "batch_size", "optimizer",
                         "learning_rate", "loss"),
            "evaluation": ("threshold", "dice", "iou")}
    given = {"data": data, "model": model, "training": training, "evaluation": evaluation}
    for part, keys in need.items():
        missing = [key for key in keys if key not in given[part]]
        if missing:
            raise KeyError(f"{part} lacks {', '.join(missing)}; pass them, e.g. {part}={{'{missing[0]}': ...}}.")
    return (
        f"Segmentation used a U-Net (Ronneberger et al. 2015) with {model['filters']} filters in the first "
        f"level, depth {model['depth']}{', batch normalisation' if model.get('batch_norm') else ''} and "
        f"{model['parameters']:,} parameters, implemented in TensorFlow {versions['tensorflow']} / Keras "
        f"{versions['keras']} (numpy {versions['numpy']}, scikit-image {versions['scikit-image']}) with the "
        f"U-Net image segmentation course ({course.REPOSITORY_URL}). Data: {data['description']}; "
        f"{data['n_train']} images for training, {data['n_validation']} for validation and {data['n_test']} "
        f"for testing{f' (split {split})' if split else ''}. The network was trained on random {training['crop_size']}x{training['crop_size']} crops "
        f"({training.get('augmentation', 'no augmentation')}), batch size {training['batch_size']}, "
        f"{training['optimizer']} with learning rate {training['learning_rate']:g}, loss "
        f"{training['loss']}, for {training['epochs']} epochs; the weights of epoch {training['best_epoch']}, "
        f"the best {training['monitor']} on the validation images, were kept. Probabilities were thresholded "
        f"at {evaluation['threshold']:.2f}, chosen on the validation images. On the test images, never used for "
        f"any choice, the Dice score was {evaluation['dice']:.3f} and the IoU {evaluation['iou']:.3f}."
    )


def write_text_file(folder, name, text):
    """Write ``text`` to ``folder/name`` without overwriting: ``name-2`` ... if it exists. Return the path."""
    path = Path(folder) / name
    number = 1
    while path.exists():
        number += 1
        path = Path(folder) / f"{Path(name).stem}-{number}{Path(name).suffix}"
    path.write_text(text + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------
# The example "user folder" of notebook 08
# ----------------------------------------------------------------------------------------

#: ISBI 2012 images without labels, used as "new images" to predict in default mode.
ISBI_TEST_FOLDER = "data/membrane/test/"


def example_inputs(mode):
    """Return (SegmentationSet, list of new images) for notebook 08's example folder.

    ``"smoke"``: the bundled synthetic membranes, two of them again as new images.
    ``"default"``: the 30 ISBI 2012 training pairs and the first 3 ISBI test images (no masks),
    fetched through :mod:`helpers.download`.
    """
    from helpers import data, download

    pairs = data.load_membranes(mode)
    if mode == "smoke" or not pairs.source.startswith("ISBI"):
        return pairs, list(pairs.images[:2])
    root = download.fetch_dataset("isbi2012", files_under=ISBI_TEST_FOLDER)
    return pairs, [data.load_image(root / ISBI_TEST_FOLDER / f"{index}.png") for index in range(3)]


def _to_uint8(array):
    return np.round(np.asarray(array)[..., 0] * 255).astype(np.uint8)


def write_example_folder(pairs, new_images, folder):
    """Write a "user folder" of images, masks and new images, with five typical problems planted.

    Planted: the 2nd mask is named ``<name>_mask.png``; the 3rd mask is saved as 0/1 instead
    of 0/255; the 4th pair is cropped to 470x500 pixels (not divisible by 16); the 5th image is
    saved as RGB; ``images/README.txt`` is not an image. If ``folder`` exists, it is used as it
    is and nothing is written.

    Parameters
    ----------
    pairs : SegmentationSet
        At least 5 pairs, masks 1 = structure.
    new_images : list of ndarray (H, W, 1)
    folder : pathlib.Path

    Returns
    -------
    (pathlib.Path, pathlib.Path, pathlib.Path)
        The image, mask and new-image folders.
    """
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
