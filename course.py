#!/usr/bin/env python3
"""Set up and run the course with one command; needs only Python 3.11, 3.12 or 3.13.

    python3 course.py start    # make .venv, install, open Jupyter at the course folder, showing notebooks/
    python3 course.py test     # make .venv, install, run every test (pytest + nbval)
    python3 course.py slides   # make .venv, install, build the workshop slides (HTML + PDF)

Extra arguments go to Jupyter, pytest or slides/build.py, e.g. ``python3 course.py test -k data``.
The virtual environment lives in .venv next to this file; it is reinstalled only when a
requirements file changes.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-dev.txt"]
STAMP = VENV / "installed-requirements.sha256"
OLDEST, NEWEST = (3, 11), (3, 13)


def check_python():
    """Stop with a clear message on a Python version the course does not support."""
    found = sys.version_info[:2]
    if not OLDEST <= found <= NEWEST:
        sys.exit(
            f"This course needs Python 3.11, 3.12 or 3.13; this is Python {found[0]}.{found[1]} "
            f"({sys.executable}). Run this file with a supported Python, e.g. python3.13 course.py start"
        )


def venv_python():
    """Path of the Python inside .venv."""
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements_fingerprint():
    """sha256 of the requirement files, to know when to reinstall."""
    digest = hashlib.sha256()
    for path in REQUIREMENTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_environment():
    """Create .venv with this Python and install the requirements, unless already done."""
    if not venv_python().exists():
        print(f"Creating the virtual environment {VENV} with Python {sys.version.split()[0]} ...")
        venv.create(VENV, with_pip=True)
    if STAMP.exists() and STAMP.read_text().strip() == requirements_fingerprint():
        return
    print("Installing the course's packages (the first time takes a few minutes) ...")
    pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run([*pip, "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-r", str(ROOT / "requirements-dev.txt")], check=True)
    STAMP.write_text(requirements_fingerprint())


def main(arguments):
    """Run ``start``, ``test`` or ``slides`` with the remaining arguments."""
    if not arguments or arguments[0] not in ("start", "test", "slides"):
        sys.exit(__doc__)
    check_python()
    ensure_environment()
    command, extra, environment = arguments[0], arguments[1:], dict(os.environ)
    if command == "start":
        # the course folder as root, so that outputs/ and data/ can be reached; the notebooks folder shown first
        shown = "--JupyterNotebookApp.default_url=/tree/notebooks"
        run = [str(venv_python()), "-m", "notebook", f"--ServerApp.root_dir={ROOT}", shown, *extra]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root; Jupyter refuses unless told
            run.append("--allow-root")
    elif command == "slides":
        run = [str(venv_python()), str(ROOT / "slides" / "build.py"), *extra]
        environment = {"TF_CPP_MIN_LOG_LEVEL": "3", **environment}  # no TensorFlow or CUDA log lines
    else:  # two processes (pytest-xdist), one notebook or test file each at a time: about half the time on 2 cores
        parallel = [] if {"-n", "--version", "--collect-only"} & set(extra) else ["-n", "2", "--dist", "loadfile"]
        run = [str(venv_python()), "-m", "pytest", *parallel, *extra]
    return subprocess.run(run, cwd=ROOT, env=environment).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
