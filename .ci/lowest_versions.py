#!/usr/bin/env python3
"""Test the lowest versions requirements.txt allows, on the lowest Python the course supports.

    python3.11 .ci/lowest_versions.py FOLDER [NOTEBOOK]

Makes a fresh virtual environment in FOLDER, installs every requirement of requirements.txt at
the lowest version its range allows (``numpy>=1.26`` becomes ``numpy==1.26.0``; the lowest
release pip can find, for ranges such as ``tensorflow>=2.16`` whose first release is 2.16.1),
then the test tools without changing those, and runs the unit tests (``pytest -o addopts=""
tests/``) and one notebook in smoke mode (NOTEBOOK, default notebooks/01_intro_unet.ipynb).
A requirement without a lower bound (setuptools) gets the newest version. Prints seconds for
each step and, at the end, the versions tested. Not part of .ci/run (it takes about as long as
the whole CI); run it when a lower bound changes. Standard library only.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_TOOLS = (
    "pytest",
    "nbval",
    "nbclient",
    "mistune",
    "websocket-client",
    "notebook",
    "ipykernel",
    "ruff",
    "hypothesis",
)


def lowest_pins(pip):
    """Return ``name==version`` for each requirement: the lowest release its range allows."""
    pins = []
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        text = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not text or text.startswith("-"):
            continue
        name = re.match(r"[A-Za-z0-9._-]+", text)[0]
        exact = re.search(r"==\s*([\w.]+)", text)
        lower = re.search(r">=\s*([\w.]+)", text)
        if exact:
            pins.append(f"{name}=={exact[1]}")
        elif lower:
            pins.append(f"{name}=={lowest_release(pip, name, lower[1])}")
        else:
            pins.append(name)
    return pins


def lowest_release(pip, name, bound):
    """Return the lowest release of ``name`` at or above ``bound`` that pip's index lists."""
    result = subprocess.run([*pip, "index", "versions", name], capture_output=True, text=True, check=True)
    listed = re.search(r"Available versions:\s*(.+)", result.stdout)[1]
    releases = [v.strip() for v in listed.split(",") if re.fullmatch(r"[\d.]+", v.strip())]
    at_or_above = [v for v in releases if as_tuple(v) >= as_tuple(bound)]
    return min(at_or_above, key=as_tuple)


def as_tuple(version):
    numbers = [int(part) for part in version.split(".")]
    return tuple(numbers + [0] * (4 - len(numbers)))


def step(name, command, **options):
    print(f"--- {name}", flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, **options)
    print(f"--- {name}: {time.perf_counter() - start:.0f} s (exit status {result.returncode})", flush=True)
    return result.returncode


def main(arguments):
    if not arguments or arguments[0].startswith("-"):
        sys.exit(__doc__)
    folder = Path(arguments[0])
    notebook = arguments[1] if len(arguments) > 1 else "notebooks/01_intro_unet.ipynb"
    if folder.exists():
        shutil.rmtree(folder)
    venv.create(folder, with_pip=True)
    python = str(folder / "bin" / "python")
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    pins = lowest_pins(pip)
    print("lowest versions: " + ", ".join(pins), flush=True)
    failed = step("install the lowest versions", [*pip, "install", "-q", *pins])
    if failed:
        sys.exit("FAILED: pip cannot install the lowest versions together; raise a lower bound.")
    frozen = subprocess.run([*pip, "freeze"], capture_output=True, text=True, check=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write(frozen)
    failed = step("install the test tools", [*pip, "install", "-q", "-c", constraints.name, *TEST_TOOLS])
    os.unlink(constraints.name)
    if failed:
        sys.exit("FAILED: the test tools do not install beside the lowest versions.")
    environment = dict(os.environ, UNET_COURSE_MODE="smoke", TF_CPP_MIN_LOG_LEVEL="3")
    unit = step(
        "unit tests",
        [python, "-m", "pytest", "-q", "-o", "addopts=", "-p", "no:cacheprovider", "tests/"],
        cwd=ROOT,
        env=environment,
    )
    notebook_run = step(
        f"{notebook} in smoke mode",
        [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            "tests/nbval_sanitize.cfg",
            notebook,
        ],
        cwd=ROOT,
        env=environment,
    )
    versions = subprocess.run([*pip, "freeze"], capture_output=True, text=True, check=True).stdout
    wanted = {re.split(r"[=<>]", pin)[0].lower() for pin in pins}
    print(
        "tested: Python "
        + sys.version.split()[0]
        + ", "
        + ", ".join(line for line in versions.splitlines() if line.split("==")[0].lower() in wanted)
    )
    sys.exit(1 if unit or notebook_run else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
