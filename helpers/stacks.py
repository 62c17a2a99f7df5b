"""Your own stacks (notebook 06): check a folder of 3-D stacks and label stacks with notebook 08's checks
(:mod:`helpers.folder_checks`) per stack, plus the voxel spacing; load them; predict new stacks into a new folder.
"""

import collections
import functools

import numpy as np

from helpers import datasets, folder_checks, imageio, inference, metrics
from helpers._checks import foreground
from helpers.imageio import few_names, natural_sorted
from helpers.own_data import FolderReport

__all__ = ["check_stacks", "load_stacks", "choose_threshold", "score", "predict_stacks"]

SPACING_FIX = "Set VOXEL_SPACING = (z, y, x): the section thickness and the pixel size, in one unit."


def _zyx(sizes):
    """``"z x y x x"`` of a stack's shape or of a spacing."""
    return " x ".join(f"{size:g}" for size in sizes[:3])


def _read(path, report, kind):
    """Return (pixels (Z, Y, X, C), spacing or None), or (None, None) after reporting why not."""
    try:
        return imageio.read_stack(path)
    except (ValueError, OSError) as error:
        what, fix = f"the {kind} stack cannot be read", "Open it in Fiji and save it again (File > Save As > Tiff)."
        report.add("error", path, f"{what}: {error}", fix, what)
        return None, None


def _check_pair(name, image_path, mask_path, box, report):
    """Return (the mask's summary, spacing) of one usable pair, or the reason it is left out."""
    (image, spacing), (mask, _) = _read(image_path, report, "image"), _read(mask_path, report, "mask")
    if image is None or mask is None:
        return "file cannot be read"
    if mask.shape[-1] != 1:
        fix = "Save the label stack with one value per voxel, 0 = background (Fiji: Image > Type > 8-bit)."
        report.add("error", mask_path, f"the mask stack has {mask.shape[-1]} channels.", fix)
        return "mask with channels"
    if image.shape[:3] != mask.shape[:3]:
        what = f"the mask is {_zyx(mask.shape)} but its stack {image_path.name} is {_zyx(image.shape)} (z x y x x)."
        fix = "Export the mask from its own stack, every section, without scaling or cropping."
        report.add("error", mask_path, what, fix, "the mask and its stack differ in size.")
        return "mask and stack differ in size"
    if any(size < side for size, side in zip(image.shape, box)):
        what = f"{_zyx(image.shape)} is smaller than the training box {_zyx(box)} (z x y x x)."
        report.add("error", image_path, what, "Choose a smaller BOX, or move the stack away.", "smaller than the box.")
        return "smaller than the training box"
    report.channels[name] = image.shape[-1]
    return _summary(mask[..., 0]), spacing


def _touching_ids(mask):
    """The non-zero ids of a stack that border another non-zero id (along z, y or x)."""
    touching = set()
    for axis in range(mask.ndim):
        first, second = np.moveaxis(mask, axis, 0)[:-1], np.moveaxis(mask, axis, 0)[1:]
        border = (first != second) & (first > 0) & (second > 0)
        touching |= set(first[border].tolist()) | set(second[border].tolist())
    return touching


def _summary(mask, regions=False):
    """The :data:`helpers.folder_checks.MaskSummary` of a label stack (Z, Y, X) (its pixels need not be kept), with
    its 3-D regions (each non-zero id one connected region? every id touching another?) for ids, or if ``regions``."""
    import skimage.measure

    values, number = np.unique(mask, return_counts=True)
    fractional = bool(mask.dtype.kind == "f" and not np.all(np.mod(values, 1) == 0))
    counts = {(v if fractional else int(v)): int(k) for v, k in zip(values.tolist(), number)}
    ids, facts = set(counts) - {0}, (None, None)
    if not fractional and (regions or not any(ids <= {top} for top in (1, 255, 65535))):  # not 0 and one value
        labelled = skimage.measure.label(mask if mask.dtype.kind in "ui" else mask.astype(np.int64), connectivity=3)
        facts = int(labelled.max()) == len(ids), _touching_ids(mask) == ids
    return folder_checks.MaskSummary(False, False, counts, fractional, False, *facts)


def _folder_spacing(found, voxel_spacing, report):
    """Return (spacing (z, y, x), where it comes from): ``voxel_spacing``, else the metadata, else 1 x 1 x 1."""
    if voxel_spacing is not None:
        try:
            spacing = tuple(float(size) for size in voxel_spacing)
        except (TypeError, ValueError):
            spacing = ()
        if len(spacing) != 3 or min(spacing) <= 0:
            raise ValueError(
                f"VOXEL_SPACING must be 3 positive numbers (z, y, x), e.g. (0.5, 0.1, 0.1); got {voxel_spacing!r}."
            )
        return spacing, "VOXEL_SPACING"
    known = collections.Counter(spacing for spacing in found.values() if spacing is not None)
    common = known.most_common(1)[0][0] if known else (None, None, None)
    guessed = [axis for axis, size in zip("zyx", common) if size is None]
    fill = next((size for size in common[::-1] if size), 1.0)  # the pixel width, else 1: cubic voxels
    spacing = tuple(float(size or fill) for size in common)
    others = [name for name, own in found.items() if own != common]
    if known and others:
        what = f"{len(others)} stacks have no or another voxel spacing ({few_names(others)}); {_zyx(spacing)} is used."
        report.add("warning", report.image_folder, what, SPACING_FIX)
    if guessed:
        what = f"the voxel spacing in {', '.join(guessed)} is not in the files' metadata; taken as {fill:g}, a guess."
        report.add("warning", report.image_folder, what, SPACING_FIX)
    origin = "a guess" if len(guessed) == 3 else "the metadata" + (" and a guess" if guessed else "")
    return spacing, origin


def _merged(own, folder):
    """A stack's own spacing (z, y, x), the folder's where it says none."""
    return tuple(mine or other for mine, other in zip(own or (None,) * 3, folder)) if folder else own


def check_stacks(
    image_folder, mask_folder, *, box=(4, 32, 32), mask_kind="auto", voxel_spacing=None, results_folder=None
):
    """Check a folder of stacks and one of label stacks before training; return a
    :class:`helpers.own_data.FolderReport` with ``spacing`` (z, y, x) and ``rescaling`` (the folder's rule).

    ``box``: (z, y, x) of the training boxes (no stack may be smaller). ``mask_kind``: as in
    :func:`helpers.own_data.check_folder`. ``voxel_spacing``: (z, y, x); None reads it from the metadata.
    """
    imageio.check_not_same_folder(image_folder, mask_folder)
    report = FolderReport(image_folder, mask_folder, 0, min(box[1:]))
    report.items, report.rescaling_hint = "stacks", ""  # notebook 06 has no RESCALING: the files' rule is used
    images = imageio.list_image_files(report.image_folder, "image")
    masks = imageio.list_image_files(report.mask_folder, "mask")
    folder_checks.report_skipped(images, report)
    folder_checks.report_skipped(masks, report)
    pairing = imageio.pair_files(images, masks)
    folder_checks.report_unpaired(pairing, images, masks, report)
    labels, spacings, paths = {}, {}, {}  # summaries of the label stacks, spacings, (image, mask) paths by name
    for name, image_path, mask_path in pairing.pairs:
        checked = _check_pair(name, image_path, mask_path, box, report)
        if isinstance(checked, str):
            report.left_out[name] = checked
        else:
            (labels[name], spacings[name]), paths[name] = checked, (image_path, mask_path)
    channels = collections.Counter(report.channels.values()).most_common(1)[0][0] if labels else 1
    for name in [n for n in labels if report.channels[n] != channels]:
        what = f"{report.channels[name]} channels, while the other stacks have {channels}."
        fix = "Save every stack with the same channels (Fiji: Image > Color > Merge Channels)."
        report.add("error", paths[name][0], what, fix, "stacks with another channel count.")
        report.left_out[name] = "another channel count"
        del labels[name]
    mask_paths = {name: paths[name][1] for name in labels}  # 08's decisions, from each stack's summary

    def stack_regions(name):  # a binary stack's 3-D regions, read again only when the folder also holds ids
        return _summary(imageio.read_stack(mask_paths[name])[0][..., 0], regions=True)[-2:]

    usable = folder_checks.check_mask_values(labels, mask_paths, report)
    if usable:
        usable = folder_checks.read_masks_by_kind(usable, mask_paths, mask_kind, None, [], 0.001, report, stack_regions)
    report.pairs = [(name, *paths[name]) for name in natural_sorted(usable)]
    report.left_out = {name: report.left_out[name] for name in natural_sorted(report.left_out)}
    report.image_channels = channels
    used = [image for _, image, _ in report.pairs]
    report.rescaling, reason = imageio.folder_rescaling(used) if used else ("", "")
    report.spacing, origin = _folder_spacing({n: spacings[n] for n in usable}, voxel_spacing, report)
    report.image_rule = (
        f"{channels} channel(s); {reason.rstrip('.')}; voxel spacing {_zyx(report.spacing)} (z x y x x) from {origin}."
    )
    if results_folder is not None:
        report.save(results_folder)
    return report


def load_stacks(report):
    """The usable pairs of :func:`check_stacks` as a :data:`helpers.datasets.VolumeSet` of lists: (Z, Y, X, C)
    float32 in [0, 1] by the folder's rule, masks (Z, Y, X, 1) of class ids (binary and instances: 0/1)."""
    if not report.pairs:
        raise ValueError(f"No usable stack/mask pair in {report.image_folder}: read the report and fix the errors.")
    volumes, masks = [], []
    for _, image_path, mask_path in report.pairs:
        volumes.append(imageio.scale_to_unit(imageio.read_stack(image_path)[0], image_path, report.rescaling))
        labels = imageio.read_stack(mask_path)[0]
        masks.append((labels if report.mask_kind == "classes" else labels > 0).astype(np.float32))
    source = f"stacks from {report.image_folder}, masks from {report.mask_folder}"
    return datasets.VolumeSet(volumes, masks, [name for name, _, _ in report.pairs], source, report.spacing)


def _flat(masks, probabilities):
    truth = np.concatenate([np.ravel(mask) for mask in masks])
    return truth, np.concatenate([np.reshape(p, (-1, p.shape[-1])) for p in probabilities])


def choose_threshold(masks, probabilities):
    """The threshold with the best Dice over all voxels of the (validation) stacks; None for K classes."""
    truth, probability = _flat(masks, probabilities)
    return metrics.choose_threshold(truth, probability[:, 0])[0] if probability.shape[-1] == 1 else None


def score(masks, probabilities, threshold=None):
    """Dice and IoU over all voxels of the stacks: at ``threshold`` (binary), or the mean over the K classes of
    the most probable class (then ``per_class`` too)."""
    truth, probability = _flat(masks, probabilities)
    if probability.shape[-1] == 1:
        return metrics.evaluate_segmentation(truth, probability[:, 0], threshold)
    per_class = metrics.per_class_scores(truth, probability.argmax(-1), probability.shape[-1])
    return {"dice": float(per_class["dice"].mean()), "iou": float(per_class["iou"].mean()), "per_class": per_class}


def predict_stacks(model, input_folder, output_folder, *, window, threshold=None, rescaling="", spacing=None):
    """Segment every stack of a folder (:func:`helpers.inference.predict_volume` with ``window``: any size) into a
    NEW folder, returned: one 8-bit TIFF per stack of its name, size and spacing (else ``spacing``), 0/255 at
    ``threshold`` or the most probable class's id. A rule other than the training's ``rescaling`` is said."""
    listing = imageio.list_image_files(input_folder, "image")
    paths = [listing.by_stem[stem][0] for stem in natural_sorted(listing.by_stem)]
    rule, reason = imageio.folder_rescaling(paths)
    if rescaling and rule != rescaling:
        print(f"The new stacks are read by another rule ({reason}) than the training stacks ({rescaling}).")
    if model.output_shape[-1] == 1 and threshold is None:
        raise ValueError("The model has one output (binary): pass threshold=..., chosen on the validation stacks.")
    channels, folder = model.input_shape[-1], imageio.new_folder(output_folder)
    for path in paths:
        pixels, own_spacing = imageio.read_stack(path)
        if pixels.shape[-1] != channels:
            raise ValueError(
                f"The stack {path} has {pixels.shape[-1]} channels, the model takes {channels}. Save it with the "
                f"channels of the training stacks, or move it out of {listing.folder}."
            )
        probability = inference.predict_volume(model, imageio.scale_to_unit(pixels, path, rule), window)
        if probability.shape[-1] > 1:
            mask = probability.argmax(-1).astype(np.uint8)
        else:
            mask = np.where(foreground(probability[..., 0], threshold), 255, 0).astype(np.uint8)
        target = imageio.new_path(folder / f"{imageio.file_stem(path)}.tif")
        imageio.write_atomically(
            target, functools.partial(datasets.write_stack, pixels=mask, spacing=_merged(own_spacing, spacing))
        )
    what = "0 = background, 255 = structure" if model.output_shape[-1] == 1 else "class ids"
    print(f"Wrote {len(paths)} predicted stacks ({what}) to {folder}.")
    return folder
