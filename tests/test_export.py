"""Export round trips: bioimage.io packages (spec validation + bioimageio.core reload) and model.keras + manifest."""

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bioimageio.core")

from helpers import export, imageio, metrics  # noqa: E402
from helpers.models import build_unet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def tiny_unet(channels, n_classes, activation, size=None):
    """A U-Net with 2 poolings and 2 filters (input of any size, or ``size`` x ``size``)."""
    return build_unet(
        input_shape=(size, size, channels),
        filters=2,
        n_poolings=2,
        n_classes=n_classes,
        output_activation=activation,
        dropout=0.0,
    )


def export_kwargs(**extra):
    kwargs = dict(
        authors=[{"name": "Test Author", "affiliation": "Course"}],
        training_data="Generated test pixels.",
        scores={"IoU (test)": 0.5},
        methods="Untrained; built for the tests.",
        citations=[{"text": "A data paper.", "doi": "10.1000/182"}],
    )
    kwargs.update(extra)
    return kwargs


@pytest.fixture(scope="module")
def binary_package(tmp_path_factory):
    """A binary package with every weight format and a full model card; its test image (30 x 45) is padded."""
    model = tiny_unet(1, 1, "sigmoid")
    image = np.random.default_rng(0).integers(0, 256, (30, 45)).astype(np.uint8)
    path = export.export_bioimageio(
        model,
        tmp_path_factory.mktemp("binary"),
        name="Tiny binary",
        description="Tiny grey binary U-Net.",
        test_image=image,
        threshold=0.4,
        split={"training": ["s01", "s02", "s03"], "validation": ["s04"], "test": 2},
        baseline_scores={"Dice (test)": 0.29},
        intended_use="Membranes in serial-section EM of the fly nerve cord.",
        limitations=["Only 2-D sections."],
        **export_kwargs(scores={"Dice (test)": 0.8125}),
    )
    return model, image, path


@pytest.fixture(scope="module")
def classes_package(tmp_path_factory):
    model = tiny_unet(3, 3, "softmax")
    image = np.random.default_rng(1).random((16, 32, 3)).astype(np.float32)  # [0, 1] like read_image
    path = export.export_bioimageio(
        model,
        tmp_path_factory.mktemp("classes"),
        name="Tiny classes",
        description="Tiny colour 3-class U-Net.",
        test_image=image,
        class_names=["background", "membrane", "cell"],
        saved_model=False,
        onnx=False,
        **export_kwargs(),
    )
    return model, image, path


def read_rdf(path):
    from bioimageio.spec import load_description

    return load_description(path, perform_io_checks=False)


def test_binary_package_validates_and_reloads_with_the_same_predictions(binary_package):
    model, image, path = binary_package
    differences = export.check_package_predictions(path)  # through bioimageio.core (onnxruntime for ONNX)
    assert set(differences) == {"keras_v3", "onnx", "tensorflow_saved_model_bundle"}
    assert all(d <= 1e-4 for d in differences.values())
    import onnx

    stated = read_rdf(path).weights.onnx.opset_version
    written = onnx.load(zipfile.ZipFile(path).open("model.onnx")).opset_import
    assert stated == max(entry.version for entry in written if entry.domain in ("", "ai.onnx"))
    assert 7 <= stated <= 18  # bioimage.io asks for 7 or more; deepImageJ (JDLL) runs opsets 6 to 18
    # the stored test input is the image mirror-padded to 32 x 48 (2 poolings: multiples of 4), not refused;
    # the stored output is the Keras model's prediction on it scaled by 1/255
    with zipfile.ZipFile(path) as archive:
        raw, stored = (np.load(archive.open(f"test_{kind}.npy")) for kind in ("input", "output"))
    padded = np.pad(image, ((0, 2), (0, 3)), mode="symmetric")  # mirrored at the bottom and right
    np.testing.assert_array_equal(raw[0, ..., 0], padded)
    expected = model.predict_on_batch(padded[np.newaxis, ..., np.newaxis] / 255.0)
    np.testing.assert_allclose(stored, expected, atol=1e-6)


def test_binary_package_states_sizes_threshold_and_citations(binary_package):
    _, _, path = binary_package
    descr = read_rdf(path)
    y_axis = descr.inputs[0].axes[1]
    assert (y_axis.size.min, y_axis.size.step) == (4, 4)  # 2**2 poolings
    assert descr.config.model_extra["unet_course"]["threshold"] == pytest.approx(0.4)
    assert [c.doi for c in descr.cite][:2] == ["10.1007/978-3-319-24574-4_28", "10.1000/182"]
    assert {"cover.png", "README.md", "test_input.npy", "model.keras", "model.onnx", "tf_saved_model.zip"} <= set(
        zipfile.ZipFile(path).namelist()
    )


def write_file(folder, kind):
    """One 32x32 file as a researcher brings it, of this kind."""
    import tifffile
    from skimage import io

    rng = np.random.default_rng(7)
    pixels = {
        "8-bit png": rng.integers(0, 256, (32, 32)).astype(np.uint8),
        "RGB png": rng.integers(0, 256, (32, 32, 3)).astype(np.uint8),
        "2-channel 12-bit tif": rng.integers(0, 4096, (32, 32, 2)).astype(np.uint16),
        "4-channel 16-bit tif": rng.integers(0, 65536, (32, 32, 4)).astype(np.uint16),
        "12-bit tif": rng.integers(0, 4096, (32, 32)).astype(np.uint16),
        "16-bit tif": rng.integers(0, 65536, (32, 32)).astype(np.uint16),
        "float tif": (rng.random((32, 32)) * 300 - 50).astype(np.float32),
    }[kind]
    path = folder / ("image.png" if kind.endswith("png") else "image.tif")
    if kind.endswith("png"):
        io.imsave(path, pixels, check_contrast=False)
    elif "channel" in kind:  # as Fiji saves a hyperstack with channels
        tifffile.imwrite(path, np.moveaxis(pixels, -1, 0), imagej=True, metadata={"axes": "CYX"})
    else:
        tifffile.imwrite(path, pixels)
    return path


KINDS = [
    "8-bit png",
    "RGB png",
    "12-bit tif",
    "16-bit tif",
    "float tif",
    "2-channel 12-bit tif",
    "4-channel 16-bit tif",
]


@pytest.mark.parametrize("kind", KINDS)
def test_package_on_the_raw_file_predicts_what_the_notebook_predicts(kind, tmp_path):
    file = write_file(tmp_path, kind)
    raw = imageio.read_pixels(file)
    model = tiny_unet(raw.shape[-1] if raw.ndim == 3 else 1, 1, "sigmoid")
    rule, _ = imageio.folder_rescaling([file])  # what the folder check decides and save_model stores
    path = export.export_bioimageio(
        model,
        tmp_path,
        name=kind,
        description="x",
        test_image=raw,
        threshold=0.5,
        rescaling=rule,
        saved_model=False,
        onnx=False,
        **export_kwargs(),
    )
    notebook = model.predict_on_batch(imageio.read_image(file, rescaling=rule)[np.newaxis])  # the notebooks' path
    package = export.predict_with_package(path, raw)  # what Fiji or napari gives the package
    assert np.max(np.abs(package - notebook)) <= 1e-4


def test_package_from_a_saved_folder_applies_the_folders_stored_rule(tmp_path, monkeypatch):
    # a dim image from a 16-bit camera: alone, its values (all below 4096) look like 12-bit data, but the
    # folder's rule, stored with the model, divides by 65535; the package must do the same
    import tifffile

    model = tiny_unet(1, 1, "sigmoid")
    rng = np.random.default_rng(8)
    tifffile.imwrite(tmp_path / "dim.tif", rng.integers(0, 4000, (32, 32)).astype(np.uint16))
    tifffile.imwrite(tmp_path / "bright.tif", rng.integers(0, 60000, (32, 32)).astype(np.uint16))
    rule, _ = imageio.folder_rescaling([tmp_path / "dim.tif", tmp_path / "bright.tif"])
    assert rule == "16-bit / 65535" and imageio.scaling_rule(imageio.read_pixels(tmp_path / "dim.tif")) != rule
    saved = export.save_model(model, tmp_path / "run", rescaling=rule, threshold=0.3)
    raw = imageio.read_pixels(tmp_path / "dim.tif")
    path = export.export_bioimageio(
        saved,
        tmp_path,
        name="Stored rule",
        description="x",
        test_image=raw,
        onnx=False,
        saved_model=False,
        **export_kwargs(),
    )
    (scale,) = [step for step in read_rdf(path).inputs[0].preprocessing if step.id == "scale_linear"]
    assert scale.kwargs.gain == pytest.approx(1 / 65535, rel=1e-12)
    assert read_rdf(path).config.model_extra["unet_course"]["threshold"] == 0.3  # stored threshold
    trained_on = model.predict_on_batch(imageio.read_image(tmp_path / "dim.tif", rescaling=rule)[np.newaxis])
    monkeypatch.chdir(tmp_path)  # a path relative to the working folder, as a user types it
    package = export.predict_with_package(path.name, raw)  # the preprocessing is the package's, whatever the weights
    assert np.max(np.abs(package - trained_on)) <= 1e-4
    with pytest.raises(ValueError, match=r"threshold=0\.5.*stores 0\.3"):
        export.export_bioimageio(
            saved,
            tmp_path,
            name="Other",
            description="x",
            test_image=raw,
            threshold=0.5,
            onnx=False,
            saved_model=False,
            **export_kwargs(),
        )


def test_fixed_size_model_exports_exactly_its_size(tmp_path):
    model = tiny_unet(1, 1, "sigmoid", size=64)  # takes 64 x 64 only
    image = np.random.default_rng(9).integers(0, 256, (50, 70)).astype(np.uint8)  # padded and cut to 64 x 64
    path = export.export_bioimageio(
        model,
        tmp_path,
        name="Fixed size",
        description="x",
        test_image=image,
        threshold=0.5,
        saved_model=False,
        **export_kwargs(),
    )
    descr = read_rdf(path)
    assert [axis.size for axis in descr.inputs[0].axes[1:3]] == [64, 64]  # not a range it cannot take
    with zipfile.ZipFile(path) as archive:
        assert np.load(archive.open("test_input.npy")).shape == (1, 64, 64, 1)
        assert "64x64 pixels" in archive.read("README.md").decode()
    differences = export.check_package_predictions(path)
    assert set(differences) == {"keras_v3", "onnx"}


def test_model_card_is_built_from_the_real_objects(binary_package):
    _, _, path = binary_package
    card = zipfile.ZipFile(path).read("README.md").decode()
    assert "| Dice (test) | 0.8125 | 0.29 |" in card  # the score beside the trivial baseline
    assert "- training: 3 images (s01, s02, s03)" in card and "- test: 2 images" in card
    assert "Membranes in serial-section EM" in card and "- Only 2-D sections." in card
    assert "Generated test pixels." in card  # training data as given
    import keras
    import tensorflow as tf

    assert f"Keras {keras.__version__} on TensorFlow {tf.__version__}" in card  # the engines that read it
    assert "TensorFlow 2.11" in card  # deepImageJ's TensorFlow limit is named beside the SavedModel
    assert f"opset {read_rdf(path).weights.onnx.opset_version}" in card
    assert "did not run it inside Fiji or napari" in card  # the course's own known limits follow the caller's


def test_model_trained_in_mixed_precision_exports_in_float32(tmp_path):
    # Colab's GPUs train in mixed_float16 (course.use_precision): ONNX cannot take float16 layers, and
    # bioimageio.core must not run the package under the notebook's global policy
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = tiny_unet(1, 1, "sigmoid")
        image = np.random.default_rng(13).integers(0, 256, (16, 16)).astype(np.uint8)
        path = export.export_bioimageio(
            model, tmp_path, name="Mixed precision", description="x", test_image=image, threshold=0.5, **export_kwargs()
        )
        differences = export.check_package_predictions(path)
        assert keras.mixed_precision.global_policy().name == "mixed_float16"  # the notebook's policy is kept
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert set(differences) == {"keras_v3", "onnx", "tensorflow_saved_model_bundle"}
    assert all(d <= 1e-4 for d in differences.values())
    expected = model.predict_on_batch(image[np.newaxis, ..., np.newaxis] / 255.0)  # float16: close, not equal
    with zipfile.ZipFile(path) as archive:
        assert np.max(np.abs(np.load(archive.open("test_output.npy")) - expected)) < 1e-2


def test_missing_onnx_converter_is_named_with_the_fix(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name, *a))
    with pytest.raises(ImportError, match=r"tf2onnx.*onnx=False"):
        export.export_bioimageio(
            tiny_unet(1, 1, "sigmoid"),
            tmp_path,
            name="No onnx",
            description="x",
            test_image=np.zeros((16, 16), np.uint8),
            threshold=0.5,
            **export_kwargs(),
        )
    assert list(tmp_path.iterdir()) == []


def test_binarized_package_keeps_the_course_threshold_rule(tmp_path):
    model = tiny_unet(1, 1, "sigmoid")
    image = np.random.default_rng(2).integers(0, 256, (16, 16)).astype(np.uint8)
    threshold = 0.375  # exact in float32
    path = export.export_bioimageio(
        model,
        tmp_path,
        name="Binarized",
        description="x",
        test_image=image,
        threshold=threshold,
        binarize_output=True,
        saved_model=False,
        onnx=False,
        **export_kwargs(),
    )
    assert export.check_package_predictions(path)["keras_v3"] == 0.0
    (binarize,) = read_rdf(path).outputs[0].postprocessing
    # bioimage.io keeps value > its threshold; at the course's threshold, and one step below it,
    # the package must decide as the course's rule (probability >= threshold) does
    at = np.float32(threshold)
    below = np.nextafter(at, np.float32(0))
    assert [bool(p > binarize.kwargs.threshold) for p in (at, below)] == [True, False]
    assert metrics.foreground(np.array([at, below]), threshold).tolist() == [True, False]


def test_three_class_colour_package_round_trip(classes_package):
    model, image, path = classes_package
    differences = export.check_package_predictions(path)
    assert list(differences) == ["keras_v3"] and differences["keras_v3"] <= 1e-4
    descr = read_rdf(path)
    assert descr.outputs[0].axes[-1].channel_names == ["background", "membrane", "cell"]
    assert descr.inputs[0].axes[-1].channel_names == ["red", "green", "blue"]
    with zipfile.ZipFile(path) as archive:
        raw = np.load(archive.open("test_input.npy"))
    np.testing.assert_array_equal(raw[0], np.round(image * 255))  # raw 8-bit values stored


def test_a_second_export_never_overwrites_the_first(classes_package):
    model, image, path = classes_package
    before = path.read_bytes()
    second = export.export_bioimageio(
        model,
        path.parent,
        name="Tiny classes",
        description="Again.",
        test_image=image,
        class_names=["a", "b", "c"],
        saved_model=False,
        onnx=False,
        **export_kwargs(),
    )
    assert second.name == "tiny-classes-2.zip"
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny-classes-2.zip", "tiny-classes.zip"]  # none aside


def copy_zip(path, target, change):
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as copy:
        for item in source.namelist():
            data = change(item, source.read(item))
            if data is not None:
                copy.writestr(item, data)
    return target


def test_altered_file_in_package_is_refused_naming_it(binary_package, tmp_path):
    _, _, path = binary_package
    altered = copy_zip(
        path,
        tmp_path / "altered.zip",
        lambda item, data: data[:-4] + b"\0\0\x80\x3f" if item == "test_output.npy" else data,
    )
    with pytest.raises(export.CorruptModelError, match=r"test_output\.npy"):
        export.validate_package(altered)


def test_missing_file_in_package_is_refused_naming_it(binary_package, tmp_path):
    _, _, path = binary_package
    missing = copy_zip(path, tmp_path / "missing.zip", lambda item, data: None if item == "model.keras" else data)
    with pytest.raises(export.CorruptModelError, match="model.keras"):
        export.validate_package(missing)


def test_damaged_or_edited_description_is_named_with_the_fix(binary_package, tmp_path):
    _, _, path = binary_package
    garbage = copy_zip(
        path, tmp_path / "damaged.zip", lambda item, data: b"inputs: [\n  - id: {" if item == "rdf.yaml" else data
    )
    edited = copy_zip(
        path, tmp_path / "edited.zip", lambda item, data: data.replace(b"threshold: 0.4", b"threshold: 0.9")
    )
    assert b"threshold: 0.9" in zipfile.ZipFile(edited).read("rdf.yaml"), "the edit is real"
    for copy in (garbage, edited):
        with pytest.raises(export.CorruptModelError, match=r"rdf\.yaml.*Export the model again"):
            export.validate_package(copy)
        with pytest.raises(export.CorruptModelError, match=r"rdf\.yaml"):
            export.predict_with_package(copy, np.zeros((32, 48), np.float32))
    no_checksum = copy_zip(  # a damaged rdf.yaml without the course's checksum beside it: still named
        garbage, tmp_path / "damaged-alone.zip", lambda item, data: None if item.endswith(".sha256") else data
    )
    with pytest.raises(export.CorruptModelError, match=r"rdf\.yaml.*cannot be read.*Export the model again"):
        export.validate_package(no_checksum)


def test_bad_arguments_get_clear_errors_and_write_nothing(tmp_path):
    model = tiny_unet(1, 1, "sigmoid")
    image = np.zeros((32, 32), np.uint8)

    def export_with(**arguments):
        arguments = {"test_image": image, "threshold": 0.5, **arguments}
        export.export_bioimageio(model, tmp_path, name="x", description="x", **arguments, **export_kwargs())

    with pytest.raises(ValueError, match="threshold"):
        export_with(threshold=None)
    with pytest.raises(ValueError, match=r"test_image.*\(height, width, 1\)"):
        export_with(test_image=np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r"rescaling='12-bit'.*imageio\.folder_rescaling"):
        export_with(rescaling="12-bit")
    with pytest.raises(ValueError, match=r"test_image.*folder_rescaling"):  # 16-bit pixels with the 12-bit rule
        export_with(test_image=np.full((32, 32), 5000, np.uint16), rescaling="12-bit in 16 bits / 4095")
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------- manifest


@pytest.fixture(scope="module")
def saved_folder(tmp_path_factory):
    model = tiny_unet(1, 1, "sigmoid")
    folder = tmp_path_factory.mktemp("saved") / "run"
    saved = export.save_model(model, folder, rescaling="12-bit in 16 bits / 4095", class_names=["cell"], threshold=0.35)
    return model, saved


def test_manifest_lists_versions_hashes_and_use(saved_folder):
    _, folder = saved_folder
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["versions"]) == {"python", "tensorflow", "keras", "numpy"}
    digest = hashlib.sha256((folder / "model.keras").read_bytes()).hexdigest()
    assert manifest["files"] == {"model.keras": digest}
    assert manifest["threshold"] == 0.35 and manifest["class_names"] == ["cell"]
    assert manifest["rescaling"] == "12-bit in 16 bits / 4095"


def test_manifest_reload_in_a_fresh_process_predicts_identically(saved_folder, tmp_path):
    model, folder = saved_folder
    image = np.random.default_rng(3).random((1, 16, 16, 1)).astype(np.float32)
    np.save(tmp_path / "image.npy", image)
    script = (
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from helpers import export\n"
        f"model, manifest = export.load_model({str(folder)!r})\n"
        f"x = np.load({str(tmp_path / 'image.npy')!r})\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, model.predict_on_batch(x))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)
    reloaded = np.load(tmp_path / "out.npy")
    np.testing.assert_allclose(reloaded, model.predict_on_batch(image), atol=1e-6, rtol=0)


def test_altered_or_missing_model_file_is_refused_naming_it(saved_folder, tmp_path):
    _, folder = saved_folder
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    with open(copy / "model.keras", "ab") as f:
        f.write(b"\x00")
    with pytest.raises(export.CorruptModelError, match=r"model\.keras.*altered"):
        export.load_model(copy)
    (copy / "model.keras").unlink()
    with pytest.raises(export.CorruptModelError, match=r"model\.keras.*missing"):
        export.load_model(copy)


def test_damaged_or_edited_manifest_is_named_with_the_fix(saved_folder, tmp_path):
    _, folder = saved_folder
    truncated, edited = tmp_path / "truncated", tmp_path / "edited"
    for copy in (truncated, edited):
        shutil.copytree(folder, copy)
    text = (folder / "manifest.json").read_text()
    (truncated / "manifest.json").write_text(text[: len(text) // 2])
    (edited / "manifest.json").write_text(text.replace('"threshold": 0.35', '"threshold": 0.9'))
    assert '"threshold": 0.9' in (edited / "manifest.json").read_text(), "the edit is real"
    for copy, problem in ((truncated, "damaged"), (edited, "edited")):
        with pytest.raises(export.CorruptModelError, match=rf"manifest\.json.*{problem}.*Copy the whole folder again"):
            export.load_model(copy)


def test_save_model_never_overwrites(saved_folder):
    model, folder = saved_folder
    before = (folder / "manifest.json").read_bytes()
    second = export.save_model(model, folder)
    assert second == folder.with_name(f"{folder.name}-2") and (second / "model.keras").is_file()
    assert (folder / "manifest.json").read_bytes() == before
