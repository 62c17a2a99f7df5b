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
