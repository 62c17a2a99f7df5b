"""Your own images: check a folder before training, load the usable pairs, predict a folder after.

:func:`check_folder` reports **every** problem before any training (the checks are in
:mod:`helpers.folder_checks`): unpaired names, sizes, channels, bit depth (one rescaling rule for the
folder), memory, and the kind of masks, decided once for the whole folder. A finding that repeats is one
line with a count; the per-file lists go to CSV files in a results folder you name. A pair that cannot be
used is left out and named, never dropped silently. Files are only read (:mod:`helpers.imageio`).
:func:`load_checked` loads the usable pairs; :func:`predict_folder` writes one mask per image into a
**new** folder. Training and scoring use the course's own calls (notebook 08).
"""

import collections
import csv
import io
import os
from pathlib import Path

import numpy as np
import skimage.io

from helpers import folder_checks, imageio, label_maps
from helpers._checks import foreground
from helpers.imageio import few_names, natural_sorted, new_folder, write_text_file
from helpers.inference import pad_to, predict_padded, predict_tiled

__all__ = [
    "Problem", "FolderReport", "CheckedSet", "PADDING", "MEMORY_FALLBACK", "check_folder", "machine_memory",
    "load_checked", "predict_image", "predict_folder",
]  # fmt: skip

#: One finding: ``severity`` is "error" (the pair is left out), "warning" (used, check it) or
#: "note" (used as described); ``file`` the file or folder; ``what`` the problem; ``fix`` what
#: to do; ``group`` the same finding in words that do not depend on the file (findings with the
#: same severity, group and fix are one line of the report).
Problem = collections.namedtuple("Problem", "severity file what fix group", defaults=(None,))

#: What :func:`load_checked` returns: ``images`` (N, H, W, C) float32 in [0, 1] (a list of (H, W, C)
#: arrays when sizes differ); ``masks`` (N, H, W, 1) float32 class ids (a list likewise) (binary: 0/1; instances: 0/1), pixels not annotated (and the
#: padding) equal to ``ignore_value``; ``names``; ``source``; ``class_names`` (one per id);
#: ``sizes`` (each image's own (height, width), before padding).
CheckedSet = collections.namedtuple("CheckedSet", "images masks names source class_names ignore_value sizes")

#: The mask value of padding when the folder has no ignore value: no class has it, so it weighs 0.
PADDING = -1

SEVERITIES = ("error", "warning", "note")

#: The pixel type (numpy kind and bytes) that each fixed rescaling rule is for: new images must match.
RULE_TYPES = {"1-bit as 0/1": "b1", "8-bit / 255": "u1", "12-bit in 16 bits / 4095": "u2", "16-bit / 65535": "u2"}


class FolderReport:
    """What :func:`check_folder` found; print it to read every problem and its fix.

    ``problems`` (every :data:`Problem`, one per file), ``pairs`` (the usable ``(name, image file,
    mask file)`` in natural order), ``left_out`` (``{name: reason}``), ``mask_kind`` ("binary",
    "classes", "colours" or "instances", ``kind_reason`` says why), ``mask_rules`` (``{name: how
    the mask is read}``), ``classes`` (the class table: ``id``, ``name``, ``colour``,
    ``pixel_share`` of the annotated pixels, ``images``), ``ignore_value`` (as given; ``ignore_id``
    its value in the loaded masks, 255 for colours), ``annotated`` (``{name: annotated share}``),
    ``channels`` (``{name: 1 to 4}``; ``image_channels`` is what :func:`load_checked` gives),
    ``rescaling`` (the folder's one rule), ``memory`` ((bytes loading needs, the limit)), ``saved``
    (the CSV files of :meth:`save`), ``items`` ("images", or "stacks" for :mod:`helpers.stacks`).
    """

    def __init__(self, image_folder, mask_folder, n_poolings, crop_size):
        self.image_folder, self.mask_folder = Path(image_folder), Path(mask_folder)
        self.n_poolings, self.crop_size = n_poolings, crop_size
        self.problems, self.pairs, self.left_out, self.mask_rules = [], [], {}, {}
        self.channels, self.annotated, self.classes, self.saved = {}, {}, [], []
        self.mask_kind, self.kind_reason, self.image_channels, self.image_rule = "binary", "", 1, ""
        self.ignore_value, self.ignore_id, self.colour_to_id = None, None, {}
        self.mask_values, self.headers, self.rescaling, self.memory = {}, {}, None, (0, 1)
        self.items, self.rescaling_hint = "images", " (rescaling=..., RESCALING in notebook 08, overrides it)"

    def add(self, severity, file, what, fix, group=None):
        self.problems.append(Problem(severity, str(file), what, fix, group))

    def count(self, severity):
        """Number of problems of one severity ("error", "warning" or "note")."""
        return sum(problem.severity == severity for problem in self.problems)

    @property
    def ok(self):
        """True when there are usable pairs and no errors."""
        return bool(self.pairs) and self.count("error") == 0

    @property
    def n_classes(self):
        """Number of classes K of the loaded masks (2 for binary and instances)."""
        return max(len(self.classes), 2)

    @property
    def class_names(self):
        """The class names, one per id."""
        return [entry["name"] for entry in self.classes]

    def describe_classes(self):
        """Return the classes and their shares of the annotated pixels in words, for the methods paragraph."""
        if self.mask_kind in ("classes", "colours"):
            shares = ", ".join(f"{e['name']} {e['pixel_share']:.1%}" for e in self.classes)
            text = f"{self.n_classes} classes (share of the annotated pixels): {shares}"
        else:  # the stored values are in stored_values()
            text = f"binary masks: {self.class_names[1]} or {self.class_names[0]}"
        if self.ignore_value is not None and self.annotated:
            share = float(np.mean(list(self.annotated.values())))
            text += (
                f"; partial annotations: {share:.1%} of the pixels annotated on average, the rest "
                f"(value {self.ignore_value}) left out of the loss and of every score"
            )
        return text

    def stored_values(self):
        """What each stored mask value means, e.g. ``{0: "background", 255: "structure"}`` (colours: (r, g, b) keys)."""
        if self.mask_kind in ("classes", "colours"):
            return {entry["colour"] or entry["id"]: entry["name"] for entry in self.classes}
        used = {self.mask_values.get(name, "") for name, _, _ in self.pairs}
        others = {value for text in used for value in text.split(", ")} - {"0", "", str(self.ignore_value)}
        top = int(others.pop()) if len(others) == 1 and "-" not in str(others) else "any other value"
        return {0: self.class_names[0], top: self.class_names[1]}

    def grouped(self):
        """Return ``[(severity, files, what, fix)]``: findings with the same text as one entry."""
        groups = collections.OrderedDict()
        for problem in sorted(self.problems, key=lambda p: SEVERITIES.index(p.severity)):
            key = (problem.severity, problem.group or problem.what, problem.fix)
            groups.setdefault(key, []).append(problem)
        return [
            (severity, [p.file for p in found], found[0].what if len(found) == 1 else text, fix)
            for (severity, text, fix), found in groups.items()
        ]

    def summary(self):
        """Return the report as text: counts, the mask kind and classes, then each finding once."""
        found = len(self.pairs) + len(self.left_out)
        left = ""
        if self.left_out:
            items = [f"{n}: {r}" for n, r in self.left_out.items()]
            left = f" ({'; '.join(items[:5])}{'; ...' if len(items) > 5 else ''})"
        lines = [
            f"Checked {found} {self.items} in {self.image_folder} and the masks in {self.mask_folder}.",
            f"Usable pairs: {len(self.pairs)}. Left out: {len(self.left_out)}{left}.",
        ]
        if self.pairs:
            lines.append(f"Masks: {self._kind_line()}")
            lines.append(f"{self.items.capitalize()}: {self.image_rule}{self.rescaling_hint}")
            lines.extend(self._class_lines())
            lines.extend(self._annotated_lines())
        lines.append(f"Errors: {self.count('error')}, warnings: {self.count('warning')}, notes: {self.count('note')}.")
        for severity, files, what, fix in self.grouped():
            names = [Path(f).name for f in files]
            where = files[0] if len(files) == 1 else f"{len(files)} files ({few_names(names, 3)})"
            lines.append(f"- {severity.upper()} {where}: {what} Fix: {fix}")
        if self.saved:
            lines.append(f"Every finding per file: {self.saved[0]}")
        return "\n".join(lines)

    def _kind_line(self):
        if self.mask_kind == "classes":
            what = f"class ids, K = {self.n_classes}"
        elif self.mask_kind == "colours":
            what = f"colour-coded, K = {self.n_classes} colours"
        elif self.mask_kind == "instances":
            what = "instance labels (one id per object), read as foreground = id > 0"
        else:
            what = f"binary (0 = {self.class_names[0]}, the other value = {self.class_names[1]})"
        ignore = f"; ignore value {self.ignore_value} = not annotated" if self.ignore_value is not None else ""
        return f"{what}{ignore}. {self.kind_reason}"

    def _class_lines(self):
        if self.mask_kind not in ("classes", "colours"):
            return []
        lines = ["  id  name                 pixels  images" + ("  colour" if self.mask_kind == "colours" else "")]
        for entry in self.classes:
            colour = f"  {entry['colour']}" if entry.get("colour") is not None else ""
            lines.append(
                f"  {entry['id']:>2}  {entry['name'][:20]:<20} {entry['pixel_share']:>6.1%}  "
                f"{entry['images']:>6}{colour}"
            )
        return lines

    def _annotated_lines(self):
        if self.ignore_value is None or not self.annotated:
            return []
        partly = {n: s for n, s in self.annotated.items() if s < 1}
        full = len(self.annotated) - len(partly)
        if not partly:
            return [f"Annotated: every mask fully (no pixel equals the ignore value {self.ignore_value})."]
        low, high = min(partly.values()), max(partly.values())
        return [
            f"Annotated: {len(partly)} masks partly, {low:.1%} to {high:.1%} of their pixels "
            f"({few_names(natural_sorted(partly), 3)}); {full} fully. Per image: the CSV of save()."
        ]

    def save(self, results_folder):
        """Write the per-file lists as CSV files into ``results_folder`` (outside your folders; never
        overwriting) and return their paths: ``check_folder.csv`` (every finding), ``masks.csv`` (how each
        mask is read, its values, the annotated share) and, for K classes, ``classes.csv`` (the class table).
        """
        folder = Path(results_folder).expanduser()
        for user_folder in (self.image_folder, self.mask_folder):
            if folder.resolve() == user_folder.resolve() or user_folder.resolve() in folder.resolve().parents:
                raise ValueError(
                    f"The results folder {folder} is inside your folder {user_folder}; choose a "
                    f"results folder elsewhere so that your folders stay as they are."
                )
        folder.mkdir(parents=True, exist_ok=True)
        rows = [("severity", "file", "what", "fix")] + [p[:4] for p in self.problems]
        pairs = [("name", "image", "mask", "mask_read_as", "mask_values", "annotated_share", "image_channels")]
        shares = {n: f"{self.annotated.get(n, 1.0):.4f}" for n, _, _ in self.pairs}
        columns = (self.mask_rules, self.mask_values, shares, self.channels)
        pairs += [(n, str(i), str(m), *(column.get(n, "") for column in columns)) for n, i, m in self.pairs]
        pairs += [(n, "", "", f"left out: {r}", "", "", "") for n, r in self.left_out.items()]
        written = [
            write_text_file(folder, "check_folder.csv", _csv_text(rows)),
            write_text_file(folder, "masks.csv", _csv_text(pairs)),
        ]
        if self.mask_kind in ("classes", "colours"):
            table = [("id", "name", "red", "green", "blue", "pixel_share", "images")]
            table += [
                (e["id"], e["name"], *(e["colour"] or ("", "", "")), f"{e['pixel_share']:.6f}", e["images"])
                for e in self.classes
            ]
            written.append(write_text_file(folder, "classes.csv", _csv_text(table)))
        self.saved = written
        return written

    __str__ = summary

    def _repr_pretty_(self, printer, cycle):
        printer.text(self.summary())


def _csv_text(rows):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().rstrip("\n")


def check_folder(
    image_folder,
    mask_folder,
    *,
    n_poolings=4,
    crop_size=128,
    mask_kind="auto",
    ignore_value=None,
    class_names=None,
    results_folder=None,
    colour_min_share=0.001,
    rescaling=None,
):
    """Check a folder of images and a folder of masks, and report every problem before training.

    ``7.png`` in ``image_folder`` pairs with ``7.png``, ``7.tif`` or ``7_mask.png`` ... in ``mask_folder``.
    Images are read from their headers (size, channels, pixel type); masks are read whole.

    - ``n_poolings``, ``crop_size``: of the U-Net and its training crops (images are padded to fit them).
    - ``mask_kind``: "auto" decides by :data:`helpers.folder_checks.MASK_KIND_RULE`; "binary", "classes",
      "colours" or "instances" overrides it.
    - ``ignore_value``: the mask value (a colour for colour masks) of pixels **not annotated**: left out of
      the class table and of every score, kept in the loaded masks; each mask's annotated share is reported.
    - ``class_names``: see :func:`helpers.folder_checks.read_class_names`; for colour masks a
      ``{(r, g, b): name}`` dict also fixes the class colours and their order.
    - ``results_folder``: where the per-file CSV lists go (:meth:`FolderReport.save`), never your folders.
    - ``colour_min_share``: colour masks: a colour is a class when it covers this share of the folder's mask
      pixels; rarer colours are off-palette (an error naming the file).
    - ``rescaling``: how pixel values become 0..1, one rule for the folder (a key of
      :data:`helpers.imageio.RULE_DIVISORS` or "own minimum to maximum"); None: decided from the whole
      folder (:func:`helpers.imageio.folder_rescaling`) and said once in the report.

    Returns a :class:`FolderReport`. A missing or empty folder, or the same folder twice, raises an
    error naming it.
    """
    if mask_kind not in folder_checks.MASK_KINDS:
        raise ValueError(f"mask_kind must be one of {folder_checks.MASK_KINDS}, got {mask_kind!r}.")
    if rescaling not in (None, *imageio.RULE_DIVISORS, "own minimum to maximum"):
        rules = [*imageio.RULE_DIVISORS, "own minimum to maximum"]
        raise ValueError(f"rescaling (RESCALING in notebook 08) must be None or one of {rules}, got {rescaling!r}.")
    imageio.check_not_same_folder(image_folder, mask_folder)  # an empty folder parameter, or one folder for both
    image_folder, mask_folder = Path(image_folder).expanduser(), Path(mask_folder).expanduser()
    names = folder_checks.read_class_names(class_names)
    report = FolderReport(image_folder, mask_folder, n_poolings, crop_size)
    report.ignore_value = ignore_value
    images_listed = imageio.list_image_files(image_folder, "image")
    masks_listed = imageio.list_image_files(mask_folder, "mask")
    folder_checks.report_skipped(images_listed, report)
    folder_checks.report_skipped(masks_listed, report)
    pairing = imageio.pair_files(images_listed, masks_listed)
    folder_checks.report_unpaired(pairing, images_listed, masks_listed, report)
    masks, paths, image_paths = {}, {}, {}
    for name, image_path, mask_path in pairing.pairs:
        mask, reason = folder_checks.check_pair(name, image_path, mask_path, report)
        if reason:
            report.left_out[name] = reason
        else:
            masks[name] = folder_checks.summarize_mask(mask, mask_path, ignore_value)  # its pixels are not kept
            paths[name], image_paths[name] = mask_path, image_path
    for name in folder_checks.report_images(report, image_paths, rescaling):
        del masks[name]
    masks = folder_checks.check_mask_values(masks, paths, report)
    if masks:
        masks = folder_checks.read_masks_by_kind(masks, paths, mask_kind, ignore_value, names, colour_min_share, report)
    report.pairs = [(n, image_paths[n], paths[n]) for n in natural_sorted(masks)]
    report.channels = {n: c for n, c in report.channels.items() if n in masks}
    folder_checks.report_annotated(masks, paths, report)
    folder_checks.report_mask_encodings(report)
    _check_memory(report)
    report.left_out = {n: report.left_out[n] for n in natural_sorted(report.left_out)}
    if results_folder is not None:
        report.save(results_folder)
    return report


# --- memory, loading and predicting ------------------------------------------------------------------

#: Bytes of memory assumed where the operating system does not say (os.sysconf: Linux and macOS do).
MEMORY_FALLBACK = 8 * 2**30


def machine_memory():
    """Return the bytes of memory of this machine (:data:`MEMORY_FALLBACK` where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return MEMORY_FALLBACK


def _padded(report, size):
    """An image's (height, width) once padded: at least the crop, a multiple of 2**n_poolings."""
    step = 2**report.n_poolings
    return tuple(-(-max(report.crop_size, side) // step) * step for side in size)


def _check_memory(report):
    """Estimate from the headers what loading and training need: float32 images and masks, held about
    3 times (loaded, stacked, the training copy); an error with the fix beyond half the machine's memory."""
    headers = [report.headers[name] for name, _, _ in report.pairs]
    sizes = [_padded(report, [h.shape[h.axes.index(axis)] for axis in "YX"]) for h in headers]
    need, limit = 3 * 4 * (report.image_channels + 1) * sum(h * w for h, w in sizes), machine_memory() // 2
    report.memory = (need, limit)
    if need > limit:
        report.add(
            "error",
            report.image_folder,
            f"loading these {len(sizes)} images for training needs about {need / 2**30:.1f} GB of memory, more "
            f"than half of this machine's {2 * limit / 2**30:.1f} GB.",
            "Train on fewer or smaller images: cut large ones into pieces (e.g. 2048x2048; Fiji: Image > Stacks > "
            "Tools > Montage to Stack) or crop the regions you annotated; predict_folder predicts large new "
            "images tile by tile.",
        )


def _mask_ids(report, name, mask_path):
    """Return the (H, W, 1) float32 class ids of one checked mask, ignore value kept."""
    pixels = imageio.read_mask(mask_path)
    if report.mask_kind == "colours":
        ids = folder_checks.colour_ids(pixels, list(report.colour_to_id), report.ignore_value)
        return ids[..., np.newaxis].astype(np.float32)
    if pixels.ndim == 3:
        pixels = pixels[..., 0]
    if report.mask_kind != "classes":  # binary and instances: 0/1, the ignore value (None: no pixel) kept
        pixels = np.where(pixels == report.ignore_value, pixels, pixels > 0)
    return pixels[..., np.newaxis].astype(np.float32)


def load_checked(report, *, invert_masks=False):
    """Load the usable pairs of a :class:`FolderReport` (from :func:`check_folder`) as a :data:`CheckedSet`.

    Images are grey or colour as the report says (a folder with both is read as colour). Each image
    is mirror-padded at the bottom and right to at least the crop and a multiple of
    ``2**report.n_poolings`` (so that whole images go through the U-Net); images of one size come as
    one (N, H, W, C) array, images of different sizes as a list of arrays, each at its own size.
    The padding of the masks is **not annotated** (``ignore_value``: ``report.ignore_id``, or
    :data:`PADDING` if the folder has none): it weighs 0 in the loss and counts in no score.
    ``invert_masks`` (binary masks only) swaps foreground and background. Masks hold class ids
    (binary and instances: 0/1; colour masks: the ids of ``report.colour_to_id``).
    """
    if not report.pairs:
        raise ValueError(f"No usable image/mask pair in {report.image_folder}: read the report and fix the errors.")
    if report.memory[0] > report.memory[1]:
        raise MemoryError(next(f"{p.what} Fix: {p.fix}" for p in report.problems if "GB of memory" in p.what))
    if invert_masks and report.mask_kind in ("classes", "colours"):
        raise ValueError(f"invert_masks is for binary masks; these are {report.mask_kind} (K = {report.n_classes}).")
    images = [imageio.read_image(path, report.rescaling) for _, path, _ in report.pairs]
    images = [imageio.as_channels(image, report.image_channels) for image in images]
    masks = [_mask_ids(report, name, mask) for name, _, mask in report.pairs]
    if invert_masks:  # the ignore value (None: no pixel) stays
        masks = [np.where(mask == report.ignore_id, mask, 1 - mask) for mask in masks]
    sizes = [image.shape[:2] for image in images]
    padded = [_padded(report, size) for size in sizes]
    ignore = PADDING if report.ignore_id is None and padded != sizes else report.ignore_id
    images = [pad_to(image, *size) for image, size in zip(images, padded)]
    fill = 0 if ignore is None else ignore  # pad widths: (rows, columns, channels)
    masks = [
        np.pad(m, ((0, h - len(m)), (0, w - m.shape[1]), (0, 0)), constant_values=fill)
        for m, (h, w) in zip(masks, padded)
    ]
    if len(set(padded)) == 1:  # one size: one array each
        images, masks = np.stack(images), np.stack(masks)
    names = [name for name, _, _ in report.pairs]
    source = f"images from {report.image_folder}, masks from {report.mask_folder}"
    if report.mask_kind in ("classes", "colours"):
        source += f" ({report.n_classes} classes: {', '.join(report.class_names)})"
    return CheckedSet(images, masks, names, source, report.class_names, ignore, sizes)


def _legend(classes, count):
    """Return (names, colours) for ``count`` classes from a report, a CheckedSet, names or None."""
    names, colours = [], None
    if isinstance(classes, FolderReport) and classes.mask_kind == "colours":
        colours = list(classes.colour_to_id)
    if isinstance(classes, (FolderReport, CheckedSet)):
        names = list(classes.class_names)
    elif classes is not None:
        names = [str(name) for name in classes]
    if names and len(names) != count:
        raise ValueError(
            f"The model predicts {count} classes but {len(names)} class names were given "
            f"({', '.join(names)}). Pass the report of the folder the model was trained on."
        )
    names = names or [f"class {i}" for i in range(count)]
    if not colours:  # the course's class colours (helpers.label_maps), 0..255
        palette = np.round(255 * label_maps.label_colors(min(count, 20))).astype(int)
        colours = [tuple(int(v) for v in palette[i % len(palette)]) for i in range(count)]
    return names, colours


def predict_folder(
    model,
    input_folder,
    output_folder,
    *,
    threshold=0.5,
    n_poolings=4,
    channels=1,
    file_type="png",
    tile=1024,
    classes=None,
    rescaling=None,
):
    """Segment every image of a folder and write the masks into a NEW folder; return that folder.

    Each mask has the image's name and size; if ``output_folder`` exists, the masks go to
    ``output_folder-2`` (or ``-3`` ...). Images up to ``tile`` pixels a side are predicted whole
    (mirror-padded to a multiple of ``2**n_poolings``), larger ones tile by tile.

    - **One output channel** (binary): 8-bit masks, 0 = background, 255 = structure (probability
      >= ``threshold``, chosen on validation images).
    - **K >= 2 output channels** (softmax): 8-bit class-id masks 0..K-1 (the most probable class,
      ``threshold`` may be None), colour previews in ``previews/`` and ``legend.csv``; ``classes``
      (a FolderReport, CheckedSet or names) gives the legend's names (and colour masks' colours).

    ``channels`` is what the model takes (grey and colour are converted to it); ``rescaling`` the
    training folder's rule (``report.rescaling``; None: each image's own, :data:`helpers.imageio.RESCALE_POLICY`). ``file_type`` is
    "png" or "tif".
    """
    if file_type not in ("png", "tif"):
        raise ValueError(f"file_type should be 'png' or 'tif', got {file_type!r}.")
    listing = imageio.list_image_files(input_folder, "image")
    doubles = [" and ".join(p.name for p in paths) for paths in listing.by_stem.values() if len(paths) > 1]
    if doubles:
        raise ValueError(
            f"In {listing.folder} several images have the same name ({'; '.join(doubles)}); their "
            f"masks would get one file name. Rename or move one of each."
        )
    paths = [listing.by_stem[stem][0] for stem in natural_sorted(listing.by_stem)]
    folder = new_folder(output_folder)
    converted, legend = 0, None
    for path in paths:
        dtype = imageio.image_header(path).dtype
        if rescaling in RULE_TYPES and f"{dtype.kind}{dtype.itemsize}" != RULE_TYPES[rescaling]:
            raise ValueError(
                f"New image {path} has pixel type {dtype}, but the training images were rescaled by {rescaling!r}: "
                f"read this way it would be wrong. Convert it to the training images' type (Fiji: Image > Type)."
            )
        stored = imageio.read_image(path, rescaling)
        converted += stored.shape[-1] != channels and not imageio.is_grey_rgb(stored)
        probability = predict_image(model, imageio.as_channels(stored, channels), n_poolings, tile)
        if probability.shape[-1] == 1:
            if threshold is None:
                raise ValueError(
                    "The model has one output (binary): pass threshold=..., chosen on the validation images."
                )
            mask = np.where(foreground(probability[..., 0], threshold), 255, 0).astype(np.uint8)
        else:
            if legend is None:
                legend = _legend(classes, probability.shape[-1])
                (folder / "previews").mkdir()
            mask = np.argmax(probability, axis=-1).astype(np.uint8)
            preview = np.asarray(legend[1], np.uint8)[mask]
            skimage.io.imsave(folder / "previews" / f"{path.stem}.png", preview, check_contrast=False)
        skimage.io.imsave(folder / f"{path.stem}.{file_type}", mask, check_contrast=False)
    if converted:
        print(
            f"{converted} images converted to {'grey' if channels == 1 else 'colour'} for the model "
            f"(channels={channels})."
        )
    if legend is None:
        names = _legend(classes, 2)[0] if classes is not None else ("background", "structure")
        print(f"Wrote {len(paths)} masks (0 = {names[0]}, 255 = {names[1]}) to {folder}.")
    else:
        rows = [("id", "name", "red", "green", "blue")] + [(i, n, *c) for i, (n, c) in enumerate(zip(*legend))]
        (folder / "legend.csv").write_text(_csv_text(rows) + "\n", encoding="utf-8")
        print(
            f"Wrote {len(paths)} class-id masks (0..{len(legend[0]) - 1}: {', '.join(legend[0])}) to {folder}, "
            f"colour previews to {folder / 'previews'} and the legend to {folder / 'legend.csv'}."
        )
    return folder


def predict_image(model, image, n_poolings=4, tile=1024):
    """Return the probabilities of one (H, W, C) image, at its size: whole, mirror-padded to a multiple of
    ``2**n_poolings``, or tile by tile (:func:`helpers.inference.predict_tiled`) when a side exceeds ``tile``."""
    if max(image.shape[:2]) > tile:
        return predict_tiled(model, image, tile=tile, overlap=tile // 4, divisible_by=2**n_poolings)
    return predict_padded(model, image, n_poolings)
