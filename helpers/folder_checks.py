"""The findings of :func:`helpers.own_data.check_folder`: pairing, each file, and what the masks hold.

Each function adds its findings to the report (``report.add(severity, file, what, fix, group)``)
and reads files only through :mod:`helpers.imageio`. The kind of masks ("binary", "classes" 0..K-1,
"colours" (each exact colour a class) or "instances" (one id per object, read as foreground = id > 0))
is decided once for the whole folder (:data:`MASK_KIND_RULE`).
"""

import collections
import csv
from pathlib import Path

import numpy as np

from helpers import imageio
from helpers.imageio import IMAGE_EXTENSIONS

__all__ = [
    "MASK_KINDS", "MASK_KIND_RULE", "read_class_names", "report_skipped", "report_unpaired", "check_pair",
    "MaskSummary", "summarize_mask", "check_mask_values", "read_masks_by_kind", "report_annotated", "report_images",
    "report_mask_encodings", "colour_ids",
]  # fmt: skip

#: Values of ``mask_kind``.
MASK_KINDS = ("auto", "binary", "classes", "colours", "instances")

#: How ``mask_kind="auto"`` decides, in words (the report quotes the branch it took).
MASK_KIND_RULE = (
    "colours when most masks are colour (RGB with red, green and blue not all equal); else "
    "binary when every mask holds 0 and at most one other value (0/1, 0/255 or 0/65535), or when at "
    "least half do and the others' ids are all below that value (the others are named as odd ones out); "
    "else instances when, in every mask, each non-zero id is one connected region (one id per object), "
    "no mask is a palette PNG, and the ids are not the same touching regions in every mask; else classes "
    "(ids 0..K-1, K = largest id + 1; masks 0/255 among masks of smaller ids are named and left out). "
    "The ignore value is left out before deciding."
)

RENAME_FIX = "Give each mask the file name of its image (7.png <-> 7.png, 7.tif or 7_mask.png)."


# --- listing and pairing (helpers.imageio), reported ------------------------------------------


SKIPPED = {
    "hidden or system file": (
        "hidden or system file, not used.",
        "Nothing to do (system files such as .DS_Store, ._x and Thumbs.db are skipped).",
    ),
    "broken link": (
        "link to a file that is not there (broken link), not used.",
        "Copy the file itself into the folder, or remove the link.",
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


def report_skipped(listing, report):
    """Add a note for each file the listing skipped (hidden or system file, broken link, sub-folder, not an image)."""
    for path, reason in listing.skipped:
        what, fix = SKIPPED[reason]
        fill = dict(kind=listing.kind, folder=listing.folder, ending=path.suffix or "no ending")
        group = what.format(**{**fill, "ending": "..."})
        report.add("note", path, what.format(**fill), fix.format(**fill), group=group)


def report_unpaired(pairing, images, masks, report):
    """Add a finding for each mask paired by a name ending, image without a mask, mask without an image
    and shared name."""
    for stem, path in pairing.by_suffix.items():
        report.add(
            "note",
            path,
            f"mask named after its image {images.by_stem[stem][0].name} with an ending; paired with it.",
            "Nothing to do.",
            group="masks named <image name><ending> (such as _mask, _label, _seg); paired with their images.",
        )
    for stem in pairing.masks_without_image:
        report.add(
            "warning",
            masks.by_stem[stem][0],
            "mask without an image of the same name; not used.",
            f"Add the image, rename it, or move the mask away. {RENAME_FIX}",
        )
    for stem in [stem for stem in pairing.images_without_mask if stem not in pairing.double_images]:
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
                group=f"several {what} for one image name.",
            )
            report.left_out[stem] = f"several {what} with this name"


# --- one pair ----------------------------------------------------------------------------------


#: The fix for a stack where one 2-D image (or mask) is expected.
STACK_FIX = (
    "Save one file per slice (Fiji: Image > Stacks > Stack to Images), or train on stacks in the 3-D notebook 06 "
    "(its IMAGE_FOLDER, MASK_FOLDER and NEW_IMAGE_FOLDER take folders of stacks)."
)


def _read(path, report, kind):
    """Return an image's header (:func:`helpers.imageio.image_header`, no pixels) or a mask's label values,
    or None after reporting why not."""
    try:
        return imageio.image_header(path) if kind == "image" else imageio.read_mask(path)
    except (ValueError, OSError) as error:
        if path.is_file() and path.stat().st_size == 0:
            what = f"the {kind} file is empty (0 bytes), e.g. an interrupted copy."
            report.add("error", path, what, "Copy the file again from the original.")
        elif "is a stack of" in str(error):
            report.add("error", path, f"the {kind} holds a stack, not one 2-D {kind}.", STACK_FIX)
        else:
            what = f"the {kind} file cannot be read ({type(error.__cause__ or error).__name__})."
            fix = "Open it in Fiji/ImageJ and save it again as PNG or TIFF."
            report.add("error", path, what, fix, group=f"the {kind} file cannot be read.")
        return None


def _image_channels(header, path, report):
    """Return the channels of an image (1 to 4; grey saved as RGB: 1), or None after reporting a stack.
    Only colour and palette images are read (to see grey saved as colour, and opaque alpha)."""
    if "Z" in header.axes:
        what = f"holds a stack of shape {header.shape} (axes {header.axes}), not one 2-D image."
        report.add("error", path, what, STACK_FIX, group="holds a stack, not one 2-D image.")
        return None
    axis = next((axis for axis in "CS" if axis in header.axes), None)  # axes are in the file's order ("CYX")
    channels = header.shape[header.axes.index(axis)] if axis else 1
    if axis == "C" or (axis is None and imageio.read_palette(path) is None):
        return channels
    pixels = imageio.read_image(path)
    if axis == "S" and channels in (2, 4) and pixels.shape[-1] < channels:
        report.add("note", path, "has an opaque alpha (transparency) channel; it is dropped.", "Nothing to do.")
    if imageio.is_grey_rgb(pixels):
        report.add("note", path, "grey image saved as RGB (red = green = blue); read as grey.", "Nothing to do.")
        return 1
    return pixels.shape[-1]


def check_pair(name, image_path, mask_path, report):
    """Check one image (from its header) and its mask file; return (mask pixels, reason left out or None)."""
    header, mask = _read(image_path, report, "image"), _read(mask_path, report, "mask")
    if header is None or mask is None:
        return None, "file cannot be read"
    channels = _image_channels(header, image_path, report)
    if channels is None:
        return None, "image is a stack"
    height, width = (header.shape[header.axes.index(axis)] for axis in "YX")
    if (height, width) != mask.shape[:2]:
        what = f"the mask is {mask.shape[1]}x{mask.shape[0]} but its image {image_path.name} is {width}x{height} (width x height)."
        fix = "Export the mask from its own image at full resolution, without scaling or cropping."
        report.add("error", mask_path, what, fix, group="the mask and its image differ in size.")
        return None, "mask and image differ in size"
    if min(height, width) < report.crop_size:
        report.add(
            "warning",
            image_path,
            f"{width}x{height} is smaller than the {report.crop_size}-pixel "
            "training crops; the image is padded by mirroring, the mask's padding is not annotated "
            "(never trained on or scored).",
            "Nothing to do, or choose a smaller crop_size.",
            group=f"smaller than the {report.crop_size}-pixel training crops; padded (padding never trained on or scored).",
        )
    step = 2**report.n_poolings
    if height % step or width % step:
        report.add(
            "note",
            image_path,
            f"{width}x{height} is not divisible by 2**n_poolings = {step}; it is padded by mirroring "
            "(padding never trained on or scored) and the padding is cut off the prediction.",
            "Nothing to do.",
            group=f"size not divisible by 2**n_poolings = {step}; padded by mirroring (never trained on or "
            "scored) and cut off the prediction.",
        )
    report.channels[name], report.headers[name] = channels, header
    return mask, None


# --- the mask kind of the folder -----------------------------------------------------------------


def _is_binary(values):
    return any(values <= {0, top} for top in (1, 255, 65535))


def _unique(pixels):
    """The sorted distinct values of mask pixels; one or two values (most masks) are found 20 times faster."""
    pixels = np.asarray(pixels)
    if pixels.size and pixels.dtype.kind in "ui":
        low, high = pixels.min(), pixels.max()
        if low == high or np.count_nonzero((pixels == low) | (pixels == high)) == pixels.size:
            return np.unique(np.array([low, high], pixels.dtype))
    return np.unique(pixels)


#: What the folder's decisions need from one mask, so that no mask's pixels are kept: ``colour``, ``grey_rgb``,
#: ``counts`` ({value, or (r, g, b): pixels}), ``fractional`` (not whole numbers), ``palette`` (a palette PNG),
#: ``regions`` and ``touching`` (:func:`_region_facts`; None for binary masks, read again if a folder needs them).
MaskSummary = collections.namedtuple("MaskSummary", "colour grey_rgb counts fractional palette regions touching")


def _region_facts(pixels, ignore_value):
    """(each non-zero id is one connected region, every non-zero id borders another) of a grey mask."""
    import skimage.measure

    grey = pixels[..., 0] if pixels.ndim == 3 else pixels
    if ignore_value is not None and np.ndim(ignore_value) == 0:
        grey = np.where(grey == ignore_value, 0, grey)
    ids = set(_unique(grey).tolist()) - {0}
    regions = int(skimage.measure.label(grey, background=0, connectivity=2).max()) == len(ids)
    touching = set()
    for first, second in ((grey[:, :-1], grey[:, 1:]), (grey[:-1], grey[1:])):
        border = (first != second) & (first > 0) & (second > 0)
        touching |= set(first[border].tolist()) | set(second[border].tolist())
    return regions, touching == ids


def summarize_mask(pixels, path, ignore_value=None):
    """Return the :data:`MaskSummary` of one mask's label values (``imageio.read_mask``)."""
    palette = imageio.read_palette(path) is not None
    if pixels.ndim == 3 and not imageio.is_grey_rgb(pixels):
        found, number = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
        counts = {tuple(int(v) for v in colour): int(k) for colour, k in zip(found, number)}
        return MaskSummary(True, False, counts, False, palette, False, False)
    grey = pixels[..., 0] if pixels.ndim == 3 else pixels
    values = _unique(grey)
    fractional = bool(grey.dtype.kind == "f" and not np.all(np.mod(values, 1) == 0))
    number = (
        [np.count_nonzero(grey == v) for v in values] if len(values) <= 2 else np.unique(grey, return_counts=True)[1]
    )
    counts = {(v if fractional else int(v)): int(k) for v, k in zip(values.tolist(), number)}
    binary = _is_binary(_plain(counts, ignore_value))
    regions, touching = (None, None) if binary or fractional else _region_facts(grey, ignore_value)
    return MaskSummary(False, pixels.ndim == 3, counts, fractional, palette, regions, touching)


def _plain(counts, ignore_value):
    """The values of a grey mask, the ignore value read as 0."""
    return {0 if value == ignore_value else value for value in counts}


def check_mask_values(masks, paths, report):
    """Leave out JPEG masks with blurred values and probability masks; return the rest."""
    kept = {}
    for name, mask in masks.items():
        path, values = paths[name], set(mask.counts)
        if path.suffix.lower() in (".jpg", ".jpeg") and not _is_binary(values) and len(values) > 2:
            what = f"JPEG mask with {len(values)} different values (compression blurs edges)."
            fix = "Save masks as PNG or TIFF, never JPEG."
            report.add("error", path, what, fix, group="JPEG masks (compression blurs edges).")
            report.left_out[name] = "JPEG mask"
        elif mask.fractional:
            what = f"the mask has {len(values)} values from {min(values):g} to {max(values):g}, not whole numbers"
            fix = "Threshold it and save 0 for background and 255 for the structure."
            group = "masks of fractional values (probabilities or smoothed images?)."
            report.add("error", path, f"{what} (a probability or smoothed image?).", fix, group=group)
            report.left_out[name] = "mask values are not whole numbers"
        else:
            kept[name] = mask
    return kept


def _odd_ones(plain):
    """Return (binary names, odd names): when the binary masks' value (255) is above every id of the
    other masks, the smaller group is the odd one out (the other masks when as many are binary)."""
    binary = [n for n in plain if _is_binary(plain[n])]
    other = [n for n in plain if n not in binary]
    if not binary or not other:
        return binary, []
    largest_id = max(max(plain[n]) for n in other)
    wide = [n for n in binary if max(plain[n]) > largest_id]
    return binary, (other if len(binary) >= len(other) else wide) if wide else []


def _choose_kind(masks, paths, mask_kind, ignore_value, region_facts=None):
    """Return (kind, reason, odd names) for the folder."""
    if mask_kind != "auto":
        return mask_kind, f"Chosen by mask_kind={mask_kind!r}.", []
    colour = [n for n, m in masks.items() if m.colour]
    plain = {n: _plain(m.counts, ignore_value) for n, m in masks.items() if n not in colour}
    binary, odd = _odd_ones(plain)
    if len(colour) > len(masks) - len(colour):
        kind, why = "colours", f"{len(colour)} of {len(masks)} masks are colour images; each exact colour is a class"
    elif odd and odd[0] not in binary:
        kind, why = "binary", f"{len(binary)} of {len(plain)} masks hold 0 and one other value; the others are odd"
    elif len(binary) == len(plain):
        kind, why = "binary", "every mask holds 0 and at most one other value"
    else:
        ids = [n for n in plain if n not in odd]
        palettes = any(masks[n].palette for n in ids)
        again = region_facts or (lambda name: _region_facts(imageio.read_mask(paths[name]), ignore_value))
        facts = {  # binary masks among ids are read again for their regions
            n: (masks[n].regions, masks[n].touching) if masks[n].regions is not None else again(n)
            for n in ([] if palettes else ids)
        }
        regions = not palettes and all(one for one, _ in facts.values())
        same_ids = len({frozenset(plain[n]) for n in ids}) == 1
        if regions and not (same_ids and all(touch for _, touch in facts.values())):
            why = "in every mask each non-zero id is one connected region, so the ids look like objects"
            return "instances", f"Chosen automatically: {why} (use mask_kind='classes' if they are classes).", odd
        kind, why = (
            "classes",
            (
                "every mask holds the same ids, each one region beside or inside another"
                if regions
                else "the masks are palette PNGs, whose indices are classes"
                if palettes
                else "some id covers several separate regions"
            ),
        )
        why += " (use mask_kind='instances' if each id is one object, 'binary' for foreground = id > 0)"
    return kind, f"Chosen automatically: {why}{'' if kind == 'classes' else ' (mask_kind= overrides)'}.", odd


def _read_masks_as_grey(masks, paths, kind, report):
    """Grey kinds: leave out real colour masks (return the others' counts); grey saved as RGB uses its red channel."""
    grey = {}
    for name, mask in masks.items():
        if mask.colour:
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
        if mask.grey_rgb:
            report.add("note", paths[name], "grey mask saved as RGB; the red channel is used.", "Nothing to do.")
        grey[name] = mask.counts
    return grey


def _binary_rules(masks, paths, kind, ignore_value, odd, report):
    """Binary and instances: how each mask becomes 0/1, with the usual warnings; return the usable masks."""
    annotated = {name: {v: k for v, k in counts.items() if v != ignore_value} for name, counts in masks.items()}
    values = {name: set(counts) for name, counts in annotated.items()}
    if all(found <= {0} for found in values.values()):
        for name in masks:
            report.add(
                "error",
                paths[name],
                "every mask of the folder is empty (background only): nothing to learn, and every score "
                "would be a perfect 1.0.",
                "Export the masks again with the structure as 255 (or 1), or check MASK_FOLDER.",
            )
            report.left_out[name] = "every mask is empty"
        return {}
    top = max((max(found) for name, found in values.items() if name not in odd and found), default=1)
    for name in masks:
        path, found = paths[name], values[name]
        foreground = sum(k for v, k in annotated[name].items() if v > 0) / max(sum(annotated[name].values()), 1)
        if found <= {0}:
            report.add(
                "warning",
                path,
                "the mask is empty (no foreground pixel).",
                "Fine if the image really has none; otherwise the mask was exported blank.",
            )
        elif len(found) == 1:
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
        if _is_binary(found):
            report.mask_rules[name] = f"0/{max(found | {1})}" if found - {0} else "0/1"
        else:
            report.mask_rules[name] = "labels > 0"
            if name in odd:
                report.add(
                    "warning",
                    path,
                    f"the odd one out: values {_values_text(found)}, while the other masks are 0/{top}; "
                    "read as foreground = value > 0.",
                    f"Check it is the right mask and export it as 0/{top} like the others (if its values are "
                    "classes in every mask, pass mask_kind='classes').",
                    group=f"masks unlike the others (not 0/{top}); read as foreground = value > 0.",
                )
            elif kind == "instances":
                report.add(
                    "warning",
                    path,
                    f"the mask has {len(found - {0})} different non-zero values "
                    "(a label image with one id per object); every non-zero pixel is foreground.",
                    "Nothing to do for semantic segmentation; to keep objects apart see notebook 07.",
                    group="label images with one id per object; every non-zero pixel is foreground.",
                )
            else:
                report.add(
                    "note",
                    path,
                    f"the mask has {len(found - {0})} different non-zero values; "
                    "mask_kind='binary' reads every non-zero pixel as foreground.",
                    "Nothing to do.",
                    group="masks with several non-zero values; every non-zero pixel is foreground.",
                )
        report.mask_values[name] = _values_text(found)
    report.classes = [
        dict(id=0, name="background", colour=None, pixel_share=np.nan, images=len(masks)),
        dict(id=1, name="structure", colour=None, pixel_share=np.nan, images=len(masks)),
    ]
    return masks


def _values_text(values):
    values = sorted(values)
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ", ".join(str(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")


def _class_ids(masks, paths, ignore_value, names, report):
    """Classes: K from the whole folder, the class table and a note per id pattern."""
    annotated = {name: {v: k for v, k in counts.items() if v != ignore_value} for name, counts in masks.items()}
    largest = max((max(found) for found in annotated.values() if found), default=0)
    return _class_table(annotated, max(largest + 1, len(names)), names, None, paths, report)


def _class_table(annotated, count, names, colours, paths, report):
    """The class table from each mask's ``{id: annotated pixels}``, and a note per id pattern."""
    pixels_per_id, images_per_id = np.zeros(count), np.zeros(count, int)
    for name, found in annotated.items():
        for class_id, number in found.items():
            pixels_per_id[class_id] += number
            images_per_id[class_id] += 1
        text = _values_text(set(found))
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
    if len(annotated) > 2:
        for class_id in range(1, count):
            if images_per_id[class_id] == 1:
                only = next(n for n, ids in annotated.items() if class_id in ids)
                report.add(
                    "warning",
                    paths[only],
                    f"class {class_id} is in this mask only (of {len(annotated)}).",
                    "Check the id (a typo in the annotation tool?); a class seen once cannot be learnt and tested.",
                    group="a class that appears in one mask only.",
                )


def _colour_classes(masks, paths, ignore_value, names, min_share, report):
    """Colours: each exact colour covering ``min_share`` of the folder is a class; others are errors.
    Return each mask's ``{class id: pixels}`` (255: not annotated)."""
    counts, rgb = collections.Counter(), {}
    for name, mask in masks.items():
        if not (mask.colour or mask.grey_rgb):
            fix = "Save it colour-coded like the others, or pass mask_kind='classes' if all masks are grey ids."
            report.add("error", paths[name], "grey mask in a folder of colour-coded masks.", fix)
            report.left_out[name] = "grey mask in a folder of colour masks"
            continue
        rgb[name] = mask.counts if mask.colour else {(v, v, v): k for v, k in mask.counts.items()}
        counts.update(rgb[name])
    ignore = tuple(ignore_value) if ignore_value is not None else None
    if isinstance(names, dict) and names and all(isinstance(k, tuple) for k in names):
        palette = sorted(names)
        names = [names[c] for c in palette]
    else:
        total = max(sum(counts.values()), 1)
        palette = sorted(c for c, k in counts.items() if k / total >= min_share and c != ignore)
    report.colour_to_id = {c: i for i, c in enumerate(palette)}
    ids = {}
    for name, colours in rgb.items():
        off = sum(k for c, k in colours.items() if c not in report.colour_to_id and c != ignore)
        if off:
            what = f"{off} pixels have colours not among the folder's {len(palette)} class colours (smoothed edges?)."
            fix = "Save it as PNG with antialiasing off, or name the class colours: class_names={(r, g, b): name, ...}."
            report.add("error", paths[name], what, fix, group="masks with off-palette colours.")
            report.left_out[name] = f"{off} off-palette pixels"
            continue
        ids[name] = {report.colour_to_id.get(c, 255): k for c, k in colours.items()}
    report.ignore_id = 255 if ignore is not None else None
    annotated = {name: {i: k for i, k in found.items() if ignore is None or i != 255} for name, found in ids.items()}
    _class_table(annotated, len(palette), list(names) if names else [], palette, paths, report)
    return ids


def colour_ids(pixels, palette, ignore_colour=None):
    """Return the (H, W) class ids of an RGB mask: each colour's index in ``palette``, 255 for
    ``ignore_colour``, -1 for any other colour.

    >>> colour_ids(np.array([[[9, 9, 9], [255, 0, 0], [1, 2, 3]]]), [(255, 0, 0)], (9, 9, 9)).tolist()
    [[255, 0, -1]]
    """
    colours, where = np.unique(np.asarray(pixels).reshape(-1, 3), axis=0, return_inverse=True)
    lookup = {tuple(int(v) for v in colour): i for i, colour in enumerate(palette)}
    if ignore_colour is not None:
        lookup[tuple(int(v) for v in ignore_colour)] = 255
    ids = np.array([lookup.get(tuple(int(v) for v in colour), -1) for colour in colours], np.int64)
    return ids[where.ravel()].reshape(np.shape(pixels)[:2])


def read_class_names(class_names):
    """Return class names as a list (index = id) or a ``{(r, g, b): name}`` dict.

    ``class_names`` is a list, ``{id: name}``, ``{(r, g, b): name}``, a CSV file with a header
    ``id,name`` or ``red,green,blue,name``, names separated by commas in id order, or None.

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


def read_masks_by_kind(masks, paths, mask_kind, ignore_value, names, colour_min_share, report, region_facts=None):
    """Decide the folder's mask kind, fill the class table and each mask's rule from the :data:`MaskSummary`
    of each mask; return the usable masks as ``{name: {value as loaded: pixels}}``. ``region_facts(name)``:
    (regions, touching) of a mask summarised without them (None: its 2-D file is read again)."""
    kind, reason, odd = _choose_kind(masks, paths, mask_kind, ignore_value, region_facts)
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
        for name in [n for n in odd if n in masks]:
            top = int(max(_plain(masks[name], ignore_value)))
            report.add(
                "error",
                paths[name],
                f"the odd one out: 0 and {top} (binary), while the other masks hold class ids "
                f"below it; read as classes it would make {top + 1} classes.",
                "Export it with the class ids of the others, or move it away; if that value marks pixels "
                "not annotated, pass ignore_value.",
                group="binary masks (0/255) among masks of class ids.",
            )
            report.left_out[name] = "binary mask among class-id masks"
        masks = {n: p for n, p in masks.items() if n not in odd}
        _class_ids(masks, paths, ignore_value, names, report)
    else:
        masks = _binary_rules(masks, paths, kind, ignore_value, odd, report)
        if names:
            for entry, name in zip(report.classes, names):
                entry["name"] = name
    return masks


def report_annotated(masks, paths, report):
    """With an ignore value: record each mask's annotated share (``masks``: ``{name: {value: pixels}}`` from
    :func:`read_masks_by_kind`), warn about masks with none."""
    if report.ignore_value is None:
        return
    for name, counts in masks.items():
        share = 1 - counts.get(report.ignore_id, 0) / max(sum(counts.values()), 1)
        report.annotated[name] = share
        if share == 0:
            what = "no pixel of this mask is annotated (all equal the ignore value)."
            fix = "Annotate a few strokes, or move the pair away; it teaches nothing."
            report.add("warning", paths[name], what, fix, group="masks without any annotated pixel.")


def _odd_images(report, image_paths, values, what, fix):
    """Leave out the images whose ``what`` (pixel type, channels) differs from most images'; return them."""
    common = collections.Counter(values.values()).most_common(1)[0][0]
    odd = [name for name, value in values.items() if value != common]
    for name in odd:
        text = f"{what} {values[name]}, while most images have {common}; left out."
        report.add("error", image_paths[name], text, fix, group=f"{what} unlike most images ({common}); left out.")
        report.left_out[name] = f"{what} unlike the other images"
    return odd


def report_images(report, image_paths, rescaling=None):
    """Decide the folder's image channels and ONE rescaling rule (:func:`helpers.imageio.folder_rescaling`,
    or ``rescaling`` as given); images of another pixel type or channel count than most are left out.
    Return the names left out."""
    if not report.channels:
        return []
    types = {name: report.headers[name].dtype.name for name in report.channels}
    odd = _odd_images(report, image_paths, types, "pixel type", "Convert it to the others' type (Fiji: Image > Type).")
    channels = {name: count for name, count in report.channels.items() if name not in odd}
    if set(channels.values()) == {1, 3}:
        grey = sum(count == 1 for count in channels.values())
        report.add(
            "warning",
            report.image_folder,
            f"{grey} grey and {len(channels) - grey} colour images; the grey images are converted to colour "
            "(grey repeated in red, green and blue) so that no colour is lost.",
            "Nothing to do, or save them all the same way (grey: Fiji Image > Type > 8-bit).",
        )
        report.image_channels, words = 3, "colour (RGB): grey images repeated into 3 channels"
    else:
        fix = "Give every image the same channels (Fiji: Image > Color > Channels Tool) and save it again."
        odd += _odd_images(report, image_paths, channels, "channels", fix)
        report.image_channels = max(set(channels.values()), key=list(channels.values()).count)
        words = {1: "grey, 1 channel", 3: "colour (RGB), 3 channels"}.get(report.image_channels)
        words = words or f"{report.image_channels} channels (the U-Net takes them all)"
    kept = [image_paths[name] for name in report.channels if name not in odd]
    if rescaling is None:
        report.rescaling, reason = imageio.folder_rescaling(kept)
    else:
        report.rescaling, reason = rescaling, f"chosen by rescaling={rescaling!r} (RESCALING in notebook 08)."
    report.image_rule = f"{words}; rescaled by one rule for the folder: {reason}"
    return odd


def report_mask_encodings(report):
    """Note binary masks of different encodings (0/1 and 0/255), each read its own way."""
    rules = collections.Counter(report.mask_rules.values())
    if len(rules) > 1 and report.mask_kind == "binary":
        counts = ", ".join(f"{rule}: {count}" for rule, count in rules.items())
        what = f"masks use different encodings ({counts}); each is read its own way."
        report.add("note", report.mask_folder, what, "Nothing to do.")
