"""Tests for helpers.hardware: the strategy decision, the device description, and training
with a MirroredStrategy on two logical CPU devices in a fresh Python.
"""

import json
import math
import os
import re
import subprocess
import sys
import textwrap

import pytest

from helpers import hardware
from helpers.course import course_root

# ----------------------------------------------------------------------------------------
# Pure decisions (no TensorFlow)
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_tpu_cores", "n_gpus", "n_requested_devices", "expected"),
    [
        (0, 0, 0, "default"),
        (0, 1, 0, "default"),
        (0, 2, 0, "mirrored"),
        (0, 8, 0, "mirrored"),
        (0, 0, 2, "mirrored"),
        (0, 1, 3, "mirrored"),
        (0, 0, 1, "default"),
        (8, 0, 0, "tpu"),
        (8, 2, 0, "tpu"),
        (8, 0, 2, "tpu"),
    ],
)
def test_strategy_kind_decision_table(n_tpu_cores, n_gpus, n_requested_devices, expected):
    assert hardware.strategy_kind(n_tpu_cores, n_gpus, n_requested_devices) == expected


@pytest.mark.parametrize("bad", [-1, 1.5, "2", None])
def test_strategy_kind_rejects_counts_that_are_not_whole_numbers(bad):
    with pytest.raises(ValueError, match="n_gpus"):
        hardware.strategy_kind(0, bad)


def test_device_summary_names_the_gpus_and_their_memory():
    gpus = [
        {"name": "Tesla T4", "compute_capability": (7, 5), "memory_gb": 15.0},
        {"name": "/device:GPU:1", "compute_capability": None, "memory_gb": None},
    ]
    text = hardware.device_summary(n_tpu_cores=0, gpus=gpus, n_cpu_cores=2)
    assert text.splitlines() == [
        "Training runs on 2 GPUs:",
        "  GPU 0: Tesla T4 (compute capability 7.5, 15.0 GB memory)",
        "  GPU 1: /device:GPU:1",
    ]


def test_device_summary_without_total_memory_says_what_tensorflow_holds():
    gpu = {"name": "Tesla T4", "compute_capability": None, "memory_gb": None}
    gpu["memory_in_use_gb"] = 0.3
    text = hardware.device_summary(n_tpu_cores=0, gpus=[gpu], n_cpu_cores=2)
    assert text.splitlines()[1] == "  GPU 0: Tesla T4 (0.3 GB in use by TensorFlow)"


def test_device_summary_on_a_tpu():
    assert "TPU with 8 cores" in hardware.device_summary(8, [], 2)


def test_device_summary_on_a_cpu_gives_the_colab_tip():
    in_colab = hardware.device_summary(0, [], 4, colab=True)
    assert "CPU (4 cores)" in in_colab
    assert "Runtime > Change runtime type" in in_colab
    assert "nothing in this course needs it" in in_colab


@pytest.mark.parametrize("colab", [True, False])
def test_device_summary_claims_no_speed_up_that_was_never_measured(colab):
    text = hardware.device_summary(0, [], 2, colab=colab)
    assert "faster" not in text
    assert re.search(r"\d+\s*(-\s*\d+\s*)?(x|times)\b", text) is None, text


def test_hardware_offers_only_what_the_notebooks_use():
    assert not hasattr(hardware, "use_mixed_precision_if_useful")
    assert not hasattr(hardware, "mixed_precision_policy_for")
    assert {"describe_device", "get_strategy"} <= set(hardware.__all__)


def test_get_strategy_says_where_its_tpu_path_applies():
    doc = hardware.get_strategy.__doc__
    assert "sees a TPU" in doc and "not in Colab's TPU runtime" in doc


def test_tpu_signs_are_found_in_the_environment(monkeypatch):
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert "environment variable COLAB_TPU_ADDR" in hardware.tpu_signs()


# ----------------------------------------------------------------------------------------
# On this machine (TensorFlow in this process)
# ----------------------------------------------------------------------------------------


@pytest.fixture
def cpu_only(monkeypatch):
    """Skip on machines with a GPU or TPU; clear TPU variables so nothing looks for one."""
    for name in hardware.TPU_ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    devices = hardware.list_devices()
    if devices["GPU"] or devices["TPU"] or hardware.TPU_DEVICE_FILE.exists():
        pytest.skip("this test describes a machine with only a CPU")
    return devices


def test_list_devices_has_every_kind_and_a_cpu(cpu_only):
    assert set(cpu_only) == {"TPU", "GPU", "CPU"}
    assert cpu_only["CPU"], "TensorFlow should always list a CPU"


def test_describe_device_on_this_cpu_says_cpu_and_the_cores(cpu_only):
    text = hardware.describe_device()
    assert f"CPU ({hardware.cpu_core_count()} cores)" in text
    assert "Change runtime type" in text


def test_get_strategy_here_is_the_default_with_one_replica(cpu_only, capsys):
    import tensorflow as tf

    strategy = hardware.get_strategy()

    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert "default strategy (one device), 1 replica in sync" in capsys.readouterr().out


def test_get_strategy_rejects_a_single_device_name(cpu_only):
    with pytest.raises(ValueError, match="two or more"):
        hardware.get_strategy(devices=["/cpu:0"])


def test_get_strategy_rejects_unknown_device_names(cpu_only):
    with pytest.raises(ValueError, match="no device named /gpu:7"):
        hardware.get_strategy(devices=["/cpu:0", "/gpu:7"])


def test_get_strategy_rejects_a_single_text_as_devices(cpu_only):
    with pytest.raises(TypeError, match="list of device names"):
        hardware.get_strategy(devices="/cpu:0")


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

    from helpers import hardware

    names = [device.name for device in tf.config.list_logical_devices("CPU")]
    strategy = hardware.get_strategy(devices=names)
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
    environment = {name: value for name, value in os.environ.items() if name not in hardware.TPU_ENVIRONMENT_VARIABLES}
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
    assert hardware.lean_figures() is False


def test_in_a_notebook_figures_are_stored_as_jpeg(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    code = (
        f"import sys\nsys.path.insert(0, {str(course_root())!r})\nfrom helpers import hardware\n"
        "print(hardware.lean_figures())\nimport matplotlib.pyplot as plt\nplt.plot([0, 1]); plt.show()"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    assert outputs[0]["text"].strip() == "True"
    assert [sorted(o["data"]) for o in outputs if o["output_type"] == "display_data"] == [["image/jpeg", "text/plain"]]
