"""Take a trained U-Net out of the notebook: a bioimage.io package for Fiji, napari, the Model Zoo.

Two ways to keep a model, both checked by a round trip:

* :func:`export_bioimageio` writes a **bioimage.io model package** (a zip, model spec 0.5), the
  format that deepImageJ (Fiji), napari's bioimage.io plugins, QuPath, ilastik and the
  BioImage Model Zoo read. :func:`validate_package` checks it with ``bioimageio.spec`` and
  :func:`check_package_predictions` reloads it with ``bioimageio.core`` and compares its
  predictions with the test output stored inside.
* :func:`save_model` writes ``model.keras`` plus ``manifest.json`` (library versions, the
  sha256 of every file, preprocessing, class names, threshold); :func:`load_model` refuses a
  folder whose files are missing or altered before it loads anything.

Weight formats written into the package: ``keras_v3`` (the ``.keras`` file, read by
``bioimageio.core`` and so by the Python tools) and ``tensorflow_saved_model_bundle`` (a zipped
TensorFlow SavedModel, the TensorFlow format deepImageJ 3 runs through JDLL). ONNX needs
``tf2onnx``, which the course does not install; it is not written.

The preprocessing stored in the package matches the course's reader: pixel values are scaled
to [0, 1] like the course's reader does it (8-bit / 255, 16-bit / 65535), so a tool that feeds
the raw image gets the numbers the model was trained on.

``bioimageio.spec`` and ``bioimageio.core`` are imported inside the functions that need them,
so ``import helpers.export`` stays light.
"""

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = [
    "UNET_CITATION",
    "COURSE_PREPROCESSING",
    "INPUT_ID",
    "OUTPUT_ID",
    "unet_depth",
    "accepted_sizes",
    "new_package_path",
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
#: The course's reader: raw pixel values divided by the largest value of their type.
COURSE_PREPROCESSING = "scale to [0, 1] like the course's reader: 8-bit / 255, 16-bit / 65535"
#: Tensor names inside the package.
INPUT_ID = "raw"
OUTPUT_ID = "probability"

_MANIFEST = "manifest.json"
_KERAS_FILE = "model.keras"
_PIXEL_MAX = {8: 255, 16: 65535}


class CorruptModelError(ValueError):
    """A saved model folder or package has a missing or altered file."""


# ----------------------------------------------------------------------------------------
# What the model accepts


def unet_depth(model):
    """Count the poolings of a course U-Net: sizes must be divisible by ``2**depth``.

    Parameters
    ----------
    model : keras.Model
        A 2-D U-Net (for example from :func:`helpers.models.build_unet`).

    Returns
    -------
    int
        The number of ``MaxPooling2D`` layers.
    """
    return sum(1 for layer in model.layers if type(layer).__name__ == "MaxPooling2D")


def accepted_sizes(depth, up_to):
    """List the image side lengths a package of a U-Net of this depth accepts, up to ``up_to``.

    The package states ``min = step = 2**depth``: sizes ``2**depth * n`` for n = 1, 2, ...

    Parameters
    ----------
    depth : int
        Number of poolings of the U-Net.
    up_to : int
        Largest side length to list.

    Returns
    -------
    list of int
    """
    step = 2 ** int(depth)
    return list(range(step, int(up_to) + 1, step))


def new_package_path(folder, name, suffix=".zip"):
    """Return ``folder/name.zip``, or ``name-2.zip``, ``name-3.zip`` ... if it exists already.

    Parameters
    ----------
    folder : str or pathlib.Path
        Where the package goes (created if missing).
    name : str
        File name without suffix.
    suffix : str
        ``".zip"`` for a package, ``""`` for a folder.

    Returns
    -------
    pathlib.Path
        A path that does not exist yet: nothing earlier is overwritten.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    candidate = folder / f"{name}{suffix}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{name}-{number}{suffix}"
        number += 1
    return candidate


def _safe_file_name(name):
    keep = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip().lower())
    return "-".join(part for part in keep.split("-") if part) or "model"


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
    pixel_bits=8,
    license="CC-BY-4.0",
    cover=None,
    binarize_output=False,
    saved_model=True,
    tags=("segmentation", "unet", "2d"),
):
    """Write a bioimage.io model package (zip, spec 0.5) for a trained 2-D U-Net of the course.

    Parameters
    ----------
    model : keras.Model
        The trained U-Net: input (None, None, C) with C = 1 (grey) or 3 (colour); output one
        sigmoid channel (binary) or K softmax channels (K classes).
    folder : str or pathlib.Path
        Folder for the package; the zip gets a new name there (``-2``, ``-3`` ... if needed).
    name : str
        Human-readable model name (letters, digits, spaces, ``-_()``).
    description : str
        One or two sentences: what the model segments.
    test_image : ndarray
        One real image, (H, W) or (H, W, C): float in [0, 1] as the course's reader gives it,
        or the raw 8/16-bit integers. H and W must be multiples of ``2**depth``.
    authors : list of dict or str
        ``{"name": ..., "affiliation": ..., "github_user": ...}`` or plain names.
    training_data : str
        What the model was trained on (name, source, size); goes into the documentation.
    scores : dict
        Test scores, e.g. ``{"IoU (test)": 0.83}``; goes into the documentation.
    methods : str
        The methods paragraph (how it was trained), written into the documentation as given.
    citations : sequence of dict
        Extra citations ``{"text": ..., "doi": ...}`` or ``{"text": ..., "url": ...}``, e.g. the
        data's paper. Ronneberger et al. 2015 is always added.
    threshold : float, optional
        Binary models: the threshold chosen on validation. Required for a one-channel output.
    class_names : sequence of str, optional
        K-class models: one name per output channel (class 0 first). Required for K > 1.
    pixel_bits : {8, 16}
        Bit depth of the raw images: the package divides by 255 or 65535 (the course's reader).
    license : str
        SPDX identifier of the package's license.
    cover : str or pathlib.Path, optional
        A PNG cover; by default one is drawn from the test image and its prediction.
    binarize_output : bool
        Binary models only: add the threshold as the package's postprocessing (the tools then
        return a 0/1 mask instead of probabilities). Default False: probabilities, with the
        threshold stated in the documentation and in ``config``.
    saved_model : bool
        Also write the TensorFlow SavedModel weights (zipped), which deepImageJ reads.
    tags : sequence of str
        Keywords for the Model Zoo.

    Returns
    -------
    pathlib.Path
        The new zip file.

    Raises
    ------
    ValueError
        If an argument does not fit the model (names the argument and the fix).
    """
    from bioimageio.spec import ValidationContext, build_description, save_bioimageio_package

    shape = _check_model(model)
    n_in, n_out = shape
    depth = unet_depth(model)
    class_names = _check_outputs(n_out, threshold, class_names, binarize_output)
    if pixel_bits not in _PIXEL_MAX:
        raise ValueError(f"pixel_bits={pixel_bits!r}: use 8 (values / 255) or 16 (values / 65535).")
    raw = _raw_test_input(test_image, n_in, depth, _PIXEL_MAX[pixel_bits])
    probabilities = _predict_scaled(model, raw, _PIXEL_MAX[pixel_bits])
    output = probabilities
    if binarize_output:  # bioimage.io's binarize keeps values above the threshold (>), not the course's >=
        output = (probabilities > threshold).astype(np.float32)

    zip_path = new_package_path(folder, _safe_file_name(name))
    with tempfile.TemporaryDirectory(prefix="bioimageio-export-") as work:
        work = Path(work)
        np.save(work / "test_input.npy", raw)
        np.save(work / "test_output.npy", output)
        cover_file = _write_cover(work, raw, probabilities, threshold, cover)
        model.save(work / _KERAS_FILE)
        weights = {"keras_v3": _keras_weights_entry()}
        if saved_model:
            _write_saved_model_zip(model, work / "tf_saved_model.zip")
            weights["tensorflow_saved_model_bundle"] = _saved_model_entry()
        facts = _ModelFacts(name, description, depth, n_in, class_names, threshold, pixel_bits, binarize_output)
        (work / "README.md").write_text(
            _documentation(facts, training_data, scores, methods, sorted(weights)), encoding="utf-8"
        )
        rdf = _model_rdf(
            facts,
            authors=authors,
            license=license,
            citations=citations,
            tags=tags,
            cover=cover_file,
            weights=weights,
        )
        with _offline_bioimageio(work / "cache"):
            context = ValidationContext(root=work, perform_io_checks=True)
            descr = build_description(rdf, context=context)
            _raise_on_errors(descr, f"the package for {name!r}")
            save_bioimageio_package(descr, output_path=zip_path)
    return zip_path


def _check_model(model):
    in_shape = tuple(model.input_shape)
    out_shape = tuple(model.output_shape)
    if len(in_shape) != 4 or len(out_shape) != 4:
        raise ValueError(
            f"model: expected a 2-D U-Net with input (batch, height, width, "
            f"channels); got input {in_shape} and output {out_shape}."
        )
    if in_shape[-1] not in (1, 3):
        raise ValueError(f"model: input has {in_shape[-1]} channels; the course's models take 1 (grey) or 3 (colour).")
    return in_shape[-1], out_shape[-1]


def _check_outputs(n_out, threshold, class_names, binarize_output):
    if n_out == 1:
        if threshold is None:
            raise ValueError("threshold: a binary model needs the threshold chosen on validation, e.g. threshold=0.5.")
        if not 0.0 < float(threshold) < 1.0:
            raise ValueError(f"threshold={threshold!r}: must lie between 0 and 1.")
        return list(class_names) if class_names else ["foreground"]
    if binarize_output:
        raise ValueError("binarize_output=True is for binary models; a K-class model uses argmax.")
    if class_names is None or len(class_names) != n_out:
        raise ValueError(
            f"class_names: the model has {n_out} output channels; give {n_out} "
            f"names, class 0 first, e.g. {['background'] + ['class'] * (n_out - 1)}."
        )
    return [str(c) for c in class_names]


def _raw_test_input(test_image, n_in, depth, pixel_max):
    image = np.asarray(test_image)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim != 3 or image.shape[-1] != n_in:
        raise ValueError(f"test_image: shape {image.shape}; the model takes (height, width, {n_in}).")
    step = 2**depth
    if image.shape[0] % step or image.shape[1] % step:
        raise ValueError(
            f"test_image: {image.shape[0]} x {image.shape[1]} pixels; a U-Net of "
            f"depth {depth} needs multiples of {step}. Crop it, e.g. "
            f"test_image[:{image.shape[0] // step * step}, :{image.shape[1] // step * step}]."
        )
    if np.issubdtype(image.dtype, np.floating):
        if image.min() < 0 or image.max() > 1:
            raise ValueError(
                "test_image: float values must lie in [0, 1] (the course's reader); or give the raw 8/16-bit integers."
            )
        image = np.round(image * pixel_max)
    elif image.max() > pixel_max:
        raise ValueError(f"test_image: values up to {image.max()} do not fit pixel_bits ({pixel_max} is the largest).")
    return image[np.newaxis].astype(np.float32)


def _predict_scaled(model, raw, pixel_max):
    scaled = (raw / np.float32(pixel_max)).astype(np.float32)
    return np.asarray(model.predict_on_batch(scaled), dtype=np.float32)


def _write_cover(work, raw, probabilities, threshold, cover):
    target = work / "cover.png"
    if cover is not None:
        shutil.copyfile(cover, target)
        return target.name
    from matplotlib import image as mpl_image

    picture = raw[0] / max(float(raw.max()), 1.0)
    picture = np.repeat(picture, 3, axis=-1) if picture.shape[-1] == 1 else picture
    if probabilities.shape[-1] == 1:
        mask = (probabilities[0, ..., 0] > threshold).astype(np.float32)
        result = np.stack([mask] * 3, axis=-1)
    else:
        labels = np.argmax(probabilities[0], axis=-1)
        palette = (
            np.array(
                [
                    [0, 0, 0],
                    [230, 159, 0],
                    [86, 180, 233],
                    [0, 158, 115],
                    [240, 228, 66],
                    [0, 114, 178],
                    [213, 94, 0],
                    [204, 121, 167],
                ]
            )
            / 255
        )
        result = palette[labels % len(palette)]
    side = 256
    mpl_image.imsave(target, np.concatenate([_square(picture, side), _square(result, side)], axis=1))
    return target.name


def _square(picture, side):
    """Nearest-neighbour resample to side x side (the cover is 2:1, image left, result right)."""
    rows = np.arange(side) * picture.shape[0] // side
    cols = np.arange(side) * picture.shape[1] // side
    return np.clip(picture[rows][:, cols], 0, 1)


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
    """Write a TensorFlow SavedModel whose 'serving_default' signature maps INPUT_ID to OUTPUT_ID."""
    import tensorflow as tf

    channels = model.input_shape[-1]
    spec = tf.TensorSpec((None, None, None, channels), tf.float32, name=INPUT_ID)
    module = tf.Module()
    module.model = model

    @tf.function(input_signature=[spec])
    def serve(raw):
        return {OUTPUT_ID: model(raw, training=False)}

    module.serve = serve
    with tempfile.TemporaryDirectory(prefix="saved-model-") as tmp:
        folder = Path(tmp) / "saved_model"
        with _quiet_tools():
            tf.saved_model.save(module, str(folder), signatures={"serving_default": serve})
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(folder).as_posix())


def _versions():
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def _keras_weights_entry():
    versions = _versions()
    return {
        "source": _KERAS_FILE,
        "keras_version": versions["keras"],
        "backend": ["tensorflow", versions["tensorflow"]],
        "comment": "Keras 3 .keras file saved by model.save() after training.",
    }


def _saved_model_entry():
    return {
        "source": "tf_saved_model.zip",
        "tensorflow_version": _versions()["tensorflow"],
        "parent": "keras_v3",
        "comment": "tf.saved_model.save: signature 'serving_default', input 'raw', output 'probability'; zipped.",
    }


def _person(author):
    if isinstance(author, str):
        return {"name": author}
    return {key: value for key, value in dict(author).items() if value}


@dataclasses.dataclass(frozen=True)
class _ModelFacts:
    """What both the package's description (rdf) and its README say about the model."""

    name: str
    description: str
    depth: int
    n_in: int
    class_names: list
    threshold: float | None
    pixel_bits: int
    binarize_output: bool


def _model_rdf(facts, *, authors, license, citations, tags, cover, weights):
    step = 2**facts.depth
    gain = 1.0 / _PIXEL_MAX[facts.pixel_bits]
    in_channels = ["grey"] if facts.n_in == 1 else ["red", "green", "blue"]
    input_tensor = {
        "id": INPUT_ID,
        "description": f"raw {facts.pixel_bits}-bit image, {'grey' if facts.n_in == 1 else 'RGB colour'}",
        "axes": [
            {"type": "batch"},
            {"type": "space", "id": "y", "size": {"min": step, "step": step}},
            {"type": "space", "id": "x", "size": {"min": step, "step": step}},
            {"type": "channel", "channel_names": in_channels},
        ],
        "test_tensor": {"source": "test_input.npy"},
        "preprocessing": [
            {"id": "ensure_dtype", "kwargs": {"dtype": "float32"}},
            {"id": "scale_linear", "kwargs": {"gain": gain, "offset": 0.0}},
        ],
    }
    output_post = []
    if facts.binarize_output:
        output_post = [{"id": "binarize", "kwargs": {"threshold": float(facts.threshold)}}]
    output_tensor = {
        "id": OUTPUT_ID,
        "description": (
            "probability of foreground"
            if len(facts.class_names) == 1 and not facts.binarize_output
            else "mask 0/1 (probability > threshold)"
            if facts.binarize_output
            else "probability of each class (softmax); take the argmax"
        ),
        "axes": [
            {"type": "batch"},
            {"type": "space", "id": "y", "size": {"tensor_id": INPUT_ID, "axis_id": "y"}},
            {"type": "space", "id": "x", "size": {"tensor_id": INPUT_ID, "axis_id": "x"}},
            {"type": "channel", "channel_names": list(facts.class_names)},
        ],
        "test_tensor": {"source": "test_output.npy"},
        "postprocessing": output_post,
    }
    cite = [dict(UNET_CITATION)] + [dict(c) for c in citations]
    course_config = {
        "depth": facts.depth,
        "preprocessing": COURSE_PREPROCESSING,
        "pixel_bits": facts.pixel_bits,
        "class_names": list(facts.class_names),
        "threshold": None if facts.threshold is None else float(facts.threshold),
        "postprocessing": ("probability > threshold" if len(facts.class_names) == 1 else "argmax over channels"),
    }
    return {
        "format_version": "0.5.12",
        "type": "model",
        "name": facts.name,
        "description": facts.description,
        "authors": [_person(a) for a in authors],
        "cite": cite,
        "license": license,
        "tags": list(tags),
        "covers": [{"source": cover}],
        "documentation": {"source": "README.md"},
        "inputs": [input_tensor],
        "outputs": [output_tensor],
        "weights": weights,
        "config": {"unet_course": course_config},
    }


def _documentation(facts, training_data, scores, methods, weight_formats):
    step = 2**facts.depth
    score_lines = "\n".join(
        f"| {key} | {value:.4g} |" if isinstance(value, (int, float)) else f"| {key} | {value} |"
        for key, value in scores.items()
    )
    if len(facts.class_names) == 1:
        post = (
            f"The output is the probability of foreground. Pixels with probability > "
            f"{float(facts.threshold):.3g} (chosen on validation images) are foreground"
            + (
                " (the package applies this threshold itself)."
                if facts.binarize_output
                else "; the package returns the probabilities, apply the threshold yourself."
            )
        )
    else:
        post = (
            "The output has one probability per class (softmax), in this order: "
            + ", ".join(f"{i} = {c}" for i, c in enumerate(facts.class_names))
            + ". The label of a pixel is the channel with the largest probability (argmax); "
            "the model spec 0.5 has no argmax step, so tools show the probabilities."
        )
    return f"""# {facts.name}

{facts.description}

## Input

{"Grey (1 channel)" if facts.n_in == 1 else "RGB colour (3 channels)"} {facts.pixel_bits}-bit images. Preprocessing
(in the package): {COURSE_PREPROCESSING} (this package: / {_PIXEL_MAX[facts.pixel_bits]}).
Height and width must be multiples of {step} (the U-Net has {facts.depth} poolings); tools that tile
use tiles of {step} * n pixels.

## Output

{post}

## Training data

{training_data}

## Methods

{methods}

## Validation

Scores on test images never used for training or for choosing the threshold:

| score | value |
|---|---|
{score_lines}

## Weights

Formats in this package: {", ".join(weight_formats)}. Written by the U-Net course's
`helpers.export` on {datetime.date.today().isoformat()}.

## Citation

Ronneberger, Fischer, Brox (2015), U-Net, MICCAI, doi:10.1007/978-3-319-24574-4_28, and the
data's citation listed in the package.
"""


# ----------------------------------------------------------------------------------------
# Round trip through bioimageio.spec and bioimageio.core


@contextlib.contextmanager
def _offline_bioimageio(cache_folder):
    """Point bioimageio's cache at ``cache_folder`` and restore its settings afterwards."""
    from bioimageio.spec import settings

    saved = {"cache_path": settings.cache_path}
    settings.cache_path = Path(cache_folder)
    try:
        yield settings
    finally:
        for key, value in saved.items():
            setattr(settings, key, value)


def _raise_on_errors(descr, what):
    from bioimageio.spec import InvalidDescr

    summary = descr.validation_summary
    if isinstance(descr, InvalidDescr) or summary.status == "failed":
        problems = [f"{'.'.join(str(p) for p in e.loc)}: {e.msg}" for e in summary.errors]
        raise CorruptModelError(
            f"{what} is not a valid bioimage.io model:\n  " + "\n  ".join(problems or [summary.format()])
        )


def validate_package(path):
    """Validate a package with ``bioimageio.spec`` (format and every file's sha256).

    Parameters
    ----------
    path : str or pathlib.Path
        The package zip (or its ``bioimageio.yaml``).

    Returns
    -------
    bioimageio.spec.model.v0_5.ModelDescr
        The loaded description.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CorruptModelError
        If validation reports any error; the message lists every problem.
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
    """Name every file the package's rdf lists but its zip lacks (the library's message does not)."""
    import ruyaml

    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        rdf_names = [n for n in ("bioimageio.yaml", "rdf.yaml") if n in names]
        if not rdf_names:
            raise CorruptModelError(
                f"{path.name}: no bioimageio.yaml or rdf.yaml inside: this is not a bioimage.io package."
            )
        rdf = ruyaml.YAML(typ="safe", pure=True).load(archive.read(rdf_names[0]))
    missing = sorted(source for source in _sources(rdf) if "://" not in source and source not in names)
    if missing:
        raise CorruptModelError(
            f"{path.name}: listed in {rdf_names[0]} but missing from the zip: "
            f"{', '.join(missing)}. Export the model again (or copy the "
            f"whole zip)."
        )


def _sources(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "source" and isinstance(value, str):
                yield value
            else:
                yield from _sources(value)
    elif isinstance(node, list):
        for value in node:
            yield from _sources(value)


@contextlib.contextmanager
def _in_folder(folder):
    """Run in ``folder``: bioimageio.core unzips TensorFlow weights into the current folder."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _keras_backend_tensorflow():
    from bioimageio.core import settings

    settings.keras_backend = "tensorflow"  # the course trains with Keras on TensorFlow


def predict_with_package(path, image, *, weight_format="keras_v3"):
    """Predict one raw image with a package, through ``bioimageio.core`` (as the tools do).

    Parameters
    ----------
    path : str or pathlib.Path
        The package zip.
    image : ndarray
        (H, W) or (H, W, C) raw pixel values (the package scales them itself), or a
        (1, H, W, C) tensor.
    weight_format : str
        ``"keras_v3"`` or ``"tensorflow_saved_model_bundle"``.

    Returns
    -------
    ndarray of float32, shape (1, H, W, K)
        The package's output (after its postprocessing).
    """
    from bioimageio.core import create_prediction_pipeline, load_description, predict

    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim == 3:
        image = image[np.newaxis]
    _keras_backend_tensorflow()
    with (
        tempfile.TemporaryDirectory(prefix="bioimageio-run-") as work,
        _offline_bioimageio(Path(work) / "cache"),
        _in_folder(work),
    ):
        descr = load_description(Path(path).resolve(), perform_io_checks=False)
        _raise_on_errors(descr, Path(path).name)
        with _quiet_tools():
            pipeline = create_prediction_pipeline(descr, weight_format=weight_format)
            sample = predict(model=pipeline, inputs={INPUT_ID: image})
        result = sample.members[OUTPUT_ID].data.transpose("batch", "y", "x", "channel")
        return np.asarray(result.values, dtype=np.float32)


def check_package_predictions(path, *, tolerance=1e-4, weight_formats=None):
    """Reload a package with ``bioimageio.core``, predict its test input, compare with its test output.

    Parameters
    ----------
    path : str or pathlib.Path
        The package zip.
    tolerance : float
        Largest absolute difference allowed.
    weight_formats : sequence of str, optional
        Formats to check; by default every format in the package.

    Returns
    -------
    dict
        ``{weight format: largest absolute difference}``.

    Raises
    ------
    AssertionError
        If a format differs by more than ``tolerance`` (names the format and the difference).
    """
    descr = validate_package(path)
    formats = weight_formats or [f for f, entry in descr.weights if entry is not None]
    with zipfile.ZipFile(path) as archive:
        with archive.open("test_input.npy") as f:
            test_input = np.load(f)
        with archive.open("test_output.npy") as f:
            test_output = np.load(f)
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


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model, folder, *, preprocessing=COURSE_PREPROCESSING, class_names=None, threshold=None, extra_files=()):
    """Save ``model.keras`` and ``manifest.json`` (versions, sha256 of every file, how to use it).

    Parameters
    ----------
    model : keras.Model
        The trained model.
    folder : str or pathlib.Path
        A NEW folder (it must not exist, or be empty): nothing earlier is overwritten.
    preprocessing : str
        How images are prepared before the model (stated in the manifest).
    class_names : sequence of str, optional
        One name per output channel.
    threshold : float, optional
        The threshold chosen on validation (binary models).
    extra_files : sequence of path
        Files copied next to the model and listed in the manifest (e.g. history.csv).

    Returns
    -------
    pathlib.Path
        The manifest file.

    Raises
    ------
    FileExistsError
        If ``folder`` holds files already.
    """
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(
            f"{str(folder)!r} holds files already; save_model never overwrites. "
            f"Choose a new folder, e.g. with export.new_package_path(parent, name, '')."
        )
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / _KERAS_FILE)
    for extra in extra_files:
        shutil.copyfile(extra, folder / Path(extra).name)
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    manifest = {
        "versions": _versions(),
        "files": {name: _sha256(folder / name) for name in files},
        "preprocessing": preprocessing,
        "class_names": None if class_names is None else [str(c) for c in class_names],
        "threshold": None if threshold is None else float(threshold),
        "saved": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    path = folder / _MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def load_model(folder):
    """Check every file of a :func:`save_model` folder against its sha256, then load the model.

    Parameters
    ----------
    folder : str or pathlib.Path
        The folder with ``model.keras`` and ``manifest.json``.

    Returns
    -------
    model : keras.Model
    manifest : dict
        The manifest (versions, files, preprocessing, class names, threshold).

    Raises
    ------
    CorruptModelError
        If the manifest or a listed file is missing, or a file's sha256 differs (names the file).
    """
    import keras

    folder = Path(folder)
    manifest_path = folder / _MANIFEST
    if not manifest_path.is_file():
        raise CorruptModelError(
            f"{str(manifest_path)!r} is missing: this is not a folder written "
            f"by export.save_model (or its manifest was deleted)."
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for name, expected in manifest["files"].items():
        file = folder / name
        if not file.is_file():
            raise CorruptModelError(f"{str(file)!r} is missing (listed in {_MANIFEST}); copy the whole folder again.")
        if _sha256(file) != expected:
            raise CorruptModelError(
                f"{str(file)!r} was altered: its sha256 differs from "
                f"{_MANIFEST}. Copy the file again from the original folder."
            )
    if _KERAS_FILE not in manifest["files"]:
        raise CorruptModelError(f"{_MANIFEST} in {str(folder)!r} does not list {_KERAS_FILE}.")
    model = keras.models.load_model(folder / _KERAS_FILE)
    return model, manifest
