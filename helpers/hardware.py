"""CPU, GPU or TPU: what trains the model, and the ``tf.distribute`` strategy to use.

Every notebook builds and compiles its model in ``with hardware.get_strategy().scope():``.
TensorFlow is imported inside the functions, so ``import helpers.hardware`` stays light.
"""

import contextlib
import logging
import os
import warnings
from pathlib import Path

from helpers.colab import in_colab

__all__ = ["TPU_ENVIRONMENT_VARIABLES", "describe_device", "get_strategy", "start_notebook", "lean_figures"]

#: Environment variables that say a TPU is attached (Cloud TPU VMs, Colab's old TPU runtime).
TPU_ENVIRONMENT_VARIABLES = ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE")
#: Device file a TPU VM has.
TPU_DEVICE_FILE = Path("/dev/accel0")


def _tensorflow():
    """Return the ``tensorflow`` module, imported without its start-up log lines."""
    from helpers.course import import_tensorflow_quietly

    return import_tensorflow_quietly()


def describe_device():
    """Describe in a few lines what trains on this machine (never raises because of the hardware)."""
    try:
        tf = _tensorflow()
        n_tpu_cores = len(tf.config.list_logical_devices("TPU"))
        gpus = tf.config.list_physical_devices("GPU")
    except Exception as error:  # TensorFlow missing or broken: say so, do not crash.
        return f"TensorFlow could not list the devices ({error}). Training would run on the CPU."
    if n_tpu_cores:
        return f"Training runs on a TPU with {n_tpu_cores} cores."
    if gpus:
        lines = [f"Training runs on {len(gpus)} GPU{'s' if len(gpus) > 1 else ''}:"]
        return "\n".join(lines + [f"  GPU {index}: {_gpu_line(tf, gpu)}" for index, gpu in enumerate(gpus)])
    cores = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    where = (
        "Runtime > Change runtime type > T4 GPU" if in_colab() else "in Colab, Runtime > Change runtime type > T4 GPU"
    )
    return (
        f"Training runs on the CPU ({cores} cores).\nTip: a GPU is optional ({where}); nothing in this course needs it."
    )


def _gpu_line(tf, gpu):
    try:
        details = tf.config.experimental.get_device_details(gpu)
    except Exception:
        details = {}
    name = details.get("device_name") or gpu.name
    if details.get("compute_capability"):
        major, minor = details["compute_capability"]
        return f"{name} (compute capability {major}.{minor})"
    return name


def _tpu_signs(tf):
    """List the signs that a TPU is attached, without contacting anything."""
    signs = [f"environment variable {name}" for name in TPU_ENVIRONMENT_VARIABLES if os.environ.get(name)]
    if TPU_DEVICE_FILE.exists():
        signs.append(f"device file {TPU_DEVICE_FILE}")
    with contextlib.suppress(Exception):
        if tf.config.list_logical_devices("TPU"):
            signs.append("TensorFlow lists TPU devices")
    return signs


def get_strategy(devices=None):
    """Return the ``tf.distribute`` strategy to build and train the model with; print one line.

    ``TPUStrategy`` where TensorFlow sees a TPU (looked for only when there is a sign of one);
    ``MirroredStrategy`` on several GPUs or on two or more ``devices`` (e.g. ``["/cpu:0", "/cpu:1"]``);
    otherwise the default strategy (one GPU, or the CPU).
    """
    tf = _tensorflow()
    devices = _check_device_names(tf, devices)
    signs = _tpu_signs(tf)
    resolver = _connect_to_tpu(tf, signs) if signs else None
    if resolver is not None and tf.config.list_logical_devices("TPU"):
        if devices:
            print(f"A TPU is attached, so it is used instead of the devices {devices}.")
        strategy, name = tf.distribute.TPUStrategy(resolver), "TPUStrategy"
    elif devices or len(tf.config.list_logical_devices("GPU")) >= 2:
        strategy, name = tf.distribute.MirroredStrategy(devices), "MirroredStrategy"
    else:
        strategy, name = tf.distribute.get_strategy(), "default strategy (one device)"
    replicas = strategy.num_replicas_in_sync
    print(f"Training strategy: {name}, {replicas} replica{'s' if replicas != 1 else ''} in sync.")
    return strategy


def _check_device_names(tf, devices):
    """Return ``devices`` as a list of known device names, or None."""
    if devices is None:
        return None
    if isinstance(devices, str) or not all(isinstance(d, str) for d in devices):
        raise TypeError(
            f"devices should be a list of device names, got {devices!r}. "
            "Write e.g. devices=['/cpu:0', '/cpu:1'], with the brackets, or leave it out."
        )
    devices = list(devices)
    if len(devices) < 2:
        raise ValueError(
            f"devices should name two or more devices to train on together, got {devices}. "
            "Leave devices out to train on one device; the course then picks the best one."
        )

    def key(name):  # '/cpu:0' and '/device:CPU:0' name the same device
        try:
            spec = tf.DeviceSpec.from_string(name)
        except Exception:
            return (name, None)
        return ((spec.device_type or "").upper(), spec.device_index)

    known = sorted(d.name for d in tf.config.list_logical_devices())
    unknown = [d for d in devices if key(d) not in {key(k) for k in known}]
    if unknown:
        raise ValueError(
            f"TensorFlow has no device named {', '.join(unknown)}. The devices here are {known}; use those names."
        )
    return devices


def _connect_to_tpu(tf, signs):
    """Connect to and start the TPU; return its cluster resolver, or None if that fails."""
    if os.environ.get("TPU_NAME"):
        address = os.environ["TPU_NAME"]
    elif os.environ.get("COLAB_TPU_ADDR"):
        address = "grpc://" + os.environ["COLAB_TPU_ADDR"]
    else:
        address = "local"
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as error:
        print(
            f"There are signs of a TPU ({', '.join(signs)}), but TensorFlow could not "
            f"start it ({type(error).__name__}: {error}). Training goes on without the TPU. "
            "Restarting the Python session (Jupyter: Kernel > Restart) and running again often helps."
        )
        return None
    return resolver


def start_notebook(requirements_file=None):
    """Prepare this Python for a course notebook: the one call of every notebook's setup cell.

    In Colab: stop on a runtime without TensorFlow, install only what is absent. Everywhere: import
    TensorFlow quietly, silence Keras's ``shuffle=True`` warning, store figures as small JPEGs and
    print the versions and the device.
    """
    from helpers import colab
    from helpers.course import course_root, import_tensorflow_quietly, versions_line

    if colab.in_colab():
        colab.check_tensorflow()
        colab.install_missing(requirements_file or course_root() / "requirements.txt")
    with contextlib.suppress(ImportError):
        import_tensorflow_quietly()
    warnings.filterwarnings("ignore", message="`shuffle=True` was passed", category=UserWarning)
    # TensorFlow's Python warnings (e.g. "5 out of the last 10 calls ... triggered tf.function retracing")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    lean_figures()
    print(versions_line())
    print(describe_device())


def lean_figures(dpi=80, quality=85):
    """In an IPython kernel, show matplotlib figures as JPEG at ``dpi``; return whether it did."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    import matplotlib
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    matplotlib.rcParams["figure.dpi"] = dpi
    set_matplotlib_formats("jpeg", pil_kwargs={"quality": quality})
    return True
