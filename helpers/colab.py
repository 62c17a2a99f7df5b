"""Google Colab and Google Drive: detect Colab, keep results on Drive, install what is absent.

Standard library only at import, so the setup cell can use it before anything is installed. The
course never changes a package Colab already has: a second TensorFlow breaks the GPU set-up.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["DRIVE_MOUNT_POINT", "NoTensorFlowError", "in_colab", "mount_drive", "check_tensorflow", "install_missing"]

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
    "This course runs on TensorFlow, which this Colab runtime does not have: Colab's TPU "
    "runtime comes without TensorFlow (its Keras runs on JAX).\n"
    "Choose Runtime > Change runtime type > T4 GPU (or CPU), click Save, then run the "
    "notebook again from the top. Every notebook also runs on a CPU runtime."
)


def in_colab():
    """True inside a Google Colab kernel (``google.colab`` loaded or ``COLAB_RELEASE_TAG`` set)."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def mount_drive(folder_name="unet-course", *, local_folder=None):
    """Return a folder for results that outlives the session: ``MyDrive/<folder_name>`` in Colab.

    Created if missing, nothing in it deleted. Outside Colab: ``outputs/<folder_name>`` in the course
    folder, or ``local_folder``.
    """
    if not isinstance(folder_name, str) or not folder_name.strip():
        raise ValueError(
            f"folder_name should be a non-empty text such as 'unet-course', got {folder_name!r}. "
            "Pass the name of the folder for your results, e.g. mount_drive('unet-course')."
        )
    if Path(folder_name).is_absolute() or ".." in Path(folder_name).parts:
        raise ValueError(
            f"folder_name should be a folder name inside your Drive, such as 'unet-course', "
            f"got {folder_name!r}. Leave out leading '/' and '..'; to choose a folder on this "
            "computer, use local_folder=... instead."
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
                f"Google Drive was mounted, but {my_drive} does not exist. Run the cell again "
                "and allow access to your Google Drive when Colab asks."
            )
        folder = my_drive / folder_name
        message = (
            f"Results are saved on your Google Drive in MyDrive/{folder_name} ({folder}); "
            "they stay there after this Colab session ends."
        )
    else:
        if local_folder is None:
            from helpers.course import course_root

            folder = course_root() / "outputs" / folder_name
        elif isinstance(local_folder, (str, os.PathLike)):
            folder = Path(local_folder).expanduser()
        else:
            raise TypeError(
                f"local_folder should be a folder path (text or pathlib.Path), got "
                f"{type(local_folder).__name__}. Pass e.g. local_folder='my-results', or leave it out."
            )
        message = (
            "This notebook is not running in Google Colab, so Google Drive is not used. "
            "Results (trained models, training histories) are saved in this folder on this "
            f"computer instead: {folder}"
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
            f"Requirements file not found: {path} (full path {path.absolute()}). Pass the "
            "path of the course's requirements.txt; from the notebooks/ folder that is "
            "'../requirements.txt'."
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
                f"{path}, line {line_number}: {line.strip()!r} is not a requirement pip's "
                f"format understands ({error}). Write it like 'numpy>=1.26' or "
                "'scikit-image>=0.22,<1'."
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
        f"WARNING: {where} has {requirement.name} {_installed_version(requirement.name)}; the course "
        f"is made for {requirement} (requirements.txt). The course leaves the installed version as it is.\n"
        f"  What may fail: {used_for}.\n"
        "  What to do: go on; if a cell fails, choose Runtime > Disconnect and delete runtime "
        "for a fresh runtime and run again from the top. If it still fails, run "
        f'!pip install "{requirement}" in a new cell, then Runtime > Restart session '
        "(this may break other preinstalled packages), and tell the course team which "
        "version you saw."
    )


def _never_install_warning(requirement):
    if in_colab():
        advice = (
            f"The course never installs {requirement.name} in Colab, because a second copy "
            "would break Colab's GPU set-up. Choose Runtime > Disconnect and delete runtime "
            "to get a fresh Colab runtime (a CPU or T4 GPU one), which has it."
        )
    else:
        advice = (
            f"The course does not install {requirement.name} into this Python. Run "
            "`python3 course.py start`, which sets up a virtual environment with the right "
            "versions, and open the notebooks from there."
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
                f"pip could not install {', '.join(requirement_strings)} (exit status "
                f"{error.returncode}) without changing a package that is already installed, "
                "and the course never changes those. Read pip's messages above: a conflict "
                "names the package, a network error means checking the connection and "
                "running the cell again."
            ) from error
