"""Google Colab and Google Drive: detect Colab, keep results on Drive, install what is absent.

Importing this module is light (standard library only), so the first cell of a notebook can
use it before anything else is installed.

Colab comes with Python, TensorFlow, Keras, numpy, ipywidgets and most of what the course
uses. The course never changes a package Colab already has, not even as a dependency of
something it installs: a second TensorFlow breaks the GPU set-up, and a newer ipywidgets
(8) is one that Colab's widget frontend does not render. ``install_missing`` installs only
the packages that are absent (keras-unet), with every installed package pinned to its
version; a preinstalled version outside the course's range is reported, not replaced.

Colab's TPU runtime has no TensorFlow at all (Keras runs on JAX there); the course runs on
TensorFlow, so ``check_tensorflow`` stops with a message that says which runtime to choose.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = [
    "DRIVE_MOUNT_POINT",
    "MY_DRIVE",
    "NEVER_INSTALL",
    "NoTensorFlowError",
    "in_colab",
    "mount_drive",
    "check_tensorflow",
    "tensorflow_missing_message",
    "missing_requirements",
    "out_of_range_requirements",
    "install_missing",
]

#: Where Google Drive is mounted in Colab. Tests point this at a temporary folder.
DRIVE_MOUNT_POINT = Path("/content/drive")
#: The folder inside the mount point that holds "My Drive".
MY_DRIVE = "MyDrive"
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
    "pooch": "downloading the real datasets",
    "setuptools": "importing keras-unet",
}


def in_colab():
    """Tell whether this code runs inside a Google Colab kernel.

    The Colab kernel imports ``google.colab`` when it starts, so the module is already in
    ``sys.modules``; Colab also sets the environment variable ``COLAB_RELEASE_TAG``.

    Returns
    -------
    bool
        True inside Colab, False anywhere else (Jupyter on a laptop, pytest, a script).
    """
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


# ----------------------------------------------------------------------------------------
# Google Drive
# ----------------------------------------------------------------------------------------


def mount_drive(folder_name="unet-course", *, local_folder=None):
    """Return a folder for results that outlives the session: on Google Drive in Colab.

    In Colab, Google Drive is mounted at ``/content/drive`` (Colab asks you to allow it;
    a second call does not mount again) and ``MyDrive/<folder_name>`` is created if it is
    missing. Nothing already in that folder is deleted, emptied or overwritten.

    Outside Colab, nothing is mounted: a message says so and the results go to a local
    folder instead, ``outputs/<folder_name>`` in the course folder unless ``local_folder``
    says otherwise.

    Parameters
    ----------
    folder_name : str
        Name of the folder for this course's results, e.g. ``"unet-course"``.
    local_folder : str or pathlib.Path, optional
        Folder to use outside Colab. Created if missing.

    Returns
    -------
    pathlib.Path
        The folder, which exists when this function returns.
    """
    _check_folder_name(folder_name)
    if in_colab():
        return _colab_drive_folder(folder_name)
    return _local_results_folder(folder_name, local_folder)


def _check_folder_name(folder_name):
    """Raise a clear error unless ``folder_name`` is a plain relative folder name."""
    if not isinstance(folder_name, str) or not folder_name.strip():
        raise ValueError(
            f"folder_name should be a non-empty text such as 'unet-course', got {folder_name!r}. "
            "Pass the name of the folder for your results, e.g. mount_drive('unet-course')."
        )
    parts = Path(folder_name).parts
    if Path(folder_name).is_absolute() or ".." in parts:
        raise ValueError(
            f"folder_name should be a folder name inside your Drive, such as 'unet-course', "
            f"got {folder_name!r}. Leave out leading '/' and '..'; to choose a folder on this "
            "computer, use local_folder=... instead."
        )


def _colab_drive_folder(folder_name):
    """Mount Google Drive once and return ``MyDrive/<folder_name>``, created if missing."""
    mount_point = Path(DRIVE_MOUNT_POINT)
    my_drive = mount_point / MY_DRIVE
    if my_drive.is_dir():
        print(f"Google Drive is already mounted at {mount_point}.")
    else:
        from google.colab import drive

        drive.mount(str(mount_point))
    if not my_drive.is_dir():
        raise RuntimeError(
            f"Google Drive was mounted, but {my_drive} does not exist. Run the cell again "
            "and allow access to your Google Drive when Colab asks."
        )
    folder = my_drive / folder_name
    _make_folder(folder)
    print(
        f"Results are saved on your Google Drive in MyDrive/{folder_name} ({folder}); "
        "they stay there after this Colab session ends."
    )
    return folder


def _local_results_folder(folder_name, local_folder):
    """Return the local folder that replaces Google Drive outside Colab, created if missing."""
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
    _make_folder(folder)
    print(
        "This notebook is not running in Google Colab, so Google Drive is not used. "
        f"Results (trained models, training histories) are saved in this folder on this "
        f"computer instead: {folder}"
    )
    return folder


def _make_folder(folder):
    """Create ``folder`` (and its parents) if missing; never touch what is already there."""
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(
            f"{folder} exists but is a file, not a folder. Rename or move that file, or choose another folder name."
        )
    folder.mkdir(parents=True, exist_ok=True)


# ----------------------------------------------------------------------------------------
# TensorFlow (absent in Colab's TPU runtime)
# ----------------------------------------------------------------------------------------


def tensorflow_missing_message():
    """Return the message for a Colab runtime without TensorFlow (Colab's TPU runtime).

    Returns
    -------
    str
        Several lines: what is wrong, why, and which runtime to choose instead.
    """
    return (
        "This course runs on TensorFlow, which this Colab runtime does not have: Colab's TPU "
        "runtime comes without TensorFlow (its Keras runs on JAX).\n"
        "Choose Runtime > Change runtime type > T4 GPU (or CPU), click Save, then run the "
        "notebook again from the top. Every notebook also runs on a CPU runtime."
    )


class NoTensorFlowError(RuntimeError):
    """Raised in a Colab runtime without TensorFlow; shown in a notebook as its message only.

    IPython (Jupyter, Colab) prints ``_render_traceback_()`` instead of a traceback, so the
    cell ends with the message alone, and "Run all" stops there.
    """

    def _render_traceback_(self):
        """Return the lines IPython shows instead of a traceback."""
        return str(self).splitlines()


def check_tensorflow():
    """Stop with a clear message when this Python has no TensorFlow (Colab's TPU runtime).

    Nothing is imported and nothing is installed: the check only looks for the package.

    Raises
    ------
    NoTensorFlowError
        When ``import tensorflow`` cannot find the package; its message is
        ``tensorflow_missing_message()``.
    """
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None:
        raise NoTensorFlowError(tensorflow_missing_message())


# ----------------------------------------------------------------------------------------
# Requirements
# ----------------------------------------------------------------------------------------


def missing_requirements(requirements_file):
    """List the requirements of a ``requirements.txt`` that this Python does not satisfy.

    A requirement is missing when its package is not installed, or is installed in a
    version outside the allowed range. Blank lines, comments and option lines (``-r``,
    ``--index-url`` ...) are skipped; a requirement whose environment marker does not apply
    here (e.g. ``; sys_platform == "win32"`` on Linux) is not needed and so not missing.
    Extras such as ``[and-cuda]`` are not checked, only the package itself.

    Parameters
    ----------
    requirements_file : str or pathlib.Path
        Path of the requirements file, e.g. ``"../requirements.txt"`` from ``notebooks/``.

    Returns
    -------
    list of str
        The missing requirements, written as pip understands them, in file order.
    """
    return [str(requirement) for requirement in _unsatisfied(_read_requirements(requirements_file))]


def out_of_range_requirements(requirements_file):
    """List the requirements whose package is installed, but in a version outside the range.

    Parameters
    ----------
    requirements_file : str or pathlib.Path
        Path of the requirements file.

    Returns
    -------
    list of tuple
        ``(requirement, installed_version)`` pairs, both text, in file order.
    """
    requirements = _unsatisfied(_read_requirements(requirements_file))
    return [(str(r), _installed_version(r.name)) for r in requirements if _installed_version(r.name) is not None]


def install_missing(requirements_file, *, never_install=NEVER_INSTALL):
    """Install the requirements whose package is absent; never change an installed package.

    - An absent package is installed with pip, and every package already installed is held
      at its version while pip works (a constraints file lists them all), so nothing
      installed is upgraded, downgraded or reinstalled, not even as a dependency. If the
      absent package cannot be had without such a change, pip stops and so does this
      function, with a message that says so.
    - A package installed in a version outside the course's range is left as it is; a
      warning says which, what may fail, and what to do. The function carries on.
    - Packages named in ``never_install`` (TensorFlow and Keras) are never installed: when
      one is absent, a warning says what to do instead.

    Parameters
    ----------
    requirements_file : str or pathlib.Path
        Path of the requirements file, e.g. ``"../requirements.txt"`` from ``notebooks/``.
    never_install : sequence of str
        Package names that are only reported, never installed.

    Returns
    -------
    list of str
        The requirements that were installed (empty when nothing was needed).
    """
    never_install = _check_never_install(never_install)
    unsatisfied = _unsatisfied(_read_requirements(requirements_file))
    absent = [r for r in unsatisfied if _installed_version(r.name) is None]
    for requirement in unsatisfied:
        if requirement not in absent:
            print(_out_of_range_warning(requirement))
    blocked = [r for r in absent if _canonical_name(r.name) in never_install]
    to_install = [r for r in absent if _canonical_name(r.name) not in never_install]
    for requirement in blocked:
        print(_never_install_warning(requirement))
    if not to_install:
        if not unsatisfied:
            print(f"All requirements of {requirements_file} are already installed; nothing to do.")
        return []
    _pip_install_keeping_installed([str(r) for r in to_install])
    return [str(r) for r in to_install]


def _check_never_install(never_install):
    """Return the canonical names in ``never_install``, checking it is a list of names."""
    if isinstance(never_install, str) or not all(isinstance(n, str) for n in never_install):
        raise TypeError(
            f"never_install should be a list or tuple of package names, got {never_install!r}. "
            "Write e.g. never_install=('tensorflow', 'keras'), with the brackets."
        )
    return {_canonical_name(name) for name in never_install}


def _canonical_name(name):
    """Return a package name the way pip compares names (``Scikit_Image`` -> ``scikit-image``)."""
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


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
        if installed is None:
            unsatisfied.append(requirement)
            continue
        try:
            allowed = requirement.specifier.contains(Version(installed), prereleases=True)
        except InvalidVersion:
            allowed = not requirement.specifier
        if not allowed:
            unsatisfied.append(requirement)
    return unsatisfied


def _installed_version(name):
    """Return the installed version of a package as text, or None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _out_of_range_warning(requirement):
    """Return the warning for a package installed in a version outside the course's range."""
    installed = _installed_version(requirement.name)
    used_for = USED_FOR.get(_canonical_name(requirement.name), f"the cells that use {requirement.name}")
    where = "This Colab runtime" if in_colab() else "This Python"
    return (
        f"WARNING: {where} has {requirement.name} {installed}; the course is made for "
        f"{requirement} (requirements.txt). The course leaves the installed version as it is.\n"
        f"  What may fail: {used_for}.\n"
        "  What to do: go on; if a cell fails, choose Runtime > Disconnect and delete runtime "
        "for a fresh runtime and run again from the top. If it still fails, run "
        f'!pip install "{requirement}" in a new cell, then Runtime > Restart session '
        "(this may break other preinstalled packages), and tell the course team which "
        "version you saw."
    )


def _never_install_warning(requirement):
    """Return the warning for an absent TensorFlow/Keras that the course will not install."""
    headline = f"WARNING: the course needs {requirement}, but it is not installed."
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
    return f"{headline} {advice}"


def _installed_pins():
    """Return ``name==version`` for every installed distribution, one per package name."""
    from importlib.metadata import distributions

    from packaging.version import InvalidVersion, Version

    pins = {}
    for distribution in distributions():
        name = distribution.metadata["Name"]
        if not name or _canonical_name(name) in pins:
            continue  # the first one found is the one Python imports
        try:
            Version(distribution.version)
        except InvalidVersion:
            continue  # pip cannot pin what it cannot read; it leaves such a package alone
        pins[_canonical_name(name)] = f"{_canonical_name(name)}=={distribution.version}"
    return sorted(pins.values())


def _pip_install_keeping_installed(requirement_strings):
    """Install with this Python's pip, holding every installed package at its version."""
    print(f"Installing: {', '.join(requirement_strings)}")
    with tempfile.TemporaryDirectory(prefix="unet-course-pins-") as folder:
        constraints = Path(folder) / "installed.txt"
        constraints.write_text("\n".join(_installed_pins()) + "\n", encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "-c",
            str(constraints),
            *requirement_strings,
        ]
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
