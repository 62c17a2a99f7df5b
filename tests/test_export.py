"""Export round trips: bioimage.io packages (spec validation + bioimageio.core reload) and model.keras + manifest."""

import inspect
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bioimageio.core")

from helpers import export  # noqa: E402
from helpers.models import build_unet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def tiny_unet(channels, n_classes, activation):
    """A U-Net with 2 poolings and 2 filters (the pooling argument's name changed over time)."""
    poolings = "n_poolings" if "n_poolings" in inspect.signature(build_unet).parameters else "depth"
    return build_unet(
        input_shape=(None, None, channels),
        filters=2,
        n_classes=n_classes,
        output_activation=activation,
        dropout=0.0,
        **{poolings: 2},
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
    model = tiny_unet(1, 1, "sigmoid")
    image = np.random.default_rng(0).integers(0, 256, (32, 48)).astype(np.uint8)
    path = export.export_bioimageio(
        model,
        tmp_path_factory.mktemp("binary"),
        name="Tiny binary",
        description="Tiny grey binary U-Net.",
        test_image=image,
        threshold=0.4,
        **export_kwargs(),
    )
    return model, image, path


@pytest.fixture(scope="module")
def classes_package(tmp_path_factory):
    model = tiny_unet(3, 3, "softmax")
    image = np.random.default_rng(1).random((16, 32, 3)).astype(np.float32)  # [0, 1] like load_image
    path = export.export_bioimageio(
        model,
        tmp_path_factory.mktemp("classes"),
        name="Tiny classes",
        description="Tiny colour 3-class U-Net.",
        test_image=image,
        class_names=["background", "membrane", "cell"],
        saved_model=False,
        **export_kwargs(),
    )
    return model, image, path


def read_rdf(path):
    from bioimageio.spec import load_description

    return load_description(path, perform_io_checks=False)


def test_binary_package_validates_and_reloads_with_the_same_predictions(binary_package):
    model, image, path = binary_package
    assert path.suffix == ".zip" and path.exists()
    export.validate_package(path)
    differences = export.check_package_predictions(path)
    assert set(differences) == {"keras_v3", "tensorflow_saved_model_bundle"}
    assert all(d <= 1e-4 for d in differences.values())
    # the stored test output is the Keras model's prediction on the image scaled by 1/255
    with zipfile.ZipFile(path) as archive:
        with archive.open("test_output.npy") as f:
            stored = np.load(f)
    expected = model.predict_on_batch(image[np.newaxis, ..., np.newaxis] / 255.0)
    np.testing.assert_allclose(stored, expected, atol=1e-6)


def test_binary_package_states_sizes_preprocessing_and_threshold(binary_package):
    _, _, path = binary_package
    descr = read_rdf(path)
    y_axis = descr.inputs[0].axes[1]
    assert (y_axis.size.min, y_axis.size.step) == (4, 4)  # 2**2 poolings
    pre = [p.id for p in descr.inputs[0].preprocessing]
    assert "scale_linear" in pre
    scale = [p for p in descr.inputs[0].preprocessing if p.id == "scale_linear"][0]
    assert scale.kwargs.gain == pytest.approx(1 / 255)
    assert descr.config.model_extra["unet_course"]["threshold"] == pytest.approx(0.4)
    assert [c.doi for c in descr.cite][:2] == ["10.1007/978-3-319-24574-4_28", "10.1000/182"]
    assert {"cover.png", "README.md", "test_input.npy", "model.keras", "tf_saved_model.zip"} <= set(
        zipfile.ZipFile(path).namelist()
    )


def test_package_prediction_of_a_new_image_matches_keras(binary_package):
    model, _, path = binary_package
    new = np.random.default_rng(5).integers(0, 256, (16, 16)).astype(np.float32)
    predicted = export.predict_with_package(path, new)
    expected = model.predict_on_batch(new[np.newaxis, ..., np.newaxis] / 255.0)
    assert np.max(np.abs(predicted - expected)) <= 1e-4


def test_three_class_colour_package_round_trip(classes_package):
    model, image, path = classes_package
    differences = export.check_package_predictions(path)
    assert list(differences) == ["keras_v3"] and differences["keras_v3"] <= 1e-4
    descr = read_rdf(path)
    assert descr.outputs[0].axes[-1].channel_names == ["background", "membrane", "cell"]
    assert descr.inputs[0].axes[-1].channel_names == ["red", "green", "blue"]
    with zipfile.ZipFile(path) as archive:
        with archive.open("test_input.npy") as f:
            raw = np.load(f)
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
        **export_kwargs(),
    )
    assert second.name == "tiny-classes-2.zip"
    assert path.read_bytes() == before


def test_altered_file_in_package_is_refused_naming_it(binary_package, tmp_path):
    _, _, path = binary_package
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(altered, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            if item == "test_output.npy":
                data = data[:-4] + b"\x00\x00\x80\x3f"
            target.writestr(item, data)
    with pytest.raises(export.CorruptModelError, match=r"test_output\.npy"):
        export.validate_package(altered)


def test_missing_file_in_package_is_refused(binary_package, tmp_path):
    _, _, path = binary_package
    missing = tmp_path / "missing.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(missing, "w") as target:
        for item in source.namelist():
            if item != "model.keras":
                target.writestr(item, source.read(item))
    with pytest.raises(export.CorruptModelError, match="model.keras"):
        export.validate_package(missing)


def test_bad_arguments_get_clear_errors(tmp_path):
    model = tiny_unet(1, 1, "sigmoid")
    image = np.zeros((32, 32), np.uint8)
    with pytest.raises(ValueError, match="threshold"):
        export.export_bioimageio(model, tmp_path, name="x", description="x", test_image=image, **export_kwargs())
    with pytest.raises(ValueError, match="multiples of 4"):
        export.export_bioimageio(
            model,
            tmp_path,
            name="x",
            description="x",
            test_image=np.zeros((30, 32), np.uint8),
            threshold=0.5,
            **export_kwargs(),
        )
    assert list(tmp_path.iterdir()) == []


def test_accepted_sizes_for_depth_4():
    assert export.accepted_sizes(4, 64) == [16, 32, 48, 64]


# -------------------------------------------------------------------------- manifest


@pytest.fixture(scope="module")
def saved_folder(tmp_path_factory):
    model = tiny_unet(1, 1, "sigmoid")
    folder = tmp_path_factory.mktemp("saved") / "run"
    export.save_model(model, folder, class_names=["foreground"], threshold=0.35)
    return model, folder


def test_manifest_lists_versions_hashes_and_use(saved_folder):
    import hashlib

    _, folder = saved_folder
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["versions"]) == {"python", "tensorflow", "keras", "numpy"}
    digest = hashlib.sha256((folder / "model.keras").read_bytes()).hexdigest()
    assert manifest["files"] == {"model.keras": digest}
    assert manifest["threshold"] == 0.35 and manifest["class_names"] == ["foreground"]
    assert "65535" in manifest["preprocessing"]


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
    import shutil

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


def test_save_model_never_overwrites(saved_folder):
    model, folder = saved_folder
    with pytest.raises(FileExistsError, match="never overwrites"):
        export.save_model(model, folder)


def test_exercise_accepted_sizes_matches_export_rule():
    from helpers.exercises import export as exercise

    right = [
        s
        for s in exercise.SIZES_CANDIDATES
        if s in export.accepted_sizes(exercise.SIZES_DEPTH, max(exercise.SIZES_CANDIDATES))
    ]
    assert right == [16, 32, 48, 128, 256, 512]
    assert exercise.check_accepted_sizes(right)
    assert not exercise.check_accepted_sizes([8, 16, 32, 48, 128, 256, 512])
    assert not exercise.check_accepted_sizes([16, 24, 32])
    assert not exercise.check_accepted_sizes(None)
