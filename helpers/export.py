"""Take a trained U-Net out of the notebook: a bioimage.io package for Fiji, napari, the Model Zoo.

:func:`export_bioimageio` writes a **bioimage.io model package** (a zip, spec 0.5) with ``keras_v3``, ONNX
and TensorFlow SavedModel weights and a model card; :func:`check_package_predictions` validates and reloads
it. :func:`save_model` / :func:`load_model` keep ``model.keras`` with a ``manifest.json`` of sha256s. A package
applies the course's rules: the reader's rescaling, ``probability >= threshold``, the class colours, and
the sizes the U-Net takes.
"""

import contextlib
import datetime
import hashlib
import importlib.util
import json
import platform
import re
import shutil
import tempfile
import types
import warnings
import zipfile
from pathlib import Path

import numpy as np

from helpers import imageio, inference, label_maps
from helpers._checks import foreground
from helpers.course import package_versions
from helpers.download import file_sha256
from helpers.models import count_poolings

__all__ = [
    "UNET_CITATION", "INPUT_ID", "OUTPUT_ID", "COURSE_RESCALING", "CorruptModelError",
    "export_bioimageio", "validate_package", "check_package_predictions", "predict_with_package",
    "save_model", "load_model",
]  # fmt: skip

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
_RDF_SHA256 = "rdf.yaml.sha256"
#: What reads each weight format (the README's table says the same, with what was not tried).
_ENGINES = {
    "keras_v3": "Python tools through bioimageio.core (napari, the Model Zoo's checks), Keras {keras} on TensorFlow {tensorflow}",
    "onnx": "ONNX Runtime, opset {opset} (tf2onnx's default); deepImageJ 3 runs opsets 6 to 18 through JDLL",
    "tensorflow_saved_model_bundle": "TensorFlow {tensorflow} wrote it; deepImageJ's engines reach TensorFlow 2.11, "
    "which may refuse a SavedModel of a newer TensorFlow: use the ONNX weights there",
}
#: Limits every course model has; the model card lists them after the caller's own.
_KNOWN_LIMITS = [
    "It saw only images like its training data: another microscope, stain, magnification or bit depth can fail "
    "without warning. Check a few results by eye; retrain or fine-tune on a few labelled images of your own.",
    "The threshold was chosen on the validation images; other data may need another one.",
    "The package was checked with bioimageio.core in Python; the course did not run it inside Fiji or napari.",
]


class CorruptModelError(ValueError):
    """A saved model folder or package has a damaged, missing or altered file."""


def _preprocessing(rescaling):
    """The package's steps that turn raw pixels into the model's input by the reader's ``rescaling`` rule."""
    if rescaling in imageio.RULE_DIVISORS:
        scale = {"id": "scale_linear", "kwargs": {"gain": 1.0 / imageio.RULE_DIVISORS[rescaling], "offset": 0.0}}
    elif rescaling == _MIN_TO_MAX:
        scale = {"id": "scale_range", "kwargs": {"axes": ["y", "x", "channel"]}}
    else:
        raise ValueError(
            f"rescaling={rescaling!r}: give the rule the reader applied to the training folder, "
            f"rescaling=imageio.folder_rescaling(training_files)[0]; one of {[*imageio.RULE_DIVISORS, _MIN_TO_MAX]}."
        )
    return [{"id": "ensure_dtype", "kwargs": {"dtype": "float32"}}, scale]


def _digest(settings):
    """The sha256 of a dict of settings (JSON, keys sorted): a changed value changes it."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()


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
    split=None,
    baseline_scores=None,
    intended_use=None,
    limitations=(),
    citations=(),
    threshold=None,
    class_names=None,
    rescaling=None,
    license="CC-BY-4.0",
    cover=None,
    binarize_output=False,
    onnx=True,
    saved_model=True,
    tags=("segmentation", "unet", "2d"),
):
    """Write a bioimage.io model package (zip, spec 0.5) of a trained 2-D U-Net into ``folder``; return the zip,
    named after ``name``, never overwriting one (``-2``, ``-3`` ...).

    ``model``: a Keras U-Net (input of any or a fixed size, C channels; one sigmoid or K softmax outputs), or a
    :func:`save_model` folder, which brings its ``rescaling``, ``threshold`` and ``class_names``. ``test_image``:
    one real (H, W[, C]) image, raw (:func:`helpers.imageio.read_pixels`) or, for rules that divide by a fixed
    number, the reader's [0, 1] image; mirror-padded to a size the model takes. ``authors``: names or dicts.
    The model card: ``training_data``, ``methods``, ``intended_use`` (text); ``scores``, ``baseline_scores`` (the
    trivial baseline's, same keys); ``split`` (``{"training": names or a count, ...}``); ``limitations`` (the
    course adds its own). ``rescaling``: the reader's rule for the training folder (a key of
    ``imageio.RULE_DIVISORS`` or "own minimum to maximum"), which the package applies to a tool's raw pixels.
    ``binarize_output``: return ``probability >= threshold``. ``onnx`` / ``saved_model``: also write ONNX
    weights (needs tf2onnx) / a zipped TensorFlow SavedModel.
    """
    from bioimageio.spec import ValidationContext, build_description, save_bioimageio_package

    if isinstance(model, (str, Path)):
        model, manifest = load_model(model)
        given = {"rescaling": rescaling, "threshold": threshold, "class_names": class_names}
        for key, value in given.items():
            if value is not None and manifest.get(key) not in (None, value):
                raise ValueError(f"{key}={value!r}, but the saved folder stores {manifest[key]!r}: leave {key} out.")
        rescaling, threshold, class_names = (manifest.get(key) if v is None else v for key, v in given.items())
    if rescaling is None:
        rescaling = COURSE_RESCALING
        print(f"export: rescaling={rescaling!r} (the course's 8-bit data); pass your folder's rule if it differs.")
    preprocessing = _preprocessing(rescaling)
    n_channels, class_names = _check_model(model, threshold, class_names, binarize_output)
    model = _in_float32(model)
    facts = types.SimpleNamespace(  # what both the description (rdf) and the model card say
        name=name,
        description=description,
        n_poolings=count_poolings(model),
        sides=tuple(model.input_shape[1:3]),
        n_channels=n_channels,
        class_names=class_names,
        threshold=threshold,
        rescaling=rescaling,
        binarize_output=binarize_output,
    )
    raw, scaled = _test_input(test_image, facts)
    probabilities = np.asarray(model.predict_on_batch(scaled), dtype=np.float32)
    output = foreground(probabilities, float(threshold)).astype(np.float32) if binarize_output else probabilities
    card = dict(training_data=training_data, split=split, methods=methods, scores=scores, baseline=baseline_scores)
    card.update(intended_use=intended_use, limitations=[*limitations, *_KNOWN_LIMITS])

    zip_path = imageio.new_path(Path(folder) / f"{_file_name(name)}.zip")
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bioimageio-export-") as work:
        work = Path(work)
        np.save(work / "test_input.npy", raw)
        np.save(work / "test_output.npy", output)
        cover_file = _write_cover(work, scaled, probabilities, threshold, cover)
        weights = _write_weights(model, work, onnx, saved_model)
        (work / "README.md").write_text(_model_card(facts, card, weights), encoding="utf-8")
        rdf = _model_rdf(facts, preprocessing, authors, license, citations, tags, cover_file, weights)
        with _offline_bioimageio(work / "cache"):
            descr = build_description(rdf, context=ValidationContext(root=work, perform_io_checks=True))
            _raise_on_errors(descr, f"the package for {name!r}")

            def save(partial):  # the package, then its description's sha256: an edited rdf.yaml is refused
                save_bioimageio_package(descr, output_path=partial)
                with zipfile.ZipFile(partial, "a") as archive:
                    archive.writestr(_RDF_SHA256, hashlib.sha256(archive.read("rdf.yaml")).hexdigest())

            return imageio.write_atomically(zip_path, save)  # written aside, then renamed: never a truncated zip


def _in_float32(model):
    """The model computing in float32, as every tool can: a mixed-precision model cannot become ONNX."""
    import keras

    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model
    float32 = lambda layer: layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})  # noqa: E731
    copy = keras.models.clone_model(model, clone_function=float32)
    copy.set_weights(model.get_weights())
    return copy


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


def _test_input(test_image, facts):
    """Return the test image as raw pixels (what a tool feeds) and rescaled (what the model sees), (1, H, W, C),
    mirror-padded (or cut) to a size the model takes: its fixed sides, or the next multiple of 2**n_poolings."""
    image = np.asarray(test_image)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim != 3 or image.shape[-1] != facts.n_channels:
        raise ValueError(f"test_image: shape {image.shape}; the model takes (height, width, {facts.n_channels}).")
    step = 2**facts.n_poolings
    height, width = (fixed or -(-side // step) * step for side, fixed in zip(image.shape[:2], facts.sides))
    image = inference.pad_to(image[:height, :width], height, width)
    divisor = imageio.RULE_DIVISORS.get(facts.rescaling, 1)
    if image.dtype.kind == "f" and divisor > 1 and image.size and 0 <= image.min() and image.max() <= 1:
        image = np.round(image * divisor)  # the reader's [0, 1] image, back to the stored values
    scaled = imageio.scale_to_unit(image, "test_image", rule=facts.rescaling)  # the reader's rule; refuses misfits
    return image[np.newaxis].astype(np.float32), scaled[np.newaxis]


def _write_cover(work, scaled, probabilities, threshold, cover):
    """The test image beside its result (the mask by the threshold rule, or the classes in the course's colours)."""
    target = work / "cover.png"
    if cover is not None:
        shutil.copyfile(cover, target)
        return target.name
    from matplotlib import image as mpl_image
    from skimage.transform import resize

    picture = scaled[0] / max(float(scaled.max()), 1e-6)
    picture = picture[..., :3] if picture.shape[-1] >= 3 else picture[..., :1]  # 2 or 4 channels: shown in part
    if probabilities.shape[-1] == 1:
        result = foreground(probabilities[0], float(threshold)).astype(np.float32)
    else:
        result = label_maps.color_labels(np.argmax(probabilities[0], axis=-1), probabilities.shape[-1])
    halves = [resize(imageio.as_channels(p, 3), (256, 256), order=0, anti_aliasing=False) for p in (picture, result)]
    mpl_image.imsave(target, np.clip(np.concatenate(halves, axis=1), 0, 1))
    return target.name


@contextlib.contextmanager
def _quiet_tools():
    """Inside: no TensorFlow INFO lines ("Assets written to ..."), no Keras progress bars, no warnings, and
    float32 as Keras's policy (a package computes in float32, whatever precision the notebook trains in)."""
    import logging

    import keras

    logger = logging.getLogger("tensorflow")
    level, interactive, policy = (
        logger.level,
        keras.config.is_interactive_logging_enabled(),
        keras.config.dtype_policy(),
    )
    logger.setLevel(logging.WARNING)
    keras.config.disable_interactive_logging()
    keras.config.set_dtype_policy("float32")
    try:
        with warnings.catch_warnings(action="ignore"):  # e.g. Keras's numpy-2 patch of tf2onnx
            yield
    finally:
        logger.setLevel(level)
        keras.config.set_dtype_policy(policy)
        if interactive:
            keras.config.enable_interactive_logging()


def _write_weights(model, work, onnx, saved_model):
    """Write model.keras and the other weight files into ``work``; return the package's ``weights`` entry."""
    import tensorflow as tf

    versions = _versions()
    model.save(work / _KERAS_FILE)
    keras_v3 = {"source": _KERAS_FILE, "keras_version": versions["keras"]}
    weights = {"keras_v3": {**keras_v3, "backend": ["tensorflow", versions["tensorflow"]]}}
    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name=INPUT_ID)
    if onnx:
        if importlib.util.find_spec("tf2onnx") is None:
            raise ImportError("ONNX weights need tf2onnx: pip install tf2onnx onnx onnxruntime, or pass onnx=False.")
        with _quiet_tools():  # Keras runs tf2onnx at its default opset (older Keras cannot choose one)
            model.export(work / "model.onnx", format="onnx", input_signature=[spec])
        opsets = importlib.import_module("onnx").load(work / "model.onnx").opset_import
        opset = max(entry.version for entry in opsets if entry.domain in ("", "ai.onnx"))
        weights["onnx"] = {"source": "model.onnx", "opset_version": opset, "parent": "keras_v3"}
    if saved_model:
        _write_saved_model_zip(model, spec, work / "tf_saved_model.zip")
        weights["tensorflow_saved_model_bundle"] = {
            "source": "tf_saved_model.zip",
            "tensorflow_version": versions["tensorflow"],
            "parent": "keras_v3",
            "comment": f"signature 'serving_default', input '{INPUT_ID}', output '{OUTPUT_ID}'; zipped.",
        }
    return weights


def _write_saved_model_zip(model, spec, zip_path):
    """Write a zipped TensorFlow SavedModel whose 'serving_default' signature maps INPUT_ID to OUTPUT_ID."""
    import tensorflow as tf

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


def _course_settings(facts):
    """The course's settings, ``config.unet_course`` in the package's description."""
    from matplotlib.colors import to_hex

    binary = len(facts.class_names) == 1
    settings = {
        "n_poolings": facts.n_poolings,
        "rescaling": facts.rescaling,
        "class_names": list(facts.class_names),
        "threshold": None if facts.threshold is None else float(facts.threshold),
        "postprocessing": "probability >= threshold" if binary else "argmax over channels",
    }
    if not binary:  # the course's palette, class 0 first
        settings["class_colours"] = [to_hex(c) for c in label_maps.label_colors(len(facts.class_names))]
    return settings


def _model_rdf(facts, preprocessing, authors, license, citations, tags, cover, weights):
    binary = len(facts.class_names) == 1
    output_text = "probability of foreground" if binary else "probability of each class (softmax); take the argmax"
    step = 2**facts.n_poolings
    binarize = {"id": "binarize", "kwargs": {"threshold": _binarize_threshold(facts.threshold or 0.5)}}
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
                "axes": _axes(
                    lambda axis: facts.sides["yx".index(axis)] or {"min": step, "step": step},  # fixed, or 2**n * k
                    _channel_names(facts.n_channels),
                ),
                "test_tensor": {"source": "test_input.npy"},
                "preprocessing": preprocessing,
            }
        ],
        "outputs": [
            {
                "id": OUTPUT_ID,
                "description": "mask 0/1 (probability >= threshold)" if facts.binarize_output else output_text,
                "axes": _axes(lambda axis: {"tensor_id": INPUT_ID, "axis_id": axis}, facts.class_names),
                "test_tensor": {"source": "test_output.npy"},
                "postprocessing": [binarize] if facts.binarize_output else [],
            }
        ],
        "weights": weights,
        "config": {"unet_course": _course_settings(facts)},
    }


def _model_card(facts, card, weights):
    """The package's README.md: intended use, data and split, scores beside the trivial baseline, limits, engines."""
    if len(facts.class_names) > 1:
        classes = ", ".join(f"{i} = {c}" for i, c in enumerate(facts.class_names))
        output = f"One probability per class (softmax): {classes}. A pixel's class is the most probable one (argmax)."
    else:
        applied = "the package applies it" if facts.binarize_output else "the package returns the probabilities"
        output = f"Foreground where probability >= {float(facts.threshold):.3g} (chosen on validation); {applied}."
    sizes = "x".join(map(str, facts.sides)) + " pixels" if all(facts.sides) else f"sides k x {2**facts.n_poolings}"
    baseline = card["baseline"] or {}
    scores = [f"| {key} | {_number(v)} | {_number(baseline.get(key, ''))} |" for key, v in card["scores"].items()]
    split = [
        f"- {part}: {len(items)} images ({imageio.few_names(list(items))})"
        if isinstance(items, (list, tuple))
        else f"- {part}: {items} images"
        for part, items in (card["split"] or {}).items()
    ]
    sections = {
        "Intended use": card["intended_use"]
        or f"Segmenting {' and '.join(facts.class_names)} in images like the training data below, for research.",
        "Input and output": f"{'/'.join(_channel_names(facts.n_channels))} image of {sizes} ({facts.n_poolings} "
        f'poolings), rescaled by the reader\'s rule for the training folder, "{facts.rescaling}".\n\n{output}',
        "Training data and split": "\n".join([card["training_data"], *split]),
        "Methods": card["methods"],
        "Test scores (images used neither for training nor for choosing the threshold)": "\n".join(
            ["| score | this model | trivial baseline |", "|---|---|---|", *scores]
        ),
        "Known limits": "\n".join(f"- {limit}" for limit in card["limitations"]),
        "Weights and the engines that read them": "\n".join(
            f"- `{f}`: " + _ENGINES[f].format(**_versions(), opset=weights[f].get("opset_version")) for f in weights
        ),
    }
    body = "".join(f"## {title}\n\n{text}\n\n" for title, text in sections.items())
    return (
        f"# {facts.name}\n\n{facts.description}\n\n{body}Written by the U-Net course's helpers.export on "
        f"{datetime.date.today().isoformat()}. Cite the U-Net paper (doi:{UNET_CITATION['doi']}) and the data's.\n"
    )


def _number(value):
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


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
    Raises ``CorruptModelError`` naming every problem: a damaged, missing or altered file, an edited rdf.yaml."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No package at {str(path)!r}: check the path.")
    if zipfile.is_zipfile(path):
        _check_listed_files_present(path)
    with tempfile.TemporaryDirectory(prefix="bioimageio-cache-") as cache, _offline_bioimageio(cache):
        return _load_description(path, perform_io_checks=True)


def _load_description(path, perform_io_checks):
    """Load and check a package's description; a damaged or edited rdf.yaml is named."""
    from bioimageio.spec import load_description

    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            stated = archive.read(_RDF_SHA256).decode() if _RDF_SHA256 in archive.namelist() else None
            if stated and stated != hashlib.sha256(archive.read("rdf.yaml")).hexdigest():
                raise CorruptModelError(
                    f"{path.name}: its rdf.yaml was changed after export (a threshold, rescaling or size edited, or "
                    f"the file damaged): its sha256 differs from {_RDF_SHA256}. Export the model again."
                )
    try:
        descr = load_description(path, perform_io_checks=perform_io_checks)
    except Exception as error:  # a damaged rdf.yaml raises YAML, zip or key errors that name no file
        raise CorruptModelError(
            f"{path.name}: its description (rdf.yaml) cannot be read ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}). Export the model again, or copy the whole zip again."
        ) from error
    _raise_on_errors(descr, path.name)
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
    """Predict one image of raw pixels, (H, W[, C]) or (1, H, W, C), with a package through ``bioimageio.core``
    as the tools do, with ``weight_format`` "keras_v3", "onnx" or "tensorflow_saved_model_bundle"; return
    its output, float32 (1, H, W, K)."""
    from bioimageio.core import create_prediction_pipeline, predict
    from bioimageio.core import settings as core_settings

    path, image = Path(path).resolve(), np.asarray(image, dtype=np.float32)  # resolved before the chdir below
    image = image.reshape((1,) * (image.ndim < 4) + image.shape + (1,) * (image.ndim == 2))  # (1, H, W, C)
    core_settings.keras_backend = "tensorflow"  # the course trains with Keras on TensorFlow
    with (
        tempfile.TemporaryDirectory(prefix="bioimageio-run-") as work,
        _offline_bioimageio(Path(work) / "cache"),
        contextlib.chdir(work),  # bioimageio.core unzips TensorFlow weights into the current folder
    ):
        descr = _load_description(path, perform_io_checks=False)
        with _quiet_tools():
            pipeline = create_prediction_pipeline(descr, weight_format=weight_format)
            sample = predict(model=pipeline, inputs={INPUT_ID: image})
        result = sample.members[OUTPUT_ID].data.transpose("batch", "y", "x", "channel")
        return np.asarray(result.values, dtype=np.float32)


def check_package_predictions(path, *, tolerance=1e-4, weight_formats=None):
    """Validate a package, predict its test input with each weight format, compare with its test output; return
    ``{weight format: largest absolute difference}``, or raise AssertionError naming a format beyond ``tolerance``."""
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
    imageio.write_atomically(folder / _KERAS_FILE, model.save)
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
    manifest["sha256"] = _digest(manifest)  # of all the above: an edited threshold is caught on loading
    text = json.dumps(manifest, indent=2) + "\n"
    imageio.write_atomically(folder / _MANIFEST, lambda partial: partial.write_text(text, encoding="utf-8"))
    return folder


def load_model(folder):
    """Check the manifest and every file of a :func:`save_model` folder against their sha256, then load the model.

    Returns ``(model, manifest)``; raises ``CorruptModelError`` naming a damaged, missing or altered file.
    """
    import keras

    folder = Path(folder)
    manifest_path = folder / _MANIFEST
    if not manifest_path.is_file():
        raise CorruptModelError(
            f"{str(manifest_path)!r} is missing: this is not a folder written by export.save_model "
            f"(or its manifest was deleted)."
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        problem = None if manifest.pop("sha256") == _digest(manifest) else "was edited after saving (sha256 differs)"
        manifest["files"][_KERAS_FILE]  # noqa: B018 (a KeyError when model.keras is not listed)
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # truncated, not JSON, keys missing
        problem = f"is damaged ({type(error).__name__}: {error})"
    if problem:
        raise CorruptModelError(
            f"{str(manifest_path)!r} {problem}. Copy the whole folder again from the original, or save the model "
            f"again (export.save_model)."
        )
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
