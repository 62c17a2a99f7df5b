"""The notebook's environment: where the course lives, its modes and versions, Google Colab and Drive,
the device that trains (CPU, GPU or TPU), its precision and its ``tf.distribute`` strategy.

Standard library only at import, so the setup cell can use it before anything is installed (TensorFlow
is imported inside the functions). The setup cell's one call is :func:`start_notebook`.
"""

import contextlib
import logging
import os
import platform
import re
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

__all__ = [
    "REPOSITORY_URL",
    "MODES",
    "OUTPUTS_VARIABLE",
    "course_root",
    "colab_url",
    "choose_mode",
    "package_versions",
    "versions_line",
    "import_tensorflow_quietly",
    "DRIVE_MOUNT_POINT",
    "NoTensorFlowError",
    "in_colab",
    "mount_drive",
    "check_tensorflow",
    "install_missing",
    "TPU_ENVIRONMENT_VARIABLES",
    "describe_device",
    "PRECISION_VARIABLE",
    "cpu_flags",
    "choose_precision",
    "use_precision",
    "get_strategy",
    "start_notebook",
    "lean_figures",
]

#: The one place the repository address is written. When you fork the course, change it here
#: and in the README and notebooks; ``tests/test_course.py`` tells you what still disagrees.
REPOSITORY_URL = "https://github.com/unet-workshop/unet-segmentation-course"
#: Branch that Colab badges open.
BRANCH = "main"

#: Environment variable that selects the mode: ``smoke`` (tests) or ``default`` (students).
MODE_VARIABLE = "UNET_COURSE_MODE"
MODES = ("default", "smoke")
#: Environment variable naming the folder for results outside Colab (default: ``outputs/`` of the course).
OUTPUTS_VARIABLE = "UNET_COURSE_OUTPUTS"
#: Environment variables that keep TensorFlow's C++ log lines (INFO, WARNING and ERROR, such
#: as the CPU's ``failed call to cuInit``) out of the notebooks; read when TensorFlow loads.
QUIET_TENSORFLOW = {"TF_CPP_MIN_LOG_LEVEL": "3"}


def course_root():
    """Return the folder that holds ``helpers/``, ``notebooks/`` and ``data/``."""
    return Path(__file__).resolve().parent.parent


def colab_url(notebook_name):
    """Return the address that opens ``notebooks/<notebook_name>`` of this repository in Google Colab."""
    github_path = REPOSITORY_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{github_path}/blob/{BRANCH}/notebooks/{notebook_name}"


def choose_mode(mode_from_form="default"):
    """Return ``"default"`` or ``"smoke"``: ``UNET_COURSE_MODE`` wins over the notebook's form (tests use it)."""
    mode = os.environ.get(MODE_VARIABLE, mode_from_form).strip().lower()
    if mode not in MODES:
        raise ValueError(
            f"Unknown mode {mode!r} (from {MODE_VARIABLE} or the parameters cell). Use one of {', '.join(MODES)}."
        )
    return mode


def package_versions(names=("tensorflow", "keras", "numpy", "scikit-image", "matplotlib")):
    """Return ``{name: installed version or "not installed"}`` for pip's distribution names."""
    return {name: _installed_version(name) or "not installed" for name in names}


def versions_line():
    """Return one line with the Python version and the versions of the main packages."""
    parts = [f"Python {platform.python_version()}"]
    parts += [f"{name} {ver}" for name, ver in package_versions().items()]
    return " | ".join(parts)


def import_tensorflow_quietly():
    """Import and return TensorFlow without the C++ log lines it prints while loading (shown if the import fails)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.update(QUIET_TENSORFLOW)
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import tensorflow
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", "replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
    return tensorflow


# ---- Google Colab and Google Drive: detect Colab, keep results on Drive, install what is absent

#: Where Google Drive is mounted in Colab. Tests point this at a temporary folder.
DRIVE_MOUNT_POINT = Path("/content/drive")
#: Packages the course never installs: Colab has them, and locally ``course.py start`` does.
NEVER_INSTALL = ("tensorflow", "tensorflow-cpu", "keras")
#: What of the course needs a package, for the message about a version outside the range.
USED_FOR = {
    "tensorflow": "building and training every model",
    "keras": "building and training every model",
    "numpy": "every cell that handles images",
    "scipy": "the instance and distance-map cells (notebook 07)",
    "scikit-image": "reading, resizing and labelling images",
    "scikit-learn": "the random-forest pixel classifier (notebook 02)",
    "matplotlib": "every figure",
    "ipywidgets": "the interactive explorers (sliders); the static figures beside them still show",
    "setuptools": "importing keras-unet",
}
NO_TENSORFLOW_MESSAGE = (
    "This course runs on TensorFlow, which this Colab runtime does not have: Colab's TPU runtime comes without "
    "TensorFlow (its Keras runs on JAX).\nChoose Runtime > Change runtime type > T4 GPU (or CPU), click Save, then "
    "run the notebook again from the top. Every notebook also runs on a CPU runtime."
)


def in_colab():
    """True inside a Google Colab kernel (``google.colab`` loaded or ``COLAB_RELEASE_TAG`` set)."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def mount_drive(folder_name="unet-course", *, local_folder=None):
    """Return a folder for results that outlives the session: ``MyDrive/<folder_name>`` in Colab.

    Created if missing, nothing in it deleted. Outside Colab: ``outputs/<folder_name>`` in the course
    folder (or in the folder the environment variable ``UNET_COURSE_OUTPUTS`` names), or ``local_folder``.
    """
    if not isinstance(folder_name, str) or not folder_name.strip():
        raise ValueError(
            f"folder_name should be a non-empty text such as 'unet-course', got {folder_name!r}. Pass the name of "
            "the folder for your results, e.g. mount_drive('unet-course')."
        )
    if Path(folder_name).is_absolute() or ".." in Path(folder_name).parts:
        raise ValueError(
            f"folder_name should be a folder name inside your Drive, such as 'unet-course', got {folder_name!r}. "
            "Leave out leading '/' and '..'; to choose a folder on this computer, use local_folder=... instead."
        )
    if in_colab():
        my_drive = Path(DRIVE_MOUNT_POINT) / "MyDrive"
        if my_drive.is_dir():
            print(f"Google Drive is already mounted at {DRIVE_MOUNT_POINT}.")
        else:
            from google.colab import drive

            drive.mount(str(DRIVE_MOUNT_POINT))
        if not my_drive.is_dir():
            raise RuntimeError(
                f"Google Drive was mounted, but {my_drive} does not exist. Run the cell again and allow access to "
                "your Google Drive when Colab asks."
            )
        folder = my_drive / folder_name
        message = (
            f"Results are saved on your Google Drive in MyDrive/{folder_name} ({folder}); they stay there after this "
            "Colab session ends."
        )
    else:
        if local_folder is None:
            folder = Path(os.environ.get(OUTPUTS_VARIABLE) or course_root() / "outputs") / folder_name
        elif isinstance(local_folder, (str, os.PathLike)):
            folder = Path(local_folder).expanduser()
        else:
            raise TypeError(
                f"local_folder should be a folder path (text or pathlib.Path), got {type(local_folder).__name__}. "
                "Pass e.g. local_folder='my-results', or leave it out."
            )
        message = (
            "This notebook is not running in Google Colab, so Google Drive is not used. Results (trained models, "
            f"training histories) are saved in this folder on this computer instead: {folder}"
        )
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(
            f"{folder} exists but is a file, not a folder. Rename or move that file, or choose another folder name."
        )
    folder.mkdir(parents=True, exist_ok=True)
    print(message)
    return folder


class NoTensorFlowError(RuntimeError):
    """Raised in a Colab runtime without TensorFlow; IPython shows its message, no traceback."""

    def _render_traceback_(self):
        return str(self).splitlines()


def check_tensorflow():
    """Raise ``NoTensorFlowError`` when this Python has no TensorFlow (Colab's TPU runtime)."""
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None:
        raise NoTensorFlowError(NO_TENSORFLOW_MESSAGE)


def install_missing(requirements_file):
    """Install the requirements whose package is absent; never change an installed package.

    pip runs with every installed package held at its version; a package outside the course's range
    is left as it is, with a warning. TensorFlow and Keras (``NEVER_INSTALL``) are never installed.
    Returns the requirements installed.
    """
    from packaging.utils import canonicalize_name

    unsatisfied = _unsatisfied(_read_requirements(requirements_file))
    absent = [r for r in unsatisfied if _installed_version(r.name) is None]
    to_install = [str(r) for r in absent if canonicalize_name(r.name) not in NEVER_INSTALL]
    for requirement in unsatisfied:
        if requirement not in absent:
            print(_out_of_range_warning(requirement))
        elif str(requirement) not in to_install:
            print(_never_install_warning(requirement))
    if not unsatisfied:
        print(f"All requirements of {requirements_file} are already installed; nothing to do.")
    if to_install:
        _pip_install_keeping_installed(to_install)
    return to_install


def _read_requirements(requirements_file):
    """Parse a requirements file into ``packaging`` Requirement objects, in file order."""
    from packaging.requirements import InvalidRequirement, Requirement

    path = Path(requirements_file)
    if not path.is_file():
        raise FileNotFoundError(
            f"Requirements file not found: {path} (full path {path.absolute()}). Pass the path of the course's "
            "requirements.txt; from the notebooks/ folder that is '../requirements.txt'."
        )
    requirements = []
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not text or text.startswith("-"):
            continue
        try:
            requirements.append(Requirement(text))
        except InvalidRequirement as error:
            raise ValueError(
                f"{path}, line {line_number}: {line.strip()!r} is not a requirement pip's format understands "
                f"({error}). Write it like 'numpy>=1.26' or 'scikit-image>=0.22,<1'."
            ) from error
    return requirements


def _unsatisfied(requirements):
    """Keep the requirements that apply here and are not installed in an allowed version."""
    from packaging.version import InvalidVersion, Version

    unsatisfied = []
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        installed = _installed_version(requirement.name)
        try:
            allowed = installed is not None and requirement.specifier.contains(Version(installed), prereleases=True)
        except InvalidVersion:
            allowed = not requirement.specifier
        if not allowed:
            unsatisfied.append(requirement)
    return unsatisfied


def _installed_version(name):
    """Return the installed version of a package, or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _out_of_range_warning(requirement):
    from packaging.utils import canonicalize_name

    used_for = USED_FOR.get(canonicalize_name(requirement.name), f"the cells that use {requirement.name}")
    where = "This Colab runtime" if in_colab() else "This Python"
    return (
        f"WARNING: {where} has {requirement.name} {_installed_version(requirement.name)}; the course is made for "
        f"{requirement} (requirements.txt). The course leaves the installed version as it is.\n  What may fail: "
        f"{used_for}.\n  What to do: go on; if a cell fails, choose Runtime > Disconnect and delete runtime for a "
        "fresh runtime and run again from the top. If it still fails, run "
        f'!pip install "{requirement}" in a new cell, then Runtime > Restart session '
        "(this may break other preinstalled packages), and tell the course team which version you saw."
    )


def _never_install_warning(requirement):
    if in_colab():
        advice = (
            f"The course never installs {requirement.name} in Colab, because a second copy would break Colab's GPU "
            "set-up. Choose Runtime > Disconnect and delete runtime to get a fresh Colab runtime (a CPU or T4 GPU "
            "one), which has it."
        )
    else:
        advice = (
            f"The course does not install {requirement.name} into this Python. Run `python3 course.py start`, which "
            "sets up a virtual environment with the right versions, and open the notebooks from there."
        )
    return f"WARNING: the course needs {requirement}, but it is not installed. {advice}"


def _installed_pins():
    """Return ``name==version`` for every installed distribution, one per package name."""
    from importlib.metadata import distributions

    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    pins = {}
    for distribution in distributions():
        name = canonicalize_name(distribution.metadata["Name"] or "")
        if not name or name in pins:
            continue  # the first one found is the one Python imports
        try:
            Version(distribution.version)
        except InvalidVersion:
            continue  # pip cannot pin what it cannot read; it leaves such a package alone
        pins[name] = f"{name}=={distribution.version}"
    return sorted(pins.values())


def _pip_install_keeping_installed(requirement_strings):
    """Install with this Python's pip, holding every installed package at its version."""
    print(f"Installing: {', '.join(requirement_strings)}")
    with tempfile.TemporaryDirectory(prefix="unet-course-pins-") as folder:
        constraints = Path(folder) / "installed.txt"
        constraints.write_text("\n".join(_installed_pins()) + "\n", encoding="utf-8")
        command = [sys.executable, "-m", "pip", "install", "-q", "-c", str(constraints), *requirement_strings]
        try:
            subprocess.run(command, check=True)
        except subprocess.CalledProcessError as error:
            raise RuntimeError(
                f"pip could not install {', '.join(requirement_strings)} (exit status {error.returncode}) without "
                "changing a package that is already installed, and the course never changes those. Read pip's "
                "messages above: a conflict names the package, a network error means checking the connection and "
                "running the cell again."
            ) from error


# ---- CPU, GPU or TPU: what trains the model, and the tf.distribute strategy to use

#: Environment variables that say a TPU is attached (Cloud TPU VMs, Colab's old TPU runtime).
TPU_ENVIRONMENT_VARIABLES = ("COLAB_TPU_ADDR", "TPU_NAME", "TPU_ACCELERATOR_TYPE")
#: Device file a TPU VM has.
TPU_DEVICE_FILE = Path("/dev/accel0")


def _tensorflow():
    """Return the ``tensorflow`` module, imported without its start-up log lines."""
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


def _gpu_details(tf, gpu):
    """TensorFlow's details of a GPU (``device_name``, ``compute_capability``), or {} when it has none."""
    with contextlib.suppress(Exception):
        return tf.config.experimental.get_device_details(gpu)
    return {}


def _gpu_line(tf, gpu):
    details = _gpu_details(tf, gpu)
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


#: Environment variable that overrides the chosen precision (one of :data:`PRECISIONS`).
PRECISION_VARIABLE = "UNET_COURSE_PRECISION"
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
#: Linux CPU flags of bfloat16 arithmetic (AVX512_BF16, AMX).
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """Return the CPU's feature flags as a set (empty where ``cpuinfo`` cannot be read: macOS, Windows)."""
    try:
        lines = Path(cpuinfo).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return set()
    return {flag for line in lines if line.startswith("flags") for flag in line.partition(":")[2].split()}


def choose_precision(flags=None, gpu_capabilities=None):
    """Return ``(Keras dtype policy, why)`` for training on this machine.

    ``mixed_float16`` on GPUs with tensor cores (compute capability 7.0 or more), ``mixed_bfloat16`` on
    CPUs with AVX512_BF16 or AMX, ``float32`` elsewhere; the weights stay float32 in every case. The
    environment variable ``UNET_COURSE_PRECISION`` wins. ``flags`` and ``gpu_capabilities`` default to
    this machine's (:func:`cpu_flags`, TensorFlow's GPUs).
    """
    chosen = os.environ.get(PRECISION_VARIABLE, "").strip().lower()
    if chosen:
        if chosen not in PRECISIONS:
            raise ValueError(f"{PRECISION_VARIABLE}={chosen!r} is not a precision; use one of {', '.join(PRECISIONS)}.")
        return chosen, f"set by {PRECISION_VARIABLE}"
    if gpu_capabilities is None:  # (0, 0) for a GPU that does not say
        gpu_capabilities = []
        with contextlib.suppress(Exception):  # no TensorFlow: no GPU to use
            tf = _tensorflow()
            details = [_gpu_details(tf, gpu) for gpu in tf.config.list_physical_devices("GPU")]
            gpu_capabilities = [tuple(gpu.get("compute_capability") or (0, 0)) for gpu in details]
    if gpu_capabilities:
        lowest = min(gpu_capabilities)
        if lowest >= (7, 0):
            return "mixed_float16", f"the GPU has tensor cores: compute capability {lowest[0]}.{lowest[1]}"
        return "float32", f"the GPU has no tensor cores: compute capability {lowest[0]}.{lowest[1]}, below 7.0"
    found = [flag for flag in BFLOAT16_CPU_FLAGS if flag in (cpu_flags() if flags is None else set(flags))]
    if found:
        return "mixed_bfloat16", f"this CPU computes in bfloat16: {', '.join(found)}"
    return "float32", "this CPU has no bfloat16 instructions, neither AVX512_BF16 nor AMX"


def use_precision(flags=None, gpu_capabilities=None):
    """Set Keras's global dtype policy to :func:`choose_precision`'s; return the line that says it and how to override."""
    import keras

    policy, why = choose_precision(flags, gpu_capabilities)
    keras.mixed_precision.set_global_policy(policy)
    other = "float32" if policy != "float32" else "mixed_bfloat16"
    return (
        f"Training precision: {policy} ({why}). To change it, run "
        f'os.environ["{PRECISION_VARIABLE}"] = "{other}" before course.start_notebook().'
    )


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
            f"devices should be a list of device names, got {devices!r}. Write e.g. devices=['/cpu:0', '/cpu:1'], "
            "with the brackets, or leave it out."
        )
    devices = list(devices)
    if len(devices) < 2:
        raise ValueError(
            f"devices should name two or more devices to train on together, got {devices}. Leave devices out to "
            "train on one device; the course then picks the best one."
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
    colab_address = os.environ.get("COLAB_TPU_ADDR")
    address = os.environ.get("TPU_NAME") or (f"grpc://{colab_address}" if colab_address else "local")
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as error:
        print(
            f"There are signs of a TPU ({', '.join(signs)}), but TensorFlow could not start it "
            f"({type(error).__name__}: {error}). Training goes on without the TPU. Restarting the Python session "
            "(Jupyter: Kernel > Restart) and running again often helps."
        )
        return None
    return resolver


def start_notebook(requirements_file=None):
    """Prepare this Python for a course notebook: the one call of every notebook's setup cell.

    In Colab: stop on a runtime without TensorFlow, install only what is absent. Everywhere: import
    TensorFlow quietly, choose the training precision (:func:`use_precision`), silence Keras's
    ``shuffle=True`` warning, store figures as small JPEGs and print the precision, versions and device.
    """
    if in_colab():
        check_tensorflow()
        install_missing(requirements_file or course_root() / "requirements.txt")
    with contextlib.suppress(ImportError):
        import_tensorflow_quietly()
        print(use_precision())
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
