"""Your own images: check a folder before training, predict a folder after, describe the method.

:func:`check_folder` reads a folder of images and a folder of masks and reports **every**
problem before any training: unpaired names, sizes, bit depth, images smaller than a training
crop, sizes not divisible by ``2**n_poolings``, and the kind of masks, recognised once for the
whole folder:

- ``"binary"``: every mask holds 0 and at most one other value (0/1, 0/255, 0/65535, 1-bit,
  a 2-colour palette PNG);
- ``"classes"``: class ids 0..K-1 (8 or 16 bit, or a palette PNG whose indices are the
  classes); K comes from the whole folder; a class table gives each id's pixel share;
- ``"colours"``: colour-coded RGB masks; each exact colour of the folder is a class;
- ``"instances"``: one id per object (notebook 07); read as foreground = id > 0.

The rule for ``mask_kind="auto"`` is stated in :data:`MASK_KIND_RULE`; the report says what
was chosen and why, and ``mask_kind`` overrides it. Partial annotations: pixels equal to
``ignore_value`` are "not annotated"; they are kept as they are in the loaded masks, left out
of the class table, and the report gives each image's annotated share.

A finding that repeats is **one line** with a count and a few names; the full per-file list
goes to CSV files in a results folder you name (never into your image or mask folders). A
pair that cannot be used is left out *and counted in the report*, never dropped silently.
Nothing in the folders is changed: files are only read (:mod:`helpers.imageio`).

:func:`load_checked` loads the usable pairs (images grey or colour in [0, 1], masks as class
ids); :func:`predict_folder` writes one mask per image into a **new** output folder. Files are
read by :mod:`helpers.imageio`, the one reader; the methods paragraph is written by
:mod:`helpers.reporting`; notebook 08's example folder comes from :mod:`helpers.datasets`.

Training and scoring, the same calls for binary masks and for K classes (notebook 08): the
report decides. :func:`build_model` (1 sigmoid output, or K softmax outputs),
:func:`training_loss` and :func:`compile_model` (binary cross-entropy, or sparse categorical
cross-entropy with an optional Dice term), :func:`training_class_weights`,
:func:`training_batches` and :func:`validation_data` (pixels not annotated weigh 0; crops
without an annotated pixel are skipped), :func:`choose_threshold` and :func:`evaluate` (on the
annotated pixels only: Dice/IoU, or a per-class table and a confusion matrix),
:func:`describe_classes` for the methods paragraph (:func:`helpers.reporting.methods_paragraph`
words the K-class case itself).
"""

import collections
import csv
import io
from pathlib import Path

import numpy as np
import skimage.io

from helpers import imageio
from helpers._checks import foreground
from helpers.imageio import IMAGE_EXTENSIONS, natural_sorted, new_folder, write_text_file
from helpers.inference import pad_to, predict_padded, predict_tiled

__all__ = [
    "MASK_KINDS",
    "MASK_KIND_RULE",
    "PREVIEW_COLOURS",
    "Problem",
    "FolderReport",
    "CheckedSet",
    "check_folder",
    "load_checked",
    "read_image",
    "read_class_names",
    "predict_folder",
    "is_multiclass",
    "split_counts",
    "build_model",
    "training_loss",
    "compile_model",
    "training_class_weights",
    "training_batches",
    "validation_data",
    "predict_images",
    "choose_threshold",
    "evaluate",
    "score_table",
    "shown_truth",
    "describe_classes",
    "make_scribbles",
]

#: Values of ``mask_kind``.
MASK_KINDS = ("auto", "binary", "classes", "colours", "instances")

#: How ``mask_kind="auto"`` decides, in words (the report quotes the branch it took).
MASK_KIND_RULE = (
    "colours when most masks are colour (RGB with red, green and blue not all equal); else "
    "binary when every mask holds 0 and at most one other value (0/1, 0/255 or 0/65535); else "
    "instances when, in every mask, each non-zero id is one connected region (one id per object) "
    "and no mask is a palette PNG; else classes (ids 0..K-1, K = largest id + 1). The ignore value "
    "is left out before deciding."
)

#: Colours of the class previews written by :func:`predict_folder` (id 0 black).
PREVIEW_COLOURS = (
    (0, 0, 0),
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (220, 190, 255),
    (170, 110, 40),
    (255, 250, 200),
    (128, 0, 0),
)

#: One finding: ``severity`` is "error" (the pair is left out), "warning" (used, check it) or
#: "note" (used as described); ``file`` the file or folder; ``what`` the problem; ``fix`` what
#: to do; ``group`` the same finding in words that do not depend on the file (findings with the
#: same severity, group and fix are one line of the report).
Problem = collections.namedtuple("Problem", "severity file what fix group", defaults=(None,))

#: What :func:`load_checked` returns: ``images`` (N, H, W, C) float32 in [0, 1]; ``masks``
#: (N, H, W, 1) float32 class ids (binary: 0/1; instances: 0/1), pixels not annotated equal to
#: ``ignore_value``; ``names``; ``source``; ``class_names`` (one per id).
CheckedSet = collections.namedtuple("CheckedSet", "images masks names source class_names ignore_value")

#: Endings of mask names that should have been the image's name (``7_mask.png`` for ``7.png``).
MASK_SUFFIXES = ("_mask", "-mask", "_masks", "_label", "-label", "_labels", "_seg", "_gt", "_annotation")

RENAME_FIX = "Give each mask exactly the file name of its image (7.png <-> 7.png; 7.tif <-> 7.png is fine)."

SEVERITIES = ("error", "warning", "note")


class FolderReport:
    """What :func:`check_folder` found.

    Attributes
    ----------
    image_folder, mask_folder : pathlib.Path
    problems : list of Problem
        Every finding, one per file (the summary groups them).
    pairs : list of (str, pathlib.Path, pathlib.Path)
        The usable pairs: name, image file, mask file, in natural order.
    left_out : dict
        ``{name: reason}`` for every image that is not used.
    mask_kind : str
        "binary", "classes", "colours" or "instances"; ``kind_reason`` says why.
    mask_rules : dict
        ``{name: rule}``: how each mask is read ("0/255", "class ids 0-3", "labels > 0", ...).
    classes : list of dict
        The class table: ``id``, ``name``, ``colour`` (colour masks), ``pixel_share`` (of the
        annotated pixels), ``images`` (masks containing it). Binary: background and foreground.
    ignore_value : int, tuple or None
        As given; ``ignore_id`` is its value in the loaded masks (colours: 255).
    annotated : dict
        ``{name: share of pixels not equal to the ignore value}``.
    channels : dict
        ``{name: 1 or 3}`` of each image; ``image_channels`` is what :func:`load_checked` gives.
    n_poolings, crop_size : int
    saved : list of pathlib.Path
        The CSV files written by :meth:`save`.
    """

    def __init__(self, image_folder, mask_folder, n_poolings, crop_size):
        self.image_folder, self.mask_folder = Path(image_folder), Path(mask_folder)
        self.n_poolings, self.crop_size = n_poolings, crop_size
        self.problems, self.pairs, self.left_out, self.mask_rules = [], [], {}, {}
        self.channels, self.annotated, self.classes, self.saved = {}, {}, [], []
        self.mask_kind, self.kind_reason, self.image_channels, self.image_rule = "binary", "", 1, ""
        self.ignore_value, self.ignore_id, self.colour_to_id = None, None, {}
        self.mask_values = {}

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
            f"Checked {found} images in {self.image_folder} and the masks in {self.mask_folder}.",
            f"Usable pairs: {len(self.pairs)}. Left out: {len(self.left_out)}{left}.",
        ]
        if self.pairs:
            lines.append(f"Masks: {self._kind_line()}")
            lines.append(f"Images: {self.image_rule}")
            lines.extend(self._class_lines())
            lines.extend(self._annotated_lines())
        lines.append(f"Errors: {self.count('error')}, warnings: {self.count('warning')}, notes: {self.count('note')}.")
        for severity, files, what, fix in self.grouped():
            names = [Path(f).name for f in files]
            where = files[0] if len(files) == 1 else f"{len(files)} files ({_few(names, 3)})"
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
            what = "binary (0 = background, the other value = structure)"
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
            f"({_few(natural_sorted(partly), 3)}); {full} fully. Per image: the CSV of save()."
        ]

    def save(self, results_folder):
        """Write the full per-file lists as CSV files into ``results_folder`` (never overwriting).

        Parameters
        ----------
        results_folder : str or pathlib.Path
            Created if missing; must not be inside the image or mask folder.

        Returns
        -------
        list of pathlib.Path
            ``check_folder.csv`` (every finding), ``masks.csv`` (each pair: how its mask is
            read, its values, the annotated share) and, for K classes, ``classes.csv`` (the class
            table, with the colour-to-id map of colour masks).
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
        pairs += [
            (
                n,
                str(i),
                str(m),
                self.mask_rules.get(n, ""),
                self.mask_values.get(n, ""),
                f"{self.annotated.get(n, 1.0):.4f}",
                self.channels.get(n, ""),
            )
            for n, i, m in self.pairs
        ]
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

    def __str__(self):
        return self.summary()

    def _repr_pretty_(self, printer, cycle):
        printer.text(self.summary())


def _csv_text(rows):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().rstrip("\n")


def _few(names, shown=5):
    names = list(names)
    return ", ".join(str(n) for n in names[:shown]) + (", ..." if len(names) > shown else "")


# --- listing and pairing (helpers.imageio), reported ------------------------------------------


SKIPPED = {
    "hidden file": (
        "hidden file in the {kind} folder, not used.",
        "Nothing to do (system files such as .DS_Store are skipped).",
    ),
    "sub-folder": (
        "sub-folder of the {kind} folder; its files are not read.",
        "Move its {kind}s into {folder} if they belong to this set.",
    ),
    "not an image file": (
        "not an image file ({ending}), not used.",
        "Save {kind}s as " + ", ".join(IMAGE_EXTENSIONS) + "; move other files elsewhere.",
    ),
}


def _report_skipped(listing, report):
    for path, reason in listing.skipped:
        what, fix = SKIPPED[reason]
        fill = dict(kind=listing.kind, folder=listing.folder, ending=path.suffix or "no ending")
        report.add(
            "note", path, what.format(**fill), fix.format(**fill), group=what.format(**{**fill, "ending": "..."})
        )


def _report_unpaired(pairing, images, masks, report):
    for stem in pairing.masks_without_image:
        path = masks.by_stem[stem][0]
        base = next(
            (stem[: -len(s)] for s in MASK_SUFFIXES if stem.lower().endswith(s) and stem[: -len(s)] in images.by_stem),
            None,
        )
        if base is not None:
            report.add(
                "error",
                path,
                f"mask name does not match: it looks like the mask of {images.by_stem[base][0].name}.",
                f"Rename {path.name} to {base}{path.suffix}. {RENAME_FIX}",
            )
        else:
            report.add(
                "warning",
                path,
                "mask without an image of the same name; not used.",
                f"Add the image, rename it, or move the mask away. {RENAME_FIX}",
            )
    for stem in pairing.images_without_mask:
        if stem in pairing.double_images:
            continue
        report.add(
            "error",
            images.by_stem[stem][0],
            "image without a mask of the same name.",
            f"Add its mask to {report.mask_folder}. {RENAME_FIX}",
        )
        report.left_out[stem] = "no mask"
    for doubles, what in ((pairing.double_images, "images"), (pairing.double_masks, "masks")):
        for stem, paths in doubles.items():
            if stem not in images.by_stem or stem in report.left_out:
                continue
            report.add(
                "error",
                paths[0],
                f"several {what} share the name {stem!r}: {', '.join(p.name for p in paths)}.",
                "Keep one file per name; rename or move the others.",
            )
            report.left_out[stem] = f"several {what} with this name"


# --- one pair ----------------------------------------------------------------------------------


def _read(path, report, kind):
    """Return the stored pixels (masks: label values), or None after reporting why not."""
    try:
        return imageio.read_pixels(path) if kind == "image" else imageio.read_mask(path)
    except ValueError as error:
        if path.stat().st_size == 0:
            report.add(
                "error",
                path,
                f"the {kind} file is empty (0 bytes), e.g. an interrupted copy.",
                "Copy the file again from the original.",
            )
        elif "expected one 2-D mask" in str(error):
            report.add(
                "error",
                path,
                "the mask holds a stack, not one 2-D mask.",
                "Save one file per slice (Fiji: Image > Stacks > Stack to Images), or use the 3-D notebook 06.",
            )
        else:
            report.add(
                "error",
                path,
                f"the {kind} file cannot be read ({type(error.__cause__ or error).__name__}).",
                "Open it in Fiji/ImageJ and save it again as PNG or TIFF.",
                group=f"the {kind} file cannot be read.",
            )
        return None


def _image_channels(pixels, path, report):
    """Return the channel count of a stored image (1 or 3), or None after reporting a stack."""
    if imageio.read_palette(path) is not None:
        return imageio.read_image(path).shape[-1]
    if pixels.ndim == 2:
        return 1
    if pixels.ndim == 3 and pixels.shape[-1] in (2, 4):
        report.add("note", path, "has an alpha (transparency) channel; it is dropped.", "Nothing to do.")
        pixels = pixels[..., :-1]
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        return 1
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        if imageio.is_grey_rgb(pixels):
            report.add("note", path, "grey image saved as RGB (red = green = blue); read as grey.", "Nothing to do.")
            return 1
        return 3
    report.add(
        "error",
        path,
        f"holds a stack of shape {pixels.shape}, not one 2-D image.",
        "Save one file per slice (Fiji: Image > Stacks > Stack to Images), or use the 3-D notebook 06.",
        group="holds a stack, not one 2-D image.",
    )
    return None


def _check_bit_depth(pixels, path, report):
    rule = imageio.scaling_rule(pixels)
    if rule == "12-bit in 16 bits / 4095":
        report.add(
            "warning",
            path,
            f"16-bit image whose values only reach {pixels.max()} (12-bit camera data?); "
            "it is read as 12-bit data (divided by 4095).",
            "Nothing to do; use the same rescaling (helpers.imageio.RESCALE_POLICY) when you measure intensities.",
            group="16-bit images whose values stay below 4096 (12-bit camera data?); read as 12-bit "
            "data (divided by 4095).",
        )
    elif rule == "own minimum to maximum":
        report.add(
            "warning",
            path,
            f"pixel type {pixels.dtype} with values {pixels.min():g} to {pixels.max():g}; "
            "it is rescaled from its own minimum to maximum.",
            "Nothing to do, or convert to 8/16-bit in Fiji (Image > Type) to control the scaling.",
            group=f"pixel type {pixels.dtype}; each image is rescaled from its own minimum to maximum.",
        )


def _check_pair(name, image_path, mask_path, report):
    """Check one image and its mask file; return (mask pixels, reason left out or None)."""
    image, mask = _read(image_path, report, "image"), _read(mask_path, report, "mask")
    if image is None or mask is None:
        return None, "file cannot be read"
    channels = _image_channels(image, image_path, report)
    if channels is None:
        return None, "image is a stack"
    _check_bit_depth(image, image_path, report)
    if image.shape[:2] != mask.shape[:2]:
        report.add(
            "error",
            mask_path,
            f"the mask is {mask.shape[1]}x{mask.shape[0]} but its image "
            f"{image_path.name} is {image.shape[1]}x{image.shape[0]} (width x height).",
            "Export the mask from its own image at full resolution, without scaling or cropping.",
            group="the mask and its image differ in size.",
        )
        return None, "mask and image differ in size"
    height, width = image.shape[:2]
    if min(height, width) < report.crop_size:
        report.add(
            "warning",
            image_path,
            f"{width}x{height} is smaller than the {report.crop_size}-pixel "
            "training crops; image and mask are padded by mirroring.",
            "Nothing to do, or choose a smaller crop_size.",
            group=f"smaller than the {report.crop_size}-pixel training crops; padded by mirroring.",
        )
    step = 2**report.n_poolings
    if height % step or width % step:
        report.add(
            "note",
            image_path,
            f"{width}x{height} is not divisible by 2**n_poolings = {step}; it is "
            "padded by mirroring for prediction and the padding is cut off again.",
            "Nothing to do.",
            group=f"size not divisible by 2**n_poolings = {step}; padded by mirroring for prediction and "
            "the padding is cut off again.",
        )
    report.channels[name] = channels
    return mask, None


# --- the mask kind of the folder -----------------------------------------------------------------


def _is_binary(values):
    return any(values <= {0, top} for top in (1, 255, 65535))


def _without_ignore(pixels, ignore_value):
    """Return the pixels with the ignore value set to 0 (grey masks) and the ignored-pixel map."""
    if ignore_value is None or pixels.ndim != 2:
        return pixels, np.zeros(pixels.shape[:2], bool)
    ignored = pixels == ignore_value
    return np.where(ignored, 0, pixels), ignored


def _one_region_per_id(pixels):
    import skimage.measure

    regions = skimage.measure.label(pixels, background=0, connectivity=2)
    ids = np.unique(pixels)
    return int(regions.max()) == int(np.count_nonzero(ids))


def _first_check_masks(masks, paths, report):
    """Leave out JPEG masks with blurred values and probability masks; return the rest."""
    kept = {}
    for name, pixels in masks.items():
        path = paths[name]
        values = (
            set(np.unique(pixels).tolist())
            if pixels.ndim == 2 or not imageio.is_grey_rgb(pixels)
            else set(np.unique(pixels[..., 0]).tolist())
        )
        if path.suffix.lower() in (".jpg", ".jpeg") and not _is_binary(values) and len(values) > 2:
            report.add(
                "error",
                path,
                f"JPEG mask with {len(values)} different values (compression blurs edges).",
                "Save masks as PNG or TIFF, never JPEG.",
                group="JPEG masks (compression blurs edges).",
            )
            report.left_out[name] = "JPEG mask"
        elif pixels.dtype.kind == "f" and not np.all(np.mod(pixels, 1) == 0):
            report.add(
                "error",
                path,
                f"the mask has {len(values)} different values between {min(values):g} and "
                f"{max(values):g}, not whole numbers (a probability or smoothed image?).",
                "Threshold it and save 0 for background and 255 for the structure.",
                group="masks of fractional values (probabilities or smoothed images?).",
            )
            report.left_out[name] = "mask values are not whole numbers"
        else:
            kept[name] = pixels.astype(np.int64) if pixels.dtype.kind == "f" else pixels
    return kept


def _choose_kind(masks, paths, mask_kind, ignore_value, report):
    """Return (kind, reason) for the folder."""
    colour = [n for n, p in masks.items() if p.ndim == 3 and not imageio.is_grey_rgb(p)]
    if mask_kind != "auto":
        return mask_kind, f"Chosen by mask_kind={mask_kind!r}."
    if len(colour) > len(masks) - len(colour):
        return "colours", (
            f"Chosen automatically: {len(colour)} of {len(masks)} masks are colour images; each "
            f"exact colour is a class (mask_kind= overrides)."
        )
    grey = {n: (p[..., 0] if p.ndim == 3 else p) for n, p in masks.items() if n not in colour}
    plain = {n: _without_ignore(p, ignore_value)[0] for n, p in grey.items()}
    if all(_is_binary(set(np.unique(p).tolist())) for p in plain.values()):
        return "binary", (
            "Chosen automatically: every mask holds 0 and at most one other value (mask_kind= overrides)."
        )
    palettes = any(imageio.read_palette(paths[n]) is not None for n in plain)
    if not palettes and all(_one_region_per_id(p) for p in plain.values()):
        return "instances", (
            "Chosen automatically: in every mask each non-zero id is one connected region, "
            "so the ids look like objects (use mask_kind='classes' if they are classes)."
        )
    why = (
        "the masks are palette PNGs, whose indices are classes"
        if palettes
        else "some id covers several separate regions"
    )
    return "classes", (
        f"Chosen automatically: {why} (use mask_kind='instances' if each id is one object, "
        f"'binary' for foreground = id > 0)."
    )


def _read_masks_as_grey(masks, paths, kind, report):
    """Grey kinds: leave out real colour masks; grey saved as RGB uses its red channel."""
    grey = {}
    for name, pixels in masks.items():
        if pixels.ndim == 3 and not imageio.is_grey_rgb(pixels):
            report.add(
                "error",
                paths[name],
                f"the mask is a colour (RGB) image with different red, green and blue, in a folder of {kind} masks.",
                "Save the mask as a greyscale image: 0 for background, 255 for the structure "
                "(Fiji: Image > Type > 8-bit, then threshold), or pass mask_kind='colours' if every "
                "mask is colour-coded.",
            )
            report.left_out[name] = "colour mask in a folder of grey masks"
            continue
        if pixels.ndim == 3:
            report.add("note", paths[name], "grey mask saved as RGB; the red channel is used.", "Nothing to do.")
            pixels = pixels[..., 0]
        grey[name] = pixels
    return grey


def _binary_rules(masks, paths, kind, ignore_value, report):
    """Binary and instances: how each mask becomes 0/1, with the usual warnings."""
    for name, pixels in masks.items():
        plain, ignored = _without_ignore(pixels, ignore_value)
        values = set(np.unique(plain[~ignored]).tolist()) if (~ignored).any() else set()
        path = paths[name]
        foreground = float(np.mean(plain[~ignored] > 0)) if (~ignored).any() else 0.0
        if values <= {0}:
            report.add(
                "warning",
                path,
                "the mask is empty (no foreground pixel).",
                "Fine if the image really has none; otherwise the mask was exported blank.",
            )
        elif len(values) == 1:
            report.add(
                "warning",
                path,
                "the mask is foreground everywhere.",
                "Check the export; with nothing to contrast, this image teaches little.",
            )
        elif foreground > 0.5 and kind == "binary":
            report.add(
                "warning",
                path,
                f"{foreground:.0%} of the mask is foreground; is it inverted (structure = 0)?",
                "If the structure is black, use invert_masks=True.",
                group="more than half of the mask is foreground; is it inverted (structure = 0)?",
            )
        if _is_binary(values):
            report.mask_rules[name] = f"0/{max(values | {1})}" if values - {0} else "0/1"
        else:
            report.mask_rules[name] = "labels > 0"
            if kind == "instances":
                report.add(
                    "warning",
                    path,
                    f"the mask has {len(values - {0})} different non-zero values "
                    "(a label image with one id per object); every non-zero pixel is foreground.",
                    "Nothing to do for semantic segmentation; to keep objects apart see notebook 07.",
                    group="label images with one id per object; every non-zero pixel is foreground.",
                )
            else:
                report.add(
                    "note",
                    path,
                    f"the mask has {len(values - {0})} different non-zero values; "
                    "mask_kind='binary' reads every non-zero pixel as foreground.",
                    "Nothing to do.",
                    group="masks with several non-zero values; every non-zero pixel is foreground.",
                )
        report.mask_values[name] = _values_text(values)
    report.classes = [
        dict(id=0, name="background", colour=None, pixel_share=np.nan, images=len(masks)),
        dict(id=1, name="foreground", colour=None, pixel_share=np.nan, images=len(masks)),
    ]


def _values_text(values):
    values = sorted(values)
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ", ".join(str(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")


def _class_ids(masks, paths, ignore_value, names, report):
    """Classes: K from the whole folder, the class table and a note per id pattern."""
    present = {}
    for name, pixels in masks.items():
        plain, ignored = _without_ignore(pixels, ignore_value)
        present[name] = np.unique(pixels[~ignored])
    largest = max((int(ids.max()) for ids in present.values() if ids.size), default=0)
    count = max(largest + 1, len(names))
    return _class_table(masks, present, count, ignore_value, names, None, paths, report)


def _class_table(masks, present, count, ignore_value, names, colours, paths, report):
    pixels_per_id, images_per_id = np.zeros(count), np.zeros(count, int)
    for name, ids in present.items():
        plain = masks[name]
        annotated = plain != ignore_value if ignore_value is not None else np.ones(plain.shape, bool)
        pixels_per_id += np.bincount(plain[annotated].ravel().astype(np.int64), minlength=count)[:count]
        images_per_id[ids.astype(np.int64)] += 1
        text = _values_text(set(ids.tolist()))
        report.mask_rules[name] = f"class ids {text}"
        report.mask_values[name] = text
        report.add("note", paths[name], f"class ids {text}.", "Nothing to do.", group=f"class ids {text}.")
    total = max(pixels_per_id.sum(), 1)
    report.classes = [
        dict(
            id=i,
            name=names[i] if i < len(names) and names[i] else f"class {i}",
            colour=colours[i] if colours else None,
            pixel_share=pixels_per_id[i] / total,
            images=int(images_per_id[i]),
        )
        for i in range(count)
    ]
    unused = [i for i in range(count) if images_per_id[i] == 0]
    if unused:
        hint = " If 255 means 'not annotated', pass ignore_value=255." if count == 256 else ""
        report.add(
            "warning",
            report.mask_folder,
            f"class ids {_values_text(set(unused))} appear in no mask, but "
            f"K = {count} counts them (the largest id + 1).",
            f"Renumber the classes 0..K-1 without gaps, or give them names if they are real.{hint}",
        )
    if len(present) > 2:
        for class_id in range(1, count):
            if images_per_id[class_id] == 1:
                only = next(n for n, ids in present.items() if class_id in ids)
                report.add(
                    "warning",
                    paths[only],
                    f"class {class_id} is in this mask only (of {len(present)}).",
                    "Check the id (a typo in the annotation tool?); a class seen once cannot be learnt and tested.",
                    group="a class that appears in one mask only.",
                )


def _colour_classes(masks, paths, ignore_value, names, min_share, report):
    """Colours: each exact colour covering ``min_share`` of the folder is a class; others are errors."""
    counts = collections.Counter()
    rgb = {}
    for name, pixels in masks.items():
        if pixels.ndim == 2:
            report.add(
                "error",
                paths[name],
                "grey mask in a folder of colour-coded masks.",
                "Save it colour-coded like the others, or pass mask_kind='classes' if all masks are grey ids.",
            )
            report.left_out[name] = "grey mask in a folder of colour masks"
            continue
        colours, number = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
        counts.update({tuple(int(v) for v in c): int(k) for c, k in zip(colours, number)})
        rgb[name] = pixels
    ignore = tuple(ignore_value) if ignore_value is not None else None
    if isinstance(names, dict) and names and all(isinstance(k, tuple) for k in names):
        palette = sorted(names)
        names = [names[c] for c in palette]
    else:
        total = max(sum(counts.values()), 1)
        palette = sorted(c for c, k in counts.items() if k / total >= min_share and c != ignore)
    colour_to_id = {c: i for i, c in enumerate(palette)}
    report.colour_to_id = colour_to_id
    ids = {}
    for name, pixels in rgb.items():
        flat = pixels.reshape(-1, 3).astype(np.int64)
        code = (flat[:, 0] << 32) | (flat[:, 1] << 16) | flat[:, 2]
        keys = np.array([(r << 32) | (g << 16) | b for r, g, b in palette] or [-1], np.int64)
        order = np.argsort(keys)
        where = np.clip(np.searchsorted(keys[order], code), 0, len(keys) - 1)
        found = keys[order][where] == code
        class_id = np.where(found, order[where], -1)
        if ignore is not None:
            ignore_code = (ignore[0] << 32) | (ignore[1] << 16) | ignore[2]
            class_id = np.where(code == ignore_code, 255, class_id)
        off = int(np.sum(class_id < 0))
        if off:
            report.add(
                "error",
                paths[name],
                f"{off} pixels have colours that are not among the folder's "
                f"{len(palette)} class colours (antialiasing or JPEG compression?).",
                "Save the mask as PNG without smoothing (antialiasing off), or name the class colours "
                "with class_names={(r, g, b): name, ...}.",
                group="masks with off-palette colours.",
            )
            report.left_out[name] = f"{off} off-palette pixels"
            continue
        ids[name] = class_id.reshape(pixels.shape[:2]).astype(np.uint8 if len(palette) < 255 else np.int32)
    report.ignore_id = 255 if ignore is not None else None
    present = {n: np.unique(m[m != 255] if ignore is not None else m) for n, m in ids.items()}
    names = list(names) if names else []
    _class_table(ids, present, len(palette), report.ignore_id, names, palette, paths, report)
    return ids


def read_class_names(class_names):
    """Return class names as a list (index = id) or a ``{(r, g, b): name}`` dict.

    Parameters
    ----------
    class_names : None, str, list, dict or path
        A list (index = id), ``{id: name}``, ``{(r, g, b): name}``, a CSV file with a header
        ``id,name`` or ``red,green,blue,name``, or (notebook 08's text field) names separated by
        commas in the order of the ids; ``None`` or empty text: no names.

    Returns
    -------
    list of str or dict

    Examples
    --------
    >>> read_class_names("background, membrane, mitochondria")
    ['background', 'membrane', 'mitochondria']
    """
    if class_names is None or (isinstance(class_names, str) and not class_names.strip()):
        return []
    if isinstance(class_names, str) and "," in class_names and not Path(class_names).expanduser().is_file():
        return [name.strip() for name in class_names.split(",")]
    if isinstance(class_names, (str, Path)):
        path = Path(class_names).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"No class-name file {str(path)!r}. Give a CSV with a header id,name "
                f"(or red,green,blue,name), names separated by commas in id order, or a dict."
            )
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
        try:
            if rows and "red" in rows[0]:
                return {(int(r["red"]), int(r["green"]), int(r["blue"])): r["name"] for r in rows}
            class_names = {int(r["id"]): r["name"] for r in rows}
        except (KeyError, ValueError) as error:
            raise ValueError(
                f"{path} must have the columns id,name (or red,green,blue,name) with whole-number "
                f"ids; problem: {error}."
            ) from error
    if isinstance(class_names, dict):
        if class_names and all(isinstance(k, tuple) for k in class_names):
            return {tuple(int(v) for v in k): str(n) for k, n in class_names.items()}
        names = [""] * (max(int(k) for k in class_names) + 1 if class_names else 0)
        for key, name in class_names.items():
            names[int(key)] = str(name)
        return names
    return [str(name) for name in class_names]


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
):
    """Check a folder of images and a folder of masks, and report every problem before training.

    Parameters
    ----------
    image_folder, mask_folder : str or pathlib.Path
        ``7.png`` in ``image_folder`` pairs with ``7.png`` (or ``7.tif`` ...) in ``mask_folder``.
    n_poolings : int
        Poolings of the U-Net: sizes should be divisible by ``2**n_poolings`` (they are padded).
    crop_size : int
        Side of the training crops: smaller images are padded by mirroring.
    mask_kind : {"auto", "binary", "classes", "colours", "instances"}
        What the masks hold; ``"auto"`` guesses by :data:`MASK_KIND_RULE`.
    ignore_value : int, (r, g, b) or None
        The mask value of pixels that are **not annotated** (partial annotations, or a "void"
        class such as 255): left out of the class table, kept in the loaded masks, and each
        image's annotated share is reported. A colour for colour-coded masks.
    class_names : list, dict, path or None
        Names of the classes (see :func:`read_class_names`); for colour masks a
        ``{(r, g, b): name}`` dict also fixes the class colours and their order.
    results_folder : str, pathlib.Path or None
        Where the full per-file CSV lists go (:meth:`FolderReport.save`); never your folders.
    colour_min_share : float
        Colour masks: a colour is a class when it covers at least this share of all mask pixels
        of the folder; rarer colours are off-palette (an error naming the file).

    Returns
    -------
    FolderReport
        Print it to read every problem and its fix; ``.pairs`` are the usable pairs.

    Raises
    ------
    FileNotFoundError
        If a folder does not exist or holds no image file.
    ValueError
        If both folders are the same folder, or a parameter is not one of its choices.
    """
    if mask_kind not in MASK_KINDS:
        raise ValueError(f"mask_kind must be one of {MASK_KINDS}, got {mask_kind!r}.")
    image_folder, mask_folder = Path(image_folder).expanduser(), Path(mask_folder).expanduser()
    imageio.check_not_same_folder(image_folder, mask_folder)
    names = read_class_names(class_names)
    report = FolderReport(image_folder, mask_folder, n_poolings, crop_size)
    report.ignore_value = ignore_value
    images_listed = imageio.list_image_files(image_folder, "image")
    masks_listed = imageio.list_image_files(mask_folder, "mask")
    _report_skipped(images_listed, report)
    _report_skipped(masks_listed, report)
    pairing = imageio.pair_files(images_listed, masks_listed)
    _report_unpaired(pairing, images_listed, masks_listed, report)
    masks, paths, image_paths = {}, {}, {}
    for name, image_path, mask_path in pairing.pairs:
        mask, reason = _check_pair(name, image_path, mask_path, report)
        if reason:
            report.left_out[name] = reason
        else:
            masks[name], paths[name], image_paths[name] = mask, mask_path, image_path
    masks = _first_check_masks(masks, paths, report)
    if masks:
        masks = _read_masks_by_kind(masks, paths, mask_kind, ignore_value, names, colour_min_share, report)
    report.pairs = [(n, image_paths[n], paths[n]) for n in natural_sorted(masks)]
    report.channels = {n: c for n, c in report.channels.items() if n in masks}
    _report_annotated(masks, paths, report)
    _report_mixed_images(report)
    report.left_out = {n: report.left_out[n] for n in natural_sorted(report.left_out)}
    if results_folder is not None:
        report.save(results_folder)
    return report


def _read_masks_by_kind(masks, paths, mask_kind, ignore_value, names, colour_min_share, report):
    kind, reason = _choose_kind(masks, paths, mask_kind, ignore_value, report)
    report.mask_kind, report.kind_reason = kind, reason
    if kind == "colours":
        if ignore_value is not None and np.ndim(ignore_value) != 1:
            raise ValueError(f"Colour-coded masks need ignore_value as a colour (r, g, b), got {ignore_value!r}.")
        return _colour_classes(masks, paths, ignore_value, names, colour_min_share, report)
    if isinstance(names, dict):
        raise ValueError("class_names with (r, g, b) keys are for colour-coded masks; give {id: name} for ids.")
    masks = _read_masks_as_grey(masks, paths, kind, report)
    report.ignore_id = ignore_value
    if not masks:
        return masks
    if kind == "classes":
        _class_ids(masks, paths, ignore_value, names, report)
    else:
        _binary_rules(masks, paths, kind, ignore_value, report)
        if names:
            for entry, name in zip(report.classes, names):
                entry["name"] = name
    return masks


def _report_annotated(masks, paths, report):
    if report.ignore_value is None:
        return
    for name, pixels in masks.items():
        share = float(np.mean(pixels != report.ignore_id))
        report.annotated[name] = share
        if share == 0:
            report.add(
                "warning",
                paths[name],
                "no pixel of this mask is annotated (all equal the ignore value).",
                "Annotate a few strokes, or move the pair away; it teaches nothing.",
                group="masks without any annotated pixel.",
            )


def _report_mixed_images(report):
    counts = collections.Counter(report.channels.values())
    if not counts:
        return
    if len(counts) > 1:
        grey = [name for name, c in report.channels.items() if c == 1]
        report.add(
            "warning",
            report.image_folder,
            f"{len(grey)} grey and {len(report.channels) - len(grey)} "
            "colour images; the grey images are converted to colour (grey repeated in red, green and "
            "blue) so that no colour is lost.",
            "Nothing to do, or save them all the same way (grey: Fiji Image > Type > 8-bit).",
        )
        report.image_channels, report.image_rule = 3, "colour (RGB): grey images repeated into 3 channels."
    else:
        report.image_channels = next(iter(counts))
        report.image_rule = "colour (RGB), 3 channels." if report.image_channels == 3 else "grey, 1 channel."
    rules = collections.Counter(report.mask_rules.values())
    if len(rules) > 1 and report.mask_kind == "binary":
        report.add(
            "note",
            report.mask_folder,
            "masks use different encodings ("
            + ", ".join(f"{rule}: {count}" for rule, count in rules.items())
            + "); each is read its own way.",
            "Nothing to do.",
        )


# --- loading and predicting ------------------------------------------------------------------------


def read_image(path, channels=None):
    """Read an image with :func:`helpers.imageio.read_image`, converting to ``channels`` if asked.

    Parameters
    ----------
    path : str or pathlib.Path
    channels : {None, 1, 3}
        None: as stored (grey 1, colour 3). 1 or 3: converted on purpose
        (:func:`helpers.imageio.as_channels`).

    Returns
    -------
    ndarray of float32, shape (H, W, C), values in [0, 1]
    """
    image = imageio.read_image(path)
    if channels is None:
        return imageio.as_channels(image, 1) if imageio.is_grey_rgb(image) else image
    return imageio.as_channels(image, channels)


def _mask_ids(report, name, mask_path):
    """Return the (H, W, 1) float32 class ids of one checked mask, ignore value kept."""
    pixels = imageio.read_mask(mask_path)
    if report.mask_kind == "colours":
        colours = np.array(list(report.colour_to_id), np.int64).reshape(-1, 3)
        flat = pixels.reshape(-1, 3).astype(np.int64)
        ids = np.full(len(flat), -1, np.int64)
        for class_id, colour in enumerate(colours):
            ids[np.all(flat == colour, axis=1)] = class_id
        if report.ignore_value is not None:
            ids[np.all(flat == np.array(report.ignore_value), axis=1)] = report.ignore_id
        return ids.reshape(pixels.shape[:2])[..., np.newaxis].astype(np.float32)
    if pixels.ndim == 3:
        pixels = pixels[..., 0]
    pixels = pixels.astype(np.float64)
    if report.mask_kind == "classes":
        return pixels[..., np.newaxis].astype(np.float32)
    ignored = pixels == report.ignore_value if report.ignore_value is not None else np.zeros(pixels.shape, bool)
    binary = np.where(ignored, report.ignore_value if report.ignore_value is not None else 0, pixels > 0)
    return binary[..., np.newaxis].astype(np.float32)


def load_checked(report, *, invert_masks=False):
    """Load the usable pairs of a :class:`FolderReport`.

    Images are grey or colour as the report says (a folder with both is read as colour, grey
    repeated into 3 channels); images of other sizes, and images smaller than the crops, are
    padded by mirroring (image and mask alike) to one size.

    Parameters
    ----------
    report : FolderReport
        From :func:`check_folder`.
    invert_masks : bool
        Binary masks only: swap foreground and background of every mask.

    Returns
    -------
    CheckedSet
        ``images`` (N, H, W, C) float32 in [0, 1]; ``masks`` (N, H, W, 1) float32 class ids
        (binary and instances: 0/1; colour masks: the ids of ``report.colour_to_id``), pixels
        not annotated equal to ``report.ignore_id``; ``class_names`` one per id.

    Raises
    ------
    ValueError
        If the report has no usable pair, or ``invert_masks`` is asked for masks of K classes.
    """
    if not report.pairs:
        raise ValueError(f"No usable image/mask pair in {report.image_folder}: read the report and fix the errors.")
    if invert_masks and report.mask_kind in ("classes", "colours"):
        raise ValueError(f"invert_masks is for binary masks; these are {report.mask_kind} (K = {report.n_classes}).")
    images = [read_image(image, report.image_channels) for _, image, _ in report.pairs]
    masks = [_mask_ids(report, name, mask) for name, _, mask in report.pairs]
    if invert_masks:
        masks = [
            np.where(mask == report.ignore_id, mask, 1 - mask) if report.ignore_id is not None else 1 - mask
            for mask in masks
        ]
    height = max(report.crop_size, *(image.shape[0] for image in images))
    width = max(report.crop_size, *(image.shape[1] for image in images))
    images = np.stack([pad_to(image, height, width) for image in images])
    masks = np.stack([pad_to(mask, height, width) for mask in masks])
    names = [name for name, _, _ in report.pairs]
    source = f"images from {report.image_folder}, masks from {report.mask_folder}"
    if report.mask_kind in ("classes", "colours"):
        source += f" ({report.n_classes} classes: {', '.join(report.class_names)})"
    return CheckedSet(images, masks.astype(np.float32), names, source, report.class_names, report.ignore_id)


def _legend(classes, count):
    """Return (names, colours) for ``count`` classes from a report, a CheckedSet, names or None."""
    names, colours = [], None
    if isinstance(classes, FolderReport):
        names = classes.class_names
        if classes.mask_kind == "colours":
            colours = list(classes.colour_to_id)
    elif isinstance(classes, CheckedSet):
        names = list(classes.class_names)
    elif classes is not None:
        names = [str(name) for name in classes]
    if names and len(names) != count:
        raise ValueError(
            f"The model predicts {count} classes but {len(names)} class names were given "
            f"({', '.join(names)}). Pass the report of the folder the model was trained on."
        )
    names = names or [f"class {i}" for i in range(count)]
    colours = colours or [PREVIEW_COLOURS[i % len(PREVIEW_COLOURS)] for i in range(count)]
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
):
    """Segment every image of a folder and write the masks into a NEW folder.

    An image up to ``tile`` pixels on its longer side is predicted whole, mirror-padded to a
    multiple of ``2**n_poolings``; a larger one tile by tile (:func:`helpers.inference.predict_tiled`,
    Gaussian blending, overlap ``tile // 4``), so memory does not grow with the image. Each
    mask has the image's name and size. Nothing existing is overwritten: if ``output_folder``
    exists, the masks go to ``output_folder-2`` (or ``-3`` ...); the input folder is only read.

    - A model with **one output channel** (binary): 8-bit masks, 0 = background, 255 =
      structure (probability >= ``threshold``).
    - A model with **K >= 2 output channels** (softmax): 8-bit class-id masks 0..K-1 (the most
      probable class), colour previews in the subfolder ``previews``, and ``legend.csv``
      (id, name, red, green, blue).

    Parameters
    ----------
    model : keras.Model or object with ``predict(batch, verbose=0)``
        Built with ``input_shape=(None, None, channels)``.
    input_folder, output_folder : str or pathlib.Path
    threshold : float or None
        Binary only; chosen on validation images (:func:`choose_threshold`). None is allowed
        for a K-class model (each pixel gets its most probable class).
    n_poolings : int
    channels : {1, 3}
        Channels the model takes; images are converted to them (:func:`read_image`).
    file_type : {"png", "tif"}
    tile : int
        Images larger than this (on either side) are predicted in tiles of this size.
    classes : FolderReport, CheckedSet, list of str or None
        K classes: the names (and, for colour-coded masks, the colours) of the legend.

    Returns
    -------
    pathlib.Path
        The folder the masks were written to.
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
        stored = read_image(path)
        converted += stored.shape[-1] != channels
        probability = _predict_one(model, imageio.as_channels(stored, channels), n_poolings, tile)
        if probability.shape[-1] == 1:
            if threshold is None:
                raise ValueError(
                    "The model has one output (binary): pass threshold=..., chosen on the validation "
                    "images (own_data.choose_threshold)."
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
        print(f"Wrote {len(paths)} masks (0 = background, 255 = structure) to {folder}.")
    else:
        rows = [("id", "name", "red", "green", "blue")] + [(i, n, *c) for i, (n, c) in enumerate(zip(*legend))]
        (folder / "legend.csv").write_text(_csv_text(rows) + "\n", encoding="utf-8")
        print(
            f"Wrote {len(paths)} class-id masks (0..{len(legend[0]) - 1}: {', '.join(legend[0])}) to {folder}, "
            f"colour previews to {folder / 'previews'} and the legend to {folder / 'legend.csv'}."
        )
    return folder


def _predict_one(model, image, n_poolings, tile):
    if max(image.shape[:2]) > tile:
        return predict_tiled(model, image, tile=tile, overlap=tile // 4, divisible_by=2**n_poolings)
    return predict_padded(model, image, n_poolings)


# --- training and scoring: the same calls for binary masks and K classes ---------------------------


def is_multiclass(report):
    """True when the report's masks are K classes (class ids or colour-coded), False for binary.

    Parameters
    ----------
    report : FolderReport

    Returns
    -------
    bool
    """
    return report.mask_kind in ("classes", "colours")


def split_counts(count):
    """Return (validation images, test images) for ``count`` pairs: about 14% and 17%, at least 1 each.

    Parameters
    ----------
    count : int
        Usable pairs (at least 3: one to train, one to validate, one to test).

    Returns
    -------
    (int, int)

    Examples
    --------
    >>> split_counts(29), split_counts(10), split_counts(3)
    ((4, 5), (1, 2), (1, 1))
    """
    if count < 3:
        raise ValueError(
            f"{count} usable pairs is too few: training, validation and test need at least one image each. "
            "Add image/mask pairs (read the report for pairs left out)."
        )
    return max(1, round(0.14 * count)), max(1, min(round(0.17 * count), count - 2))


def build_model(report, *, filters=8, n_poolings=4, batch_norm=True, dropout=0.0):
    """Build the U-Net for the report's masks: 1 sigmoid output (binary) or K softmax outputs.

    Parameters
    ----------
    report : FolderReport
        Gives the image channels (grey 1, colour 3) and K.
    filters, n_poolings, batch_norm, dropout
        As :func:`helpers.models.build_unet`.

    Returns
    -------
    keras.Model
        Input ``(None, None, channels)``, not compiled.
    """
    from helpers import models

    multiclass = is_multiclass(report)
    return models.build_unet(
        input_shape=(None, None, report.image_channels),
        filters=filters,
        n_poolings=n_poolings,
        batch_norm=batch_norm,
        dropout=dropout,
        n_classes=report.n_classes if multiclass else 1,
        output_activation="softmax" if multiclass else "sigmoid",
    )


def training_loss(report, *, dice_term=False):
    """Return the loss for the report's masks (:func:`helpers.losses.training_loss`).

    Parameters
    ----------
    report : FolderReport
    dice_term : bool
        K classes only: add the multi-class Dice loss to the cross-entropy ("cross-entropy +
        dice"), the other remedy for rare classes (then no class weights are used). Not with
        partial annotations: the Dice term would count the pixels that are not annotated.

    Returns
    -------
    keras.losses.Loss
        Binary: binary cross-entropy. K classes: sparse categorical cross-entropy (+ Dice).
    """
    from helpers import losses

    if dice_term and not is_multiclass(report):
        raise ValueError("dice_term is for K classes; binary masks train with binary cross-entropy.")
    if dice_term and report.ignore_value is not None:
        raise ValueError(
            f"dice_term cannot leave out the pixels that are not annotated (ignore value "
            f"{report.ignore_value}); use dice_term=False: cross-entropy with class weights."
        )
    if not is_multiclass(report):
        return losses.training_loss("bce")
    if dice_term:
        return losses.training_loss("cross-entropy + dice", n_classes=report.n_classes)
    return losses.training_loss("cross-entropy")


def compile_model(model, report, optimizer, *, dice_term=False):
    """Compile with :func:`training_loss` and a metric logged per epoch (weighted: annotated pixels).

    Parameters
    ----------
    model : keras.Model
    report : FolderReport
    optimizer : keras.optimizers.Optimizer
    dice_term : bool
        See :func:`training_loss`.

    Returns
    -------
    keras.Model
        The same model, compiled: binary with a Dice metric at 0.5, K classes with pixel accuracy.
    """
    from helpers import metrics

    logged = ["accuracy"] if is_multiclass(report) else [metrics.keras_dice()]
    model.compile(optimizer=optimizer, loss=training_loss(report, dice_term=dice_term), weighted_metrics=logged)
    return model


def _annotated(masks, ignore_value):
    masks = np.asarray(masks)
    return masks != ignore_value if ignore_value is not None else np.ones(masks.shape, bool)


def training_class_weights(report, loaded, indices, *, dice_term=False):
    """Return class weights from the annotated pixels of the training images, or None.

    Parameters
    ----------
    report : FolderReport
    loaded : CheckedSet
    indices : sequence of int
        The training images.
    dice_term : bool
        With the Dice term no class weights are used (None).

    Returns
    -------
    ndarray of float64, shape (K,), or None
        :func:`helpers.label_maps.class_weights` (every class the same in total) for K classes;
        None for binary masks and with ``dice_term``.
    """
    from helpers import label_maps

    if not is_multiclass(report) or dice_term:
        return None
    masks = np.asarray(loaded.masks)[list(indices)]
    ids = masks[_annotated(masks, loaded.ignore_value)]
    return label_maps.class_weights(ids.astype(np.int64), report.n_classes)


def training_batches(loaded, indices, *, crop_size, batch_size, seed=0, weights=None, augment=True):
    """Random crops of the training images, with pixel weights when some are needed.

    Parameters
    ----------
    loaded : CheckedSet
    indices : sequence of int
        The training images.
    crop_size, batch_size, seed, augment
        As :func:`helpers.pipeline.training_batches` (``augment`` True or False with partial
        annotations).
    weights : sequence of float or None
        Class weights (:func:`training_class_weights`).

    Returns
    -------
    tf.data.Dataset
        ``(images, masks)`` when every pixel is annotated and there are no class weights (as
        :func:`helpers.pipeline.training_batches`); otherwise ``(images, labels, pixel weights)``
        from :func:`helpers.pipeline.with_ignore_weights`: pixels not annotated weigh 0 and
        crops without any annotated pixel are skipped.

    Raises
    ------
    ValueError
        If no pixel of the training images is annotated.
    """
    from helpers import pipeline

    images, masks = np.asarray(loaded.images)[list(indices)], np.asarray(loaded.masks)[list(indices)]
    if not _annotated(masks, loaded.ignore_value).any():
        raise ValueError(
            f"No pixel of the {len(masks)} training masks is annotated (all equal the ignore value "
            f"{loaded.ignore_value}); annotate some strokes, or check ignore_value."
        )
    batches = pipeline.training_batches(
        images, masks, crop_size=crop_size, batch_size=batch_size, augment=augment, seed=seed
    )
    if loaded.ignore_value is None and weights is None:
        return batches
    return pipeline.with_ignore_weights(batches, loaded.ignore_value, weights)


def validation_data(loaded, indices, weights=None):
    """Return the validation images for ``fit``: ``(images, masks)`` or ``(images, labels, pixel weights)``.

    Parameters
    ----------
    loaded : CheckedSet
    indices : sequence of int
    weights : sequence of float or None
        Class weights, as given to :func:`training_batches`.

    Returns
    -------
    tuple of ndarray
        Weighted the same way as the training batches (pixels not annotated weigh 0).
    """
    from helpers import pipeline

    images, masks = np.asarray(loaded.images)[list(indices)], np.asarray(loaded.masks)[list(indices)]
    if loaded.ignore_value is None and weights is None:
        return images, masks
    labels, pixel_weights = pipeline.ignore_weights(masks, loaded.ignore_value, weights)
    return images, labels, pixel_weights


def predict_images(model, images, n_poolings=4):
    """Predict each image whole (mirror-padded to a multiple of ``2**n_poolings``, cut back).

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C)
    n_poolings : int

    Returns
    -------
    ndarray of float32, shape (N, H, W, outputs)
        Probabilities: 1 channel (binary) or K (softmax).
    """
    return np.stack([predict_padded(model, image, n_poolings) for image in np.asarray(images)])


def choose_threshold(model, loaded, indices, *, n_poolings=4):
    """Binary: the threshold with the best Dice on the annotated pixels of the validation images.

    Parameters
    ----------
    model : keras.Model
    loaded : CheckedSet
    indices : sequence of int
        The validation images.
    n_poolings : int

    Returns
    -------
    float or None
        :func:`helpers.metrics.choose_threshold` on the annotated pixels; None for K classes
        (each pixel gets its most probable class).
    """
    from helpers import metrics

    probabilities = predict_images(model, np.asarray(loaded.images)[list(indices)], n_poolings)
    if probabilities.shape[-1] > 1:
        return None
    masks = np.asarray(loaded.masks)[list(indices)]
    annotated = _annotated(masks, loaded.ignore_value)
    return metrics.choose_threshold(masks[annotated], probabilities[annotated])[0]


def evaluate(model, loaded, indices, *, threshold=None, n_poolings=4):
    """Score the model on some images (the test split), on the annotated pixels only.

    Parameters
    ----------
    model : keras.Model
        1 output (binary) or K softmax outputs.
    loaded : CheckedSet
    indices : sequence of int
        The test images.
    threshold : float or None
        Binary only (from :func:`choose_threshold`).
    n_poolings : int

    Returns
    -------
    dict
        ``dice``, ``iou``, ``threshold`` (NaN for K classes), ``annotated_pixels`` and
        ``probabilities`` (N, H, W, outputs). Binary: also ``accuracy``, ``precision``, ``recall``
        (:func:`helpers.metrics.evaluate_segmentation`). K classes: ``dice`` and ``iou`` are the
        means over the classes, ``per_class`` ({"iou", "dice"}, one per class),
        ``confusion`` (K x K, row = true class) and ``prediction`` (class ids (N, H, W)),
        ``class_names``.
    """
    from helpers import metrics

    masks = np.asarray(loaded.masks)[list(indices)]
    probabilities = predict_images(model, np.asarray(loaded.images)[list(indices)], n_poolings)
    annotated = _annotated(masks, loaded.ignore_value)
    common = {"annotated_pixels": int(annotated.sum()), "probabilities": probabilities}
    if probabilities.shape[-1] == 1:
        if threshold is None:
            raise ValueError("Binary masks need the threshold chosen on validation (own_data.choose_threshold).")
        scores = metrics.evaluate_segmentation(masks[annotated], probabilities[annotated], threshold)
        return {**scores, "threshold": float(threshold), **common}
    count = probabilities.shape[-1]
    prediction = np.argmax(probabilities, axis=-1)
    truth, predicted = masks[..., 0][annotated[..., 0]].astype(np.int64), prediction[annotated[..., 0]]
    per_class = metrics.per_class_scores(truth, predicted, count)
    return {
        "dice": float(per_class["dice"].mean()),
        "iou": float(per_class["iou"].mean()),
        "threshold": float("nan"),
        "per_class": per_class,
        "confusion": metrics.confusion_matrix(truth, predicted, count),
        "prediction": prediction,
        "class_names": list(loaded.class_names),
        **common,
    }


def score_table(scores):
    """Return the scores of :func:`evaluate` as text: one line per class (K classes) and the mean.

    Parameters
    ----------
    scores : dict
        From :func:`evaluate`.

    Returns
    -------
    str
        K classes: a per-class IoU/Dice table, its mean, and the confusion matrix (rows = true
        class, columns = predicted, pixel counts). Binary: the threshold, Dice and IoU.
    """
    pixels = f"{scores['annotated_pixels']:,} annotated test pixels"
    if "per_class" not in scores:
        return (
            f"threshold {scores['threshold']:.2f} (validation); {pixels}: Dice {scores['dice']:.3f}, "
            f"IoU {scores['iou']:.3f}, accuracy {scores['accuracy']:.3f}"
        )
    names = scores["class_names"] or [f"class {i}" for i in range(len(scores["per_class"]["dice"]))]
    lines = [f"{pixels}", f"{'class':20}{'IoU':>7}{'Dice':>7}"]
    for name, iou, dice in zip(names, scores["per_class"]["iou"], scores["per_class"]["dice"]):
        lines.append(f"{name[:19]:20}{iou:>7.3f}{dice:>7.3f}")
    lines.append(f"{'mean':20}{scores['iou']:>7.3f}{scores['dice']:>7.3f}")
    lines.append("confusion matrix (rows: true class, columns: predicted class, pixels):")
    width = max(7, len(f"{int(scores['confusion'].max()):,}") + 1)
    lines.append(" " * 20 + "".join(f"{i:>{width}}" for i in range(len(names))))
    for index, (name, row) in enumerate(zip(names, scores["confusion"])):
        lines.append(f"{index:>2} {name[:16]:17}" + "".join(f"{int(v):>{width},}" for v in row))
    return "\n".join(lines)


def shown_truth(loaded, indices):
    """Return the masks of some images for a picture: pixels not annotated shown as class 0.

    Parameters
    ----------
    loaded : CheckedSet
    indices : sequence of int

    Returns
    -------
    ndarray of int64, shape (N, H, W, 1)
    """
    masks = np.asarray(loaded.masks)[list(indices)]
    return np.where(_annotated(masks, loaded.ignore_value), masks, 0).astype(np.int64)


def describe_classes(report):
    """Return the classes and their shares in words, for the methods paragraph.

    Parameters
    ----------
    report : FolderReport

    Returns
    -------
    str
        e.g. ``"3 classes (of the annotated pixels): background 61.0%, cell 30.0%, membrane
        9.0%"``; binary: ``"binary masks (0 = background, 1 = structure)"``; with an ignore
        value, the annotated share of the pixels is added.
    """
    if is_multiclass(report):
        shares = ", ".join(f"{e['name']} {e['pixel_share']:.1%}" for e in report.classes)
        text = f"{report.n_classes} classes (share of the annotated pixels): {shares}"
    else:
        text = "binary masks (0 = background, 1 = structure)"
    if report.ignore_value is not None and report.annotated:
        share = float(np.mean(list(report.annotated.values())))
        text += (
            f"; partial annotations: {share:.1%} of the pixels annotated on average, the rest "
            f"(value {report.ignore_value}) left out of the loss and of every score"
        )
    return text


def _skeleton_pieces(region, rng, radius, wanted):
    """Pick pixels of the skeleton of ``region`` in discs around random skeleton points until ``wanted``."""
    import skimage.morphology

    skeleton = skimage.morphology.skeletonize(region)
    points = np.argwhere(skeleton)
    chosen = np.zeros(region.shape, bool)
    if not len(points) or wanted <= 0:
        return chosen
    rows, cols = np.ogrid[: region.shape[0], : region.shape[1]]
    for index in rng.permutation(len(points)):
        row, col = points[index]
        box = (slice(max(row - radius, 0), row + radius + 1), slice(max(col - radius, 0), col + radius + 1))
        disc = (rows[box[0]] - row) ** 2 + (cols[:, box[1]] - col) ** 2 <= radius**2
        chosen[box] |= skeleton[box] & disc
        if chosen.sum() >= wanted:
            break
    return chosen


def make_scribbles(mask, fraction=0.03, *, seed=0, ignore_value=255, stroke_length=24, cell_margin=4):
    """Turn a dense binary mask into scribbles: thin strokes on the structure and inside the background.

    What a researcher draws in a few minutes per image (Fiji, napari): short one-pixel strokes
    along the structure (e.g. membranes) and inside the regions between them (e.g. cells), the
    rest left "not annotated". Strokes follow the skeleton of the structure, and the skeleton of
    each background region shrunk by ``cell_margin`` pixels (so a stroke stays inside the cell).
    Half of the labelled pixels are structure, half background (less when one runs out).

    Parameters
    ----------
    mask : array_like, shape (H, W) or (H, W, 1)
        Dense mask, 1 (or True) = structure.
    fraction : float
        Share of all pixels to label, e.g. 0.03.
    seed : int
        The same seed, the same scribbles.
    ignore_value : int
        The value of the pixels left unlabelled.
    stroke_length : int
        Strokes are the skeleton pixels within ``stroke_length / 2`` of a random skeleton point.
    cell_margin : int
        Background strokes keep this many pixels away from the structure.

    Returns
    -------
    ndarray of uint8, same shape as ``mask``
        1 = structure, 0 = background, ``ignore_value`` = not annotated.
    """
    import scipy.ndimage
    import skimage.morphology

    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be above 0 and at most 1, got {fraction}.")
    mask = np.asarray(mask)
    structure = (mask[..., 0] if mask.ndim == 3 else mask) > 0
    rng = np.random.default_rng(seed)
    wanted = fraction * structure.size / 2
    inside = scipy.ndimage.binary_erosion(~structure, skimage.morphology.disk(cell_margin))
    on_structure = _skeleton_pieces(structure, rng, stroke_length // 2, wanted)
    in_background = _skeleton_pieces(inside, rng, stroke_length // 2, wanted)
    scribbles = np.full(structure.shape, ignore_value, np.uint8)
    scribbles[in_background] = 0
    scribbles[on_structure] = 1
    return scribbles.reshape(mask.shape)
