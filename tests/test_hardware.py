"""Tests for helpers.course: the strategy decision, the device description, and training
with a MirroredStrategy on two logical CPU devices in a fresh Python.
"""

import json
import math
import os
import subprocess
import sys
import textwrap
import types

import pytest

from helpers import course
from helpers.course import course_root

# ----------------------------------------------------------------------------------------
# Devices that this machine may lack (a stand-in TensorFlow)
# ----------------------------------------------------------------------------------------


def fake_tensorflow(tpu_cores=0, gpus=()):
    """A stand-in ``tensorflow`` that lists ``tpu_cores`` TPU cores and GPUs with ``gpus`` details."""
    physical = [types.SimpleNamespace(name=f"/physical_device:GPU:{i}") for i in range(len(gpus))]
    config = types.SimpleNamespace(
        list_logical_devices=lambda kind=None: [f"TPU:{i}" for i in range(tpu_cores)] if kind == "TPU" else [],
        list_physical_devices=lambda kind=None: physical if kind == "GPU" else [],
        experimental=types.SimpleNamespace(get_device_details=lambda gpu: gpus[physical.index(gpu)]),
    )
    return types.SimpleNamespace(config=config)


def test_describe_device_names_the_gpus_and_their_compute_capability(monkeypatch):
    tf = fake_tensorflow(gpus=[{"device_name": "Tesla T4", "compute_capability": (7, 5)}, {}])
    monkeypatch.setattr(course, "_tensorflow", lambda: tf)
    lines = course.describe_device().splitlines()
    assert "2 GPUs" in lines[0]
    assert "Tesla T4" in lines[1] and "7.5" in lines[1]
    assert "/physical_device:GPU:1" in lines[2], "a GPU TensorFlow cannot describe keeps its device name"


def test_describe_device_on_a_tpu(monkeypatch):
    monkeypatch.setattr(course, "_tensorflow", lambda: fake_tensorflow(tpu_cores=8))
    assert "TPU with 8 cores" in course.describe_device()


def test_describe_device_without_tensorflow_says_so_and_does_not_crash(monkeypatch):
    def broken():
        raise ImportError("no tensorflow here")

    monkeypatch.setattr(course, "_tensorflow", broken)
    assert "no tensorflow here" in course.describe_device()


def test_tpu_signs_are_found_in_the_environment(monkeypatch):
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert "environment variable COLAB_TPU_ADDR" in course._tpu_signs(fake_tensorflow())


# ----------------------------------------------------------------------------------------
# On this machine (TensorFlow in this process)
# ----------------------------------------------------------------------------------------


@pytest.fixture
def cpu_only(monkeypatch):
    """Skip on machines with a GPU or TPU; clear TPU variables so nothing looks for one."""
    for name in course.TPU_ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    import tensorflow as tf

    if (
        tf.config.list_logical_devices("GPU")
        or tf.config.list_logical_devices("TPU")
        or course.TPU_DEVICE_FILE.exists()
    ):
        pytest.skip("this test describes a machine with only a CPU")


def test_describe_device_on_this_cpu_says_cpu_and_the_cores(cpu_only):
    text = course.describe_device()
    assert f"CPU ({getattr(os, 'process_cpu_count', os.cpu_count)()} cores)" in text
    assert "Change runtime type" in text


def test_get_strategy_here_is_the_default_with_one_replica(cpu_only, capsys):
    import tensorflow as tf

    strategy = course.get_strategy()

    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert "default strategy (one device), 1 replica in sync" in capsys.readouterr().out


def test_get_strategy_rejects_a_single_device_name(cpu_only):
    with pytest.raises(ValueError, match="two or more"):
        course.get_strategy(devices=["/cpu:0"])


def test_get_strategy_rejects_unknown_device_names(cpu_only):
    with pytest.raises(ValueError, match="no device named /gpu:7"):
        course.get_strategy(devices=["/cpu:0", "/gpu:7"])


def test_get_strategy_rejects_a_single_text_as_devices(cpu_only):
    with pytest.raises(TypeError, match="list of device names"):
        course.get_strategy(devices="/cpu:0")


# ----------------------------------------------------------------------------------------
# Two devices for real, in a fresh Python
# ----------------------------------------------------------------------------------------

TWO_CPU_TRAINING = textwrap.dedent(
    """
    import json
    import numpy as np
    import tensorflow as tf
    import keras

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )

    from helpers import course

    names = [device.name for device in tf.config.list_logical_devices("CPU")]
    strategy = course.get_strategy(devices=names)
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    changed = any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    print("RESULT " + json.dumps({
        "devices": names,
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "loss": float(history.history["loss"][-1]),
        "weights_changed": changed,
    }))
    """
)


def test_mirrored_strategy_trains_on_two_logical_cpus():
    environment = {name: value for name, value in os.environ.items() if name not in course.TPU_ENVIRONMENT_VARIABLES}
    environment.update(CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    run = subprocess.run(
        [sys.executable, "-c", TWO_CPU_TRAINING],
        cwd=course_root(),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result_lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert result_lines, run.stdout + run.stderr
    result = json.loads(result_lines[-1].removeprefix("RESULT "))

    assert len(result["devices"]) == 2
    assert result["strategy"] == "MirroredStrategy"
    assert result["replicas"] == 2
    assert math.isfinite(result["loss"])
    assert result["weights_changed"]
    assert "MirroredStrategy, 2 replicas in sync" in run.stdout


def test_lean_figures_does_nothing_outside_a_notebook():
    assert course.lean_figures() is False


def test_in_a_notebook_figures_are_stored_as_jpeg(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    code = (
        f"import sys\nsys.path.insert(0, {str(course_root())!r})\nfrom helpers import course\n"
        "print(course.lean_figures())\nimport matplotlib.pyplot as plt\nplt.plot([0, 1]); plt.show()"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    assert outputs[0]["text"].strip() == "True"
    assert [sorted(o["data"]) for o in outputs if o["output_type"] == "display_data"] == [["image/jpeg", "text/plain"]]


# ----------------------------------------------------------------------------------------
# Training precision: chosen from the hardware (faked here), and a model that trains in it
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, gpus, expected",
    [
        ({"avx2", "avx512f", "avx512_bf16"}, [], "mixed_bfloat16"),
        ({"avx2", "amx_tile", "amx_bf16"}, [], "mixed_bfloat16"),
        ({"avx2", "avx512f"}, [], "float32"),  # AVX-512 without its bfloat16 part
        (set(), [(7, 5)], "mixed_float16"),  # a T4: tensor cores
        ({"avx512_bf16"}, [(8, 0), (6, 1)], "float32"),  # one GPU without tensor cores decides
    ],
)
def test_precision_follows_the_hardware(monkeypatch, flags, gpus, expected):
    monkeypatch.delenv(course.PRECISION_VARIABLE, raising=False)
    policy, why = course.choose_precision(flags, gpus)
    assert policy == expected
    assert ("GPU" in why) == bool(gpus)


def test_precision_variable_wins_and_a_wrong_one_names_the_variable(monkeypatch):
    monkeypatch.setenv(course.PRECISION_VARIABLE, "Mixed_BFloat16")
    assert course.choose_precision(set(), []) == ("mixed_bfloat16", f"set by {course.PRECISION_VARIABLE}")
    monkeypatch.setenv(course.PRECISION_VARIABLE, "half")
    with pytest.raises(ValueError, match=f"{course.PRECISION_VARIABLE}='half'.*float32"):
        course.choose_precision(set(), [])


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512_bf16\nbugs\t\t: spectre\n")
    assert course.cpu_flags(cpuinfo) == {"fpu", "sse2", "avx512_bf16"}
    assert course.cpu_flags(tmp_path / "missing") == set()


def test_this_machine_without_bfloat16_instructions_trains_in_float32(cpu_only, monkeypatch):
    if set(course.BFLOAT16_CPU_FLAGS) & course.cpu_flags():
        pytest.skip("this CPU has bfloat16 instructions")
    monkeypatch.delenv(course.PRECISION_VARIABLE, raising=False)
    assert course.choose_precision()[0] == "float32"


@pytest.fixture
def bfloat16_policy():
    """Keras's global policy set as on a CPU with AVX512_BF16, restored afterwards."""
    import keras

    line = course.use_precision(flags={"avx512_bf16"}, gpu_capabilities=[])
    yield line
    keras.mixed_precision.set_global_policy("float32")


def test_a_small_unet_trains_in_mixed_bfloat16_with_float32_probabilities_and_loss(bfloat16_policy):
    import keras
    import numpy as np

    from helpers import losses, models

    assert bfloat16_policy.startswith("Training precision: mixed_bfloat16")
    model = models.build_unet((32, 32, 1), filters=2, n_poolings=2, batch_norm=True, dropout=0.0)
    assert model.get_layer("down1_conv1").compute_dtype == "bfloat16"
    assert model.get_layer("down1_conv1").kernel.dtype == "float32", "the weights stay float32"
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=losses.training_loss("bce + dice"))
    rng = np.random.default_rng(0)
    images = rng.random((4, 32, 32, 1), dtype=np.float32)
    masks = (images > 0.5).astype(np.float32)
    history = model.fit(images, masks, batch_size=2, epochs=2, verbose=0)
    probabilities = model.predict(images[:1], verbose=0)
    assert probabilities.dtype == np.float32
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert all(np.isfinite(history.history["loss"]))
    assert losses.soft_dice_loss(masks[:1], probabilities.astype("bfloat16")).dtype == "float32"


def test_run_layer_computes_in_float32_under_mixed_precision(bfloat16_policy):
    import keras
    import numpy as np

    from helpers import models

    image = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]], np.float32)
    kernel = np.full((3, 3), 1 / 9, np.float32)
    result = models.run_layer(keras.layers.Conv2D(1, 3, use_bias=False), image, kernel=kernel)
    assert result.dtype == np.float32 and result.shape == (1, 1)
    assert float(result[0, 0]) == pytest.approx(float(np.sum(image * kernel)), abs=1e-6)
