"""Where the course lives and how the notebooks run (``tests/test_course.py`` checks the address agrees)."""

import os
import platform
import sys
import tempfile
from pathlib import Path

__all__ = [
    "REPOSITORY_URL",
    "MODES",
    "course_root",
    "colab_url",
    "choose_mode",
    "package_versions",
    "versions_line",
    "import_tensorflow_quietly",
]

#: The one place the repository address is written. When you fork the course, change it here
#: and in the README and notebooks; ``tests/test_course.py`` tells you what still disagrees.
REPOSITORY_URL = "https://github.com/unet-workshop/unet-segmentation-course"
#: Branch that Colab badges open.
BRANCH = "main"

#: Environment variable that selects the mode: ``smoke`` (tests) or ``default`` (students).
MODE_VARIABLE = "UNET_COURSE_MODE"
MODES = ("default", "smoke")
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
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def versions_line():
    """Return one line with the Python version and the versions of the main packages."""
    parts = [f"Python {platform.python_version()}"]
    parts += [f"{name} {ver}" for name, ver in package_versions().items()]
    return " | ".join(parts)


def import_tensorflow_quietly():
    """Import and return TensorFlow without the log lines its C++ libraries print while they load.

    Those lines are dropped (file descriptor 2 goes to a temporary file), or printed if the import fails.
    """
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
