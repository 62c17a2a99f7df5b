"""CPU, GPU or TPU: what will train the model, and the ``tf.distribute`` strategy to use.

Every notebook trains the same way on any machine::

    strategy = hardware.get_strategy()
    with strategy.scope():
        model = models.build_unet(...)
        model.compile(...)
    model.fit(...)

On a laptop or a Colab CPU or T4 GPU runtime this is TensorFlow's default strategy (one
device); on a machine with several GPUs a ``MirroredStrategy``: each device trains on its
share of every batch and the gradients are added up. On a machine where TensorFlow sees a
TPU (a Cloud TPU VM with TensorFlow installed) it is a ``TPUStrategy``. Colab's TPU runtime
is not such a machine: it comes without TensorFlow, and the setup cell says so and names
the runtime to choose instead (``helpers.colab.check_tensorflow``, called by ``start_notebook``).

TensorFlow is imported inside the functions (quietly, through
``helpers.course.import_tensorflow_quietly``), so ``import helpers.hardware`` stays light.
Note that asking TensorFlow for its devices starts its runtime: after that, the devices can
no longer be reconfigured (e.g. split into logical devices) in this Python session.
"""

import contextlib
import logging
import os
import shutil
import subprocess
import warnings
from pathlib import Path

from helpers.colab import in_colab

__all__ = [
    "TPU_ENVIRONMENT_VARIABLES",
    "TPU_DEVICE_FILE",
    "DEVICE_KINDS",
    "list_devices",
    "cpu_core_count",
    "describe_device",
    "device_summary",
    "strategy_kind",
    "tpu_signs",
    "get_strategy",
    "start_notebook",
    "lean_figures",
]

#: Environment variables that say a TPU is attached (Cloud TPU VMs, Colab's old TPU runtime).
TPU_ENVIRONMENT_VARIABLES = ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE")
#: Device file a TPU VM has.
TPU_DEVICE_FILE = Path("/dev/accel0")
DEVICE_KINDS = ("TPU", "GPU", "CPU")


# ----------------------------------------------------------------------------------------
# What is there
# ----------------------------------------------------------------------------------------


def _tensorflow():
    """Return the ``tensorflow`` module, imported without its start-up log lines."""
    from helpers.course import import_tensorflow_quietly

    return import_tensorflow_quietly()


def list_devices():
    """List the devices TensorFlow can compute on, by kind.

    Returns
    -------
    dict
        ``{"TPU": [...], "GPU": [...], "CPU": [...]}``, each a list of logical device names
        such as ``"/device:GPU:0"``; a kind that is absent has an empty list.
    """
    tf = _tensorflow()

    return {kind: [d.name for d in tf.config.list_logical_devices(kind)] for kind in DEVICE_KINDS}


def cpu_core_count():
    """Return the number of CPU cores this Python may use.

    Returns
    -------
    int
    """
    count_cores = getattr(os, "process_cpu_count", os.cpu_count)
    return count_cores() or 1


def describe_device():
    """Describe in a few lines what will do the training work on this machine.

    Never raises because of the hardware: what TensorFlow cannot tell is left out.

    Returns
    -------
    str
        For example ``"Training runs on 1 GPU:\\n  GPU 0: Tesla T4 (compute capability
        7.5, 15.0 GB memory)"``, or the CPU with its number of cores and a tip.
    """
    try:
        devices = list_devices()
    except Exception as error:  # TensorFlow missing or broken: say so, do not crash.
        return f"TensorFlow could not list the devices ({error}). Training would run on the CPU."
    gpus = _gpu_details(devices["GPU"]) if devices["GPU"] else []
    return device_summary(
        n_tpu_cores=len(devices["TPU"]),
        gpus=gpus,
        n_cpu_cores=cpu_core_count(),
        colab=in_colab(),
    )


def device_summary(n_tpu_cores, gpus, n_cpu_cores, colab=False):
    """Write the description of the devices, given what was found (no TensorFlow needed).

    Parameters
    ----------
    n_tpu_cores : int
        Number of TPU cores (0 when there is no TPU).
    gpus : list of dict
        One dict per GPU with the keys ``"name"`` (str), ``"compute_capability"``
        (tuple or None), ``"memory_gb"`` (total memory, float or None) and, optionally,
        ``"memory_in_use_gb"`` (what TensorFlow holds now, float or None).
    n_cpu_cores : int
        Number of CPU cores.
    colab : bool
        Whether this runs in Colab (only changes the wording of the CPU tip).

    Returns
    -------
    str
        A few lines of text.
    """
    if n_tpu_cores > 0:
        return f"Training runs on a TPU with {n_tpu_cores} cores."
    if gpus:
        plural = "s" if len(gpus) > 1 else ""
        lines = [f"Training runs on {len(gpus)} GPU{plural}:"]
        lines += [f"  GPU {index}: {_gpu_line(gpu)}" for index, gpu in enumerate(gpus)]
        return "\n".join(lines)
    where = "Runtime > Change runtime type > T4 GPU" if colab else ("in Colab, Runtime > Change runtime type > T4 GPU")
    return (
        f"Training runs on the CPU ({n_cpu_cores} cores).\n"
        f"Tip: a GPU is optional ({where}); nothing in this course needs it."
    )


def _gpu_line(gpu):
    """Return 'name (compute capability X.Y, N GB memory)' with what is known."""
    details = []
    if gpu.get("compute_capability"):
        major, minor = gpu["compute_capability"]
        details.append(f"compute capability {major}.{minor}")
    if gpu.get("memory_gb"):
        details.append(f"{gpu['memory_gb']:.1f} GB memory")
    elif gpu.get("memory_in_use_gb"):
        details.append(f"{gpu['memory_in_use_gb']:.1f} GB in use by TensorFlow")
    name = gpu.get("name") or "unnamed GPU"
    return f"{name} ({', '.join(details)})" if details else name


def _gpu_details(gpu_names):
    """Return name, compute capability and memory of each GPU, with None where unknown."""
    tf = _tensorflow()

    try:
        physical = tf.config.list_physical_devices("GPU")
    except Exception:
        physical = []
    totals = _nvidia_smi_memory_gb(expected_count=len(physical))
    gpus = []
    for index, name in enumerate(gpu_names):
        gpu = {"name": name, "compute_capability": None, "memory_gb": None}
        if index < len(physical):
            gpu.update(_tensorflow_gpu_details(physical[index]))
        if index < len(totals):
            gpu["memory_gb"] = totals[index]
        else:
            gpu["memory_in_use_gb"] = _memory_in_use_gb(name)
        gpus.append(gpu)
    return gpus


def _tensorflow_gpu_details(physical_gpu):
    """Return what ``tf.config.experimental.get_device_details`` says about one GPU."""
    tf = _tensorflow()

    try:
        details = tf.config.experimental.get_device_details(physical_gpu)
    except Exception:
        return {}
    found = {}
    if details.get("device_name"):
        found["name"] = details["device_name"]
    if details.get("compute_capability"):
        found["compute_capability"] = tuple(details["compute_capability"])
    return found


def _memory_in_use_gb(logical_gpu_name):
    """Return the GPU memory TensorFlow holds now (GB), or None; the best TF can tell alone."""
    tf = _tensorflow()

    try:
        used = tf.config.experimental.get_memory_info(logical_gpu_name)["current"]
    except Exception:
        return None
    return used / 1e9 if used else None


def _nvidia_smi_memory_gb(expected_count):
    """Return the total memory of each GPU from ``nvidia-smi`` (GB), or [] when unsure.

    TensorFlow does not report a GPU's total memory. ``nvidia-smi`` does, but its numbering
    matches TensorFlow's only when all GPUs are visible, so anything else gives [].
    """
    if expected_count == 0 or "CUDA_VISIBLE_DEVICES" in os.environ:
        return []
    if shutil.which("nvidia-smi") is None:
        return []
    command = ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10, check=True)
        totals = [float(line) / 1024 for line in result.stdout.split()]
    except Exception:
        return []
    return totals if len(totals) == expected_count else []


# ----------------------------------------------------------------------------------------
# Which strategy
# ----------------------------------------------------------------------------------------


def strategy_kind(n_tpu_cores, n_gpus, n_requested_devices=0):
    """Decide which kind of ``tf.distribute`` strategy fits the devices found.

    Parameters
    ----------
    n_tpu_cores : int
        Number of TPU cores found (0 when there is no TPU).
    n_gpus : int
        Number of GPUs found.
    n_requested_devices : int
        Number of devices named explicitly by the caller (0 when none were named).

    Returns
    -------
    str
        ``"tpu"`` when there is a TPU; ``"mirrored"`` when two or more devices were named
        or there are two or more GPUs; ``"default"`` otherwise (one GPU or the CPU).
    """
    for label, value in [
        ("n_tpu_cores", n_tpu_cores),
        ("n_gpus", n_gpus),
        ("n_requested_devices", n_requested_devices),
    ]:
        if not isinstance(value, int) or value < 0:
            raise ValueError(
                f"{label} should be a whole number, 0 or more, got {value!r}. "
                "Pass how many devices of that kind there are, e.g. 0 or 2."
            )
    if n_tpu_cores > 0:
        return "tpu"
    if n_requested_devices >= 2 or n_gpus >= 2:
        return "mirrored"
    return "default"


def tpu_signs():
    """List the signs that a TPU is attached, without contacting anything.

    Returns
    -------
    list of str
        E.g. ``["environment variable COLAB_TPU_ADDR"]``; empty on an ordinary machine.
    """
    signs = [f"environment variable {name}" for name in TPU_ENVIRONMENT_VARIABLES if os.environ.get(name)]
    if TPU_DEVICE_FILE.exists():
        signs.append(f"device file {TPU_DEVICE_FILE}")
    try:
        tf = _tensorflow()

        if tf.config.list_logical_devices("TPU"):
            signs.append("TensorFlow lists TPU devices")
    except Exception:
        pass
    return signs


def get_strategy(devices=None):
    """Return the ``tf.distribute`` strategy to build and train the model with.

    - a TPU that TensorFlow can use: ``TPUStrategy``. This applies on a machine where
      TensorFlow is installed and sees a TPU (a Cloud TPU VM); not in Colab's TPU runtime,
      which has no TensorFlow. The TPU is looked for only when there is a sign of one, so
      an ordinary machine never waits for a TPU service;
    - several GPUs, or a list of two or more device names: ``MirroredStrategy``;
    - otherwise TensorFlow's default strategy (one GPU, or the CPU).

    Prints one line: the strategy and how many devices train in sync.

    Parameters
    ----------
    devices : list of str, optional
        Names of two or more devices to train on together, e.g.
        ``["/cpu:0", "/cpu:1"]`` or ``["/gpu:0", "/gpu:1"]``. Leave out to let the
        course choose from what is there.

    Returns
    -------
    tf.distribute.Strategy
    """
    tf = _tensorflow()

    devices = _check_device_names(devices)
    resolver = _connect_to_tpu() if tpu_signs() else None
    n_tpu_cores = len(tf.config.list_logical_devices("TPU")) if resolver is not None else 0
    n_gpus = len(tf.config.list_logical_devices("GPU"))
    kind = strategy_kind(n_tpu_cores, n_gpus, len(devices or []))
    if kind == "tpu":
        if devices:
            print(f"A TPU is attached, so it is used instead of the devices {devices}.")
        strategy = tf.distribute.TPUStrategy(resolver)
    elif kind == "mirrored":
        strategy = tf.distribute.MirroredStrategy(devices)
    else:
        strategy = tf.distribute.get_strategy()
    print(_strategy_line(strategy, kind))
    return strategy


def _check_device_names(devices):
    """Return ``devices`` as a list of known device names, or None; raise clear errors."""
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
    tf = _tensorflow()

    known = {_device_key(d.name) for d in tf.config.list_logical_devices()}
    unknown = [d for d in devices if _device_key(d) not in known]
    if unknown:
        raise ValueError(
            f"TensorFlow has no device named {', '.join(unknown)}. The devices here are "
            f"{sorted(d.name for d in tf.config.list_logical_devices())}; "
            "use those names (hardware.list_devices() lists them by kind)."
        )
    return devices


def _device_key(name):
    """Return ('CPU', 0)-style key for a device name, so '/cpu:0' matches '/device:CPU:0'."""
    tf = _tensorflow()

    try:
        spec = tf.DeviceSpec.from_string(name)
    except Exception:
        return (name, None)
    return ((spec.device_type or "").upper(), spec.device_index)


def _connect_to_tpu():
    """Connect to and start the TPU; return its cluster resolver, or None if that fails."""
    tf = _tensorflow()

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
            f"There are signs of a TPU ({', '.join(tpu_signs())}), but TensorFlow could not "
            f"start it ({type(error).__name__}: {error}). Training goes on without the TPU. "
            "Restarting the Python session (Jupyter: Kernel > Restart) and running again often helps."
        )
        return None
    return resolver


def _strategy_line(strategy, kind):
    """Return one line that names the strategy and its number of replicas."""
    name = "default strategy (one device)" if kind == "default" else type(strategy).__name__
    replicas = strategy.num_replicas_in_sync
    plural = "s" if replicas != 1 else ""
    return f"Training strategy: {name}, {replicas} replica{plural} in sync."


def start_notebook(requirements_file=None):
    """Prepare this Python for a course notebook: the one call of every notebook's setup cell.

    1. TensorFlow is imported quietly (``import_tensorflow_quietly``), so its log lines
       never reach the notebook (``helpers.course.import_tensorflow_quietly``); where TensorFlow is absent this step is left out.
    2. In Colab: on a runtime without TensorFlow (Colab's TPU runtime) it stops with one
       message that says which runtime to choose; otherwise it installs only the packages
       that are absent, never changing one that Colab has (``colab.install_missing``).
    3. It prints the versions of Python and the main packages, and the device that trains.
    4. In a notebook, figures are shown as JPEG (quality 85) at 80 dpi: a saved notebook stays
       small and readable on GitHub, and the grids of images look the same.
    5. Keras's warning that ``shuffle=True`` is ignored for ``tf.data`` input is silenced: the
       course's batches are random crops already.

    Parameters
    ----------
    requirements_file : str or pathlib.Path, optional
        The course's requirements file; ``requirements.txt`` in the course folder if left out.

    Raises
    ------
    helpers.colab.NoTensorFlowError
        In Colab, when TensorFlow is not installed (in a notebook only its message shows).
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
    """In an IPython kernel, show matplotlib figures as JPEG at ``dpi``; elsewhere do nothing.

    Returns
    -------
    bool
        True when a kernel was found and set.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    import matplotlib

    matplotlib.rcParams["figure.dpi"] = dpi
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("jpeg", pil_kwargs={"quality": quality})
    return True
