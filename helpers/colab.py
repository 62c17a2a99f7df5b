"""Google Colab and Google Drive: detect Colab, keep results on Drive, install what is missing.

Importing this module is light (standard library only), so the first cell of a notebook can
use it before anything else is installed.

Colab already has Python, TensorFlow and Keras. The course never reinstalls TensorFlow or
Keras there: a second copy next to the preinstalled one breaks the GPU set-up and costs
minutes. ``install_missing`` installs only the small packages Colab lacks.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

#: Where Google Drive is mounted in Colab. Tests point this at a temporary folder.
DRIVE_MOUNT_POINT = Path("/content/drive")
#: The folder inside the mount point that holds "My Drive".
MY_DRIVE = "MyDrive"
#: Packages the course never installs: Colab has them, and locally ``course.py start`` does.
NEVER_INSTALL = ("tensorflow", "tensorflow-cpu", "keras")


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
            f"{folder} exists but is a file, not a folder. Rename or move that file, "
            "or choose another folder name."
        )
    folder.mkdir(parents=True, exist_ok=True)


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


def install_missing(requirements_file, *, never_install=NEVER_INSTALL):
    """Install with pip only the requirements this Python does not satisfy yet.

    Packages named in ``never_install`` (TensorFlow and Keras) are never installed: if one
    of them is missing or has an unsuitable version, a warning says what to do instead.

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
    requirements = _read_requirements(requirements_file)
    missing = _unsatisfied(requirements)
    blocked = [r for r in missing if _canonical_name(r.name) in never_install]
    to_install = [r for r in missing if _canonical_name(r.name) not in never_install]
    for requirement in blocked:
        print(_never_install_warning(requirement))
    if not to_install:
        if not blocked:
            print(f"All requirements of {requirements_file} are already installed; nothing to do.")
        return []
    upgraded = [r.name for r in to_install if _installed_version(r.name) is not None]
    _pip_install([str(r) for r in to_install])
    if upgraded:
        print(
            f"{', '.join(upgraded)} changed version. If the notebook had already imported "
            "them, restart the session (Colab: Runtime > Restart session) and run the "
            "notebook again from the top."
        )
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


def _never_install_warning(requirement):
    """Return the warning for a TensorFlow/Keras requirement the course will not install."""
    installed = _installed_version(requirement.name)
    found = "it is not installed" if installed is None else f"version {installed} is installed"
    headline = f"WARNING: the course needs {requirement}, but {found}."
    if in_colab():
        advice = (
            f"The course never installs {requirement.name} in Colab: use the preinstalled "
            "TensorFlow; a second copy would break the GPU set-up. If a later cell fails, "
            "choose Runtime > Disconnect and delete runtime to get a fresh Colab with "
            "current versions, and tell the course team which versions you saw."
        )
    else:
        advice = (
            f"The course does not install {requirement.name} into this Python. Run "
            "`python3 course.py start`, which sets up a virtual environment with the right "
            "versions, and open the notebooks from there."
        )
    return f"{headline} {advice}"


def _pip_install(requirement_strings):
    """Install requirements with the pip of this Python, quietly, and say what is installed."""
    print(f"Installing: {', '.join(requirement_strings)}")
    command = [sys.executable, "-m", "pip", "install", "-q", *requirement_strings]
    try:
        subprocess.run(command, check=True)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(
            f"pip could not install {', '.join(requirement_strings)} (exit status "
            f"{error.returncode}). Read pip's messages above; check the internet connection "
            "and run the cell again."
        ) from error
