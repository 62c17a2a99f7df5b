"""Take a trained U-Net out of the notebook: a bioimage.io package for Fiji, napari, the Model Zoo.

:func:`export_bioimageio` writes a **bioimage.io model package** (a zip, spec 0.5) that deepImageJ
(Fiji), napari, QuPath, ilastik and the BioImage Model Zoo read, with ``keras_v3`` weights and a
zipped TensorFlow SavedModel (which deepImageJ runs); :func:`check_package_predictions` validates and
reloads it. :func:`save_model` / :func:`load_model` keep ``model.keras`` with a ``manifest.json`` of
sha256s, refusing altered files. A package applies the course's rules where they live: the reader's
rescaling (:data:`helpers.imageio.RULE_DIVISORS`), ``probability >= threshold``, the class colours
(:mod:`helpers.label_maps`) and the sizes a U-Net takes (:func:`helpers.models.count_poolings`).
"""

import contextlib
import datetime
import json
import platform
import re
import shutil
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np

from helpers import imageio, label_maps
from helpers._checks import foreground
from helpers.course import package_versions
from helpers.download import file_sha256
from helpers.models import count_poolings

__all__ = [
    "UNET_CITATION",
    "INPUT_ID",
    "OUTPUT_ID",
    "COURSE_RESCALING",
    "accepted_sizes",
    "export_bioimageio",
    "validate_package",
    "check_package_predictions",
    "predict_with_package",
    "save_model",
    "load_model",
    "CorruptModelError",
]

#: The U-Net paper, cited by every exported package.
UNET_CITATION = {
    "text": "Ronneberger, O., Fischer, P., Brox, T. (2015). U-Net: Convolutional Networks for "
    "Biomedical Image Segmentation. MICCAI 2015, LNCS 9351, 234-241.",
    "doi": "10.1007/978-3-319-24574-4_28",
}
#: Tensor names inside the package.
INPUT_ID = "raw"
OUTPUT_ID = "probability"
#: The rescaling rule of the course's data sets (8-bit files), as :func:`helpers.imageio.scaling_rule` names it.
COURSE_RESCALING = "8-bit / 255"

_MANIFEST = "manifest.json"
_KERAS_FILE = "model.keras"
_MIN_TO_MAX = "own minimum to maximum"


class CorruptModelError(ValueError):
    """A saved model folder or package has a missing or altered file."""


def accepted_sizes(n_poolings, up_to):
    """List the image sides a package of a U-Net with ``n_poolings`` poolings accepts, up to ``up_to``.

    >>> accepted_sizes(4, 64)
    [16, 32, 48, 64]
    """
    step = 2 ** int(n_poolings)
    return list(range(step, int(up_to) + 1, step))


def _preprocessing(rescaling):
    """The package's steps that turn raw pixels into the model's input by the reader's ``rescaling`` rule."""
    if rescaling in imageio.RULE_DIVISORS:
        scale = {"id": "scale_linear", "kwargs": {"gain": 1.0 / imageio.RULE_DIVISORS[rescaling], "offset": 0.0}}
    elif rescaling == _MIN_TO_MAX:
        scale = {"id": "scale_range", "kwargs": {"axes": ["y", "x", "channel"]}}
    else:
        raise ValueError(
            f"rescaling={rescaling!r}: give the rule the reader applied to the training images, "
            f"rescaling=imageio.scaling_rule(imageio.read_pixels(one_training_file)); one of "
            f"{[*imageio.RULE_DIVISORS, _MIN_TO_MAX]}."
        )
    return [{"id": "ensure_dtype", "kwargs": {"dtype": "float32"}}, scale]


# ----------------------------------------------------------------------------------------
# Export


def export_bioimageio(
    model,
    folder,
    *,
    name,
    description,
    test_image,
    authors,
    training_data,
    scores,
    methods,
    citations=(),
    threshold=None,
    class_names=None,
    rescaling=COURSE_RESCALING,
    license="CC-BY-4.0",
    cover=None,
    binarize_output=False,
    saved_model=True,
    tags=("segmentation", "unet", "2d"),
):
    """Write a bioimage.io model package (zip, spec 0.5) of a trained 2-D U-Net into ``folder``; return the zip.

    The zip is named after ``name`` (5 characters or more) and never overwrites one (``-2``, ``-3`` ...).

    Parameters
    ----------
    model : keras.Model
        Input (None, None, C); output one sigmoid channel (binary) or K softmax channels.
    test_image : ndarray
        One real image, (H, W) or (H, W, C), H and W multiples of ``2**n_poolings``: the raw pixels
        (:func:`helpers.imageio.read_pixels`) or, for rules that divide by a fixed number, the reader's [0, 1] image.
    authors : list of dict or str
        ``{"name": ..., "affiliation": ..., "github_user": ...}`` or plain names.
    training_data, methods, scores
        Written into the documentation as given; ``scores`` e.g. ``{"IoU (test)": 0.83}``.
    citations : sequence of dict
        Extra ``{"text": ..., "doi": ...}`` (or ``"url"``); the U-Net paper is always cited.
    threshold, class_names
        Binary models need the threshold chosen on validation; K-class models one name per channel.
    rescaling : str
        The reader's rule for the training images, as :func:`helpers.imageio.scaling_rule` names it;
        the package applies it to the raw pixels a tool gives it.
    cover : path, optional
        A PNG cover; by default the test image beside its prediction.
    binarize_output : bool
        Binary models: return the 0/1 mask (``probability >= threshold``) instead of probabilities.
    saved_model : bool
        Also write the zipped TensorFlow SavedModel (deepImageJ runs it).
    """
    from bioimageio.spec import ValidationContext, build_description, save_bioimageio_package

    preprocessing = _preprocessing(rescaling)
    n_channels, class_names = _check_model(model, threshold, class_names, binarize_output)
    n_poolings = count_poolings(model)
    raw, scaled = _test_input(test_image, n_channels, n_poolings, rescaling)
    probabilities = np.asarray(model.predict_on_batch(scaled), dtype=np.float32)
    output = foreground(probabilities, float(threshold)).astype(np.float32) if binarize_output else probabilities

    zip_path = imageio.new_path(Path(folder) / f"{_file_name(name)}.zip")
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bioimageio-export-") as work:
        work = Path(work)
        np.save(work / "test_input.npy", raw)
        np.save(work / "test_output.npy", output)
        cover_file = _write_cover(work, scaled, probabilities, threshold, cover)
        model.save(work / _KERAS_FILE)
        versions = _versions()
        weights = {
            "keras_v3": {
                "source": _KERAS_FILE,
                "keras_version": versions["keras"],
                "backend": ["tensorflow", versions["tensorflow"]],
            }
        }
        if saved_model:
            _write_saved_model_zip(model, work / "tf_saved_model.zip")
            weights["tensorflow_saved_model_bundle"] = {
                "source": "tf_saved_model.zip",
                "tensorflow_version": versions["tensorflow"],
                "parent": "keras_v3",
                "comment": f"signature 'serving_default', input '{INPUT_ID}', output '{OUTPUT_ID}'; zipped.",
            }
        facts = types.SimpleNamespace(  # what both the description (rdf) and the README say
            name=name,
            description=description,
            n_poolings=n_poolings,
            n_channels=n_channels,
            class_names=class_names,
            threshold=threshold,
            rescaling=rescaling,
            binarize_output=binarize_output,
        )
        (work / "README.md").write_text(
            _documentation(facts, training_data, scores, methods, sorted(weights)), encoding="utf-8"
        )
        rdf = _model_rdf(facts, preprocessing, authors, license, citations, tags, cover_file, weights)
        with _offline_bioimageio(work / "cache"):
            descr = build_description(rdf, context=ValidationContext(root=work, perform_io_checks=True))
            _raise_on_errors(descr, f"the package for {name!r}")
            save_bioimageio_package(descr, output_path=zip_path)
    return zip_path


def _file_name(name):
    keep = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip().lower())
    return "-".join(part for part in keep.split("-") if part) or "model"


def _check_model(model, threshold, class_names, binarize_output):
    """Return the model's input channels and its class names, or say which argument does not fit it."""
    in_shape, out_shape = tuple(model.input_shape), tuple(model.output_shape)
    if len(in_shape) != 4 or len(out_shape) != 4:
        raise ValueError(
            f"model: expected a 2-D U-Net with input (batch, height, width, channels); "
            f"got input {in_shape} and output {out_shape}."
        )
    n_outputs = out_shape[-1]
    if n_outputs == 1:
        if threshold is None or not 0.0 < float(threshold) < 1.0:
            raise ValueError(
                f"threshold={threshold!r}: a binary model needs the threshold chosen on validation, "
                f"between 0 and 1, e.g. threshold=0.5."
            )
        return in_shape[-1], list(class_names) if class_names else ["foreground"]
    if binarize_output:
        raise ValueError("binarize_output=True is for binary models; a K-class model uses argmax.")
    if class_names is None or len(class_names) != n_outputs:
        raise ValueError(
            f"class_names: the model has {n_outputs} output channels; give {n_outputs} names, "
            f"class 0 first, e.g. {['background'] + ['class'] * (n_outputs - 1)}."
        )
    return in_shape[-1], [str(c) for c in class_names]


def _test_input(test_image, n_channels, n_poolings, rescaling):
    """Return the test image as raw pixels (what a tool feeds) and rescaled (what the model sees), (1, H, W, C)."""
    image = np.asarray(test_image)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim != 3 or image.shape[-1] != n_channels:
        raise ValueError(f"test_image: shape {image.shape}; the model takes (height, width, {n_channels}).")
    step = 2**n_poolings
    height, width = image.shape[:2]
    if height % step or width % step:
        raise ValueError(
            f"test_image: {height} x {width} pixels; a U-Net with {n_poolings} poolings needs multiples "
            f"of {step}. Crop it, e.g. test_image[:{height // step * step}, :{width // step * step}]."
        )
    divisor = imageio.RULE_DIVISORS.get(rescaling)
    if divisor is None:  # own minimum to maximum: the reader's rule must be the package's
        if imageio.scaling_rule(image) != rescaling:
            raise ValueError(
                f"test_image: the reader rescales it by {imageio.scaling_rule(image)!r}, not {rescaling!r}; "
                f"give the raw pixels of a training-like file (imageio.read_pixels)."
            )
        return image[np.newaxis].astype(np.float32), imageio.scale_to_unit(image)[np.newaxis]
    if image.dtype.kind == "f" and divisor > 1 and image.size and 0 <= image.min() and image.max() <= 1:
        image = np.round(image * divisor)  # the reader's [0, 1] image, back to the stored values
    if image.size and (image.min() < 0 or image.max() > divisor):
        raise ValueError(
            f"test_image: values {image.min()} to {image.max()} do not fit rescaling={rescaling!r}. Give the "
            f"raw pixels (imageio.read_pixels) and rescaling=imageio.scaling_rule(those pixels)."
        )
    raw = image[np.newaxis].astype(np.float32)
    return raw, raw * np.float32(1 / divisor)  # the package's scale_linear


def _write_cover(work, scaled, probabilities, threshold, cover):
    """The test image beside its result (the mask by the threshold rule, or the classes in the course's colours)."""
    target = work / "cover.png"
    if cover is not None:
        shutil.copyfile(cover, target)
        return target.name
    from matplotlib import image as mpl_image
    from skimage.transform import resize

    picture = scaled[0] / max(float(scaled.max()), 1e-6)
    if probabilities.shape[-1] == 1:
        result = foreground(probabilities[0], float(threshold)).astype(np.float32)
    else:
        result = label_maps.color_labels(np.argmax(probabilities[0], axis=-1), probabilities.shape[-1])
    halves = [resize(imageio.as_channels(p, 3), (256, 256), order=0, anti_aliasing=False) for p in (picture, result)]
    mpl_image.imsave(target, np.clip(np.concatenate(halves, axis=1), 0, 1))
    return target.name


@contextlib.contextmanager
def _quiet_tools():
    """No TensorFlow INFO lines ("Assets written to ...") and no Keras progress bars inside."""
    import logging

    import keras

    logger = logging.getLogger("tensorflow")
    level, interactive = logger.level, keras.config.is_interactive_logging_enabled()
    logger.setLevel(logging.WARNING)
    keras.config.disable_interactive_logging()
    try:
        yield
    finally:
        logger.setLevel(level)
        if interactive:
            keras.config.enable_interactive_logging()


def _write_saved_model_zip(model, zip_path):
    """Write a zipped TensorFlow SavedModel whose 'serving_default' signature maps INPUT_ID to OUTPUT_ID."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, None, None, model.input_shape[-1]), tf.float32, name=INPUT_ID)
    module = tf.Module()
    module.model = model

    @tf.function(input_signature=[spec])
    def serve(raw):
        return {OUTPUT_ID: model(raw, training=False)}

    module.serve = serve
    with tempfile.TemporaryDirectory(prefix="saved-model-") as tmp, _quiet_tools():
        tf.saved_model.save(module, tmp, signatures={"serving_default": serve})
        shutil.make_archive(str(Path(zip_path).with_suffix("")), "zip", root_dir=tmp)


def _versions():
    return {"python": platform.python_version(), **package_versions(("tensorflow", "keras", "numpy"))}


def _channel_names(n_channels):
    return {1: ["grey"], 3: ["red", "green", "blue"]}.get(n_channels) or [f"channel{i}" for i in range(n_channels)]


def _binarize_threshold(threshold):
    """bioimage.io's binarize keeps ``value > t``, the course ``probability >= threshold``: for float32
    probabilities the two agree when t is the float32 just below the threshold. Said here only."""
    return float(np.nextafter(np.float32(threshold), np.float32(0)))


def _axes(size, channel_names):
    return (
        [{"type": "batch"}]
        + [{"type": "space", "id": a, "size": size(a)} for a in ("y", "x")]
        + [{"type": "channel", "channel_names": list(channel_names)}]
    )


def _model_rdf(facts, preprocessing, authors, license, citations, tags, cover, weights):
    step = 2**facts.n_poolings
    binary = len(facts.class_names) == 1
    if facts.binarize_output:
        output_text = "mask 0/1 (probability >= threshold)"
    else:
        output_text = "probability of foreground" if binary else "probability of each class (softmax); take the argmax"
    return {
        "format_version": "0.5.12",
        "type": "model",
        "name": facts.name,
        "description": facts.description,
        "authors": [{"name": a} if isinstance(a, str) else {k: v for k, v in dict(a).items() if v} for a in authors],
        "cite": [dict(UNET_CITATION)] + [dict(c) for c in citations],
        "license": license,
        "tags": list(tags),
        "covers": [{"source": cover}],
        "documentation": {"source": "README.md"},
        "inputs": [
            {
                "id": INPUT_ID,
                "description": f"raw image, rescaled by the course's rule {facts.rescaling!r}",
                "axes": _axes(lambda axis: {"min": step, "step": step}, _channel_names(facts.n_channels)),
                "test_tensor": {"source": "test_input.npy"},
                "preprocessing": preprocessing,
            }
        ],
        "outputs": [
            {
                "id": OUTPUT_ID,
                "description": output_text,
                "axes": _axes(lambda axis: {"tensor_id": INPUT_ID, "axis_id": axis}, facts.class_names),
                "test_tensor": {"source": "test_output.npy"},
                "postprocessing": (
                    [{"id": "binarize", "kwargs": {"threshold": _binarize_threshold(facts.threshold)}}]
                    if facts.binarize_output
                    else []
                ),
            }
        ],
        "weights": weights,
        "config": {
            "unet_course": {
                "n_poolings": facts.n_poolings,
                "rescaling": facts.rescaling,
                "class_names": list(facts.class_names),
                "threshold": None if facts.threshold is None else float(facts.threshold),
                "postprocessing": "probability >= threshold" if binary else "argmax over channels",
            }
        },
    }


def _documentation(facts, training_data, scores, methods, weight_formats):
    if len(facts.class_names) > 1:
        classes = ", ".join(f"{i} = {c}" for i, c in enumerate(facts.class_names))
        output = f"One probability per class (softmax): {classes}. A pixel's class is the most probable one (argmax)."
    else:
        applied = "the package applies it" if facts.binarize_output else "the package returns the probabilities"
        output = f"Foreground where probability >= {float(facts.threshold):.3g} (chosen on validation); {applied}."
    table = "\n".join(
        f"| {key} | {value:.4g} |" if isinstance(value, (int, float)) else f"| {key} | {value} |"
        for key, value in scores.items()
    )
    return f"""# {facts.name}

{facts.description}

## Input and output

{"/".join(_channel_names(facts.n_channels))} image of any height and width that are multiples of {2**facts.n_poolings}
({facts.n_poolings} poolings). The package rescales the raw pixels by the course's rule "{facts.rescaling}".

{output}

## Training data

{training_data}

## Methods

{methods}

## Test scores (images used neither for training nor for choosing the threshold)

| score | value |
|---|---|
{table}

## Weights and citation

{", ".join(weight_formats)}, written by the U-Net course's `helpers.export` on {datetime.date.today().isoformat()}.
Cite Ronneberger, Fischer, Brox (2015), U-Net, MICCAI, doi:10.1007/978-3-319-24574-4_28, and the data's citation.
"""


# ----------------------------------------------------------------------------------------
# Round trip through bioimageio.spec and bioimageio.core


@contextlib.contextmanager
def _offline_bioimageio(cache_folder):
    """Point bioimageio's cache at ``cache_folder`` and restore it afterwards."""
    from bioimageio.spec import settings

    saved = settings.cache_path
    settings.cache_path = Path(cache_folder)
    try:
        yield settings
    finally:
        settings.cache_path = saved


def _raise_on_errors(descr, what):
    from bioimageio.spec import InvalidDescr

    summary = descr.validation_summary
    if isinstance(descr, InvalidDescr) or summary.status == "failed":
        problems = [f"{'.'.join(str(p) for p in e.loc)}: {e.msg}" for e in summary.errors]
        raise CorruptModelError(
            f"{what} is not a valid bioimage.io model:\n  " + "\n  ".join(problems or [summary.format()])
        )


def validate_package(path):
    """Validate a package with ``bioimageio.spec`` (every field, every file's sha256); return its description.

    Raises ``CorruptModelError`` listing every problem (a missing or altered file by name).
    """
    from bioimageio.spec import load_description

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No package at {str(path)!r}: check the path.")
    if zipfile.is_zipfile(path):
        _check_listed_files_present(path)
    with tempfile.TemporaryDirectory(prefix="bioimageio-cache-") as cache, _offline_bioimageio(cache):
        try:
            descr = load_description(path, perform_io_checks=True)
        except (KeyError, zipfile.BadZipFile, OSError) as error:
            raise CorruptModelError(f"{path.name}: cannot read the package ({error}).") from error
    _raise_on_errors(descr, str(path.name))
    return descr


def _check_listed_files_present(path):
    """Name every file the package's description lists but its zip lacks (the library's message does not)."""
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        rdf = next((n for n in ("bioimageio.yaml", "rdf.yaml") if n in names), None)
        if rdf is None:
            raise CorruptModelError(f"{path.name}: no bioimageio.yaml or rdf.yaml inside: not a bioimage.io package.")
        listed = re.findall(r"source:\s*['\"]?([^'\"\s]+)", archive.read(rdf).decode("utf-8", "replace"))
    missing = sorted({source for source in listed if "://" not in source} - names)
    if missing:
        raise CorruptModelError(
            f"{path.name}: listed in {rdf} but missing from the zip: {', '.join(missing)}. "
            f"Export the model again (or copy the whole zip)."
        )


def predict_with_package(path, image, *, weight_format="keras_v3"):
    """Predict one image of raw pixels, (H, W[, C]) or (1, H, W, C), with a package through
    ``bioimageio.core`` as the tools do; return its output, float32 (1, H, W, K).

    ``weight_format`` is ``"keras_v3"`` or ``"tensorflow_saved_model_bundle"``.
    """
    from bioimageio.core import create_prediction_pipeline, load_description, predict
    from bioimageio.core import settings as core_settings

    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim == 3:
        image = image[np.newaxis]
    core_settings.keras_backend = "tensorflow"  # the course trains with Keras on TensorFlow
    with (
        tempfile.TemporaryDirectory(prefix="bioimageio-run-") as work,
        _offline_bioimageio(Path(work) / "cache"),
        contextlib.chdir(work),  # bioimageio.core unzips TensorFlow weights into the current folder
    ):
        descr = load_description(Path(path).resolve(), perform_io_checks=False)
        _raise_on_errors(descr, Path(path).name)
        with _quiet_tools():
            pipeline = create_prediction_pipeline(descr, weight_format=weight_format)
            sample = predict(model=pipeline, inputs={INPUT_ID: image})
        result = sample.members[OUTPUT_ID].data.transpose("batch", "y", "x", "channel")
        return np.asarray(result.values, dtype=np.float32)


def check_package_predictions(path, *, tolerance=1e-4, weight_formats=None):
    """Validate a package, predict its test input with each weight format, compare with its test output.

    Returns ``{weight format: largest absolute difference}``; raises AssertionError (naming the
    format) if one differs by more than ``tolerance``.
    """
    descr = validate_package(path)
    formats = weight_formats or [f for f, entry in descr.weights if entry is not None]
    with zipfile.ZipFile(path) as archive:
        test_input, test_output = (np.load(archive.open(f"test_{kind}.npy")) for kind in ("input", "output"))
    differences = {}
    for weight_format in formats:
        predicted = predict_with_package(path, test_input, weight_format=weight_format)
        differences[weight_format] = float(np.max(np.abs(predicted - test_output)))
    too_far = {f: d for f, d in differences.items() if not d <= tolerance}
    if too_far:
        raise AssertionError(
            f"{Path(path).name}: predictions differ from the package's test output by {too_far} (allowed {tolerance})."
        )
    return differences


# ----------------------------------------------------------------------------------------
# Plain reload: model.keras + manifest.json


def save_model(model, folder, *, rescaling=COURSE_RESCALING, class_names=None, threshold=None, extra_files=()):
    """Save ``model.keras`` and ``manifest.json`` (versions, sha256 of every file, how to use it) in a
    new folder (``folder-2`` ... if it exists); return it. ``rescaling`` as for :func:`export_bioimageio`;
    ``extra_files`` (e.g. history.csv) are copied beside the model and listed.
    """
    _preprocessing(rescaling)  # refuses an unknown rule before anything is written
    folder = imageio.new_folder(folder)
    model.save(folder / _KERAS_FILE)
    for extra in extra_files:
        shutil.copyfile(extra, folder / Path(extra).name)
    manifest = {
        "versions": _versions(),
        "files": {p.name: file_sha256(p) for p in sorted(folder.iterdir()) if p.is_file()},
        "rescaling": rescaling,
        "class_names": None if class_names is None else [str(c) for c in class_names],
        "threshold": None if threshold is None else float(threshold),
        "saved": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    (folder / _MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


def load_model(folder):
    """Check every file of a :func:`save_model` folder against its sha256, then load the model.

    Returns ``(model, manifest)``; raises ``CorruptModelError`` naming a missing or altered file.
    """
    import keras

    folder = Path(folder)
    manifest_path = folder / _MANIFEST
    if not manifest_path.is_file():
        raise CorruptModelError(
            f"{str(manifest_path)!r} is missing: this is not a folder written by export.save_model "
            f"(or its manifest was deleted)."
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if _KERAS_FILE not in manifest["files"]:
        raise CorruptModelError(f"{_MANIFEST} in {str(folder)!r} does not list {_KERAS_FILE}.")
    for name, expected in manifest["files"].items():
        file = folder / name
        if not file.is_file():
            raise CorruptModelError(f"{str(file)!r} is missing (listed in {_MANIFEST}); copy the whole folder again.")
        if file_sha256(file) != expected:
            raise CorruptModelError(
                f"{str(file)!r} was altered: its sha256 differs from {_MANIFEST}. "
                f"Copy the file again from the original folder."
            )
    return keras.models.load_model(folder / _KERAS_FILE), manifest
