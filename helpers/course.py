"""Where the course lives and how the notebooks run.

The repository address is written here once; the README badges and the setup cell of
every notebook repeat it, and ``tests/test_course.py`` checks that they agree.
"""

import os
import platform
from pathlib import Path

#: The one place the repository address is written. When you fork the course, change it here
#: and in the README and notebooks; ``tests/test_course.py`` tells you what still disagrees.
REPOSITORY_URL = "https://github.com/unet-workshop/unet-segmentation-course"
#: Branch that Colab badges open.
BRANCH = "main"

#: Environment variable that selects the mode: ``smoke`` (tests) or ``default`` (students).
MODE_VARIABLE = "UNET_COURSE_MODE"
MODES = ("default", "smoke")


def course_root():
    """Return the folder that holds ``helpers/``, ``notebooks/`` and ``data/``.

    Returns
    -------
    pathlib.Path
        The top folder of the course.
    """
    return Path(__file__).resolve().parent.parent


def colab_url(notebook_name):
    """Return the address that opens a notebook of this repository in Google Colab.

    Parameters
    ----------
    notebook_name : str
        File name inside ``notebooks/``, e.g. ``"01_intro_unet.ipynb"``.

    Returns
    -------
    str
    """
    github_path = REPOSITORY_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{github_path}/blob/{BRANCH}/notebooks/{notebook_name}"


def choose_mode(mode_from_form="default"):
    """Return the mode the notebook runs in.

    The environment variable ``UNET_COURSE_MODE`` wins over the value in the notebook's
    form, so the tests can run every notebook in ``smoke`` mode without editing it.

    Parameters
    ----------
    mode_from_form : str
        The value chosen in the notebook's parameters cell.

    Returns
    -------
    str
        ``"default"`` or ``"smoke"``.
    """
    mode = os.environ.get(MODE_VARIABLE, mode_from_form).strip().lower()
    if mode not in MODES:
        raise ValueError(
            f"Unknown mode {mode!r} (from {MODE_VARIABLE} or the parameters cell). "
            f"Use one of {', '.join(MODES)}."
        )
    return mode


def package_versions(names=("tensorflow", "keras", "numpy", "scikit-image", "matplotlib")):
    """Return the installed version of each named package, or ``"not installed"``.

    Parameters
    ----------
    names : sequence of str
        Distribution names as pip knows them.

    Returns
    -------
    dict
        ``{name: version}``.
    """
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
