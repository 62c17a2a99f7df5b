#!/usr/bin/env python3
"""A replica of Google Colab's runtime, built from Colab's published package lists (.ci/colab/).

    python3.13 .ci/colab_replica.py cpu FOLDER [--setup-cell FILE]
    python3.13 .ci/colab_replica.py tpu FOLDER [--setup-cell FILE]

``cpu`` makes a fresh virtual environment in FOLDER with this Python (3.13, Colab's), Colab's
pip, and Colab's versions of the course's packages: every requirement of requirements.txt that
Colab has, and Colab's notebook, ipykernel, IPython and widget extension. Every dependency pip
brings in is held at Colab's version too (a constraints file made from Colab's CPU list), so the
replica holds Colab's versions of everything the course touches (not Colab's other 500 packages).
Then the course's setup cell runs in it as in a student's Colab: the first code cell of
notebooks/01_intro_unet.ipynb, from notebooks/, with Colab detected (COLAB_RELEASE_TAG set), and
``pip freeze`` before and after must differ by additions only. Then the test tools are installed
the same way (only additions). ``FOLDER/bin/python -m pytest`` then runs the suite (.ci/run).

``tpu`` makes Colab's TPU runtime as far as the course can tell: Colab's keras (3.13.2) and
IPython (7.34.0) at Colab's TPU versions, and no TensorFlow, as in Colab's TPU list. The setup
cell, run by IPython as in Colab, must show one message, the one that says which runtime to
choose, with no traceback, and must change no package.

Each step prints its seconds. ``--setup-cell FILE`` runs FILE instead of notebook 01's first code
cell (to try a new cell before it goes into the notebooks). Standard library only.
"""

import argparse
import json
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
COLAB_LISTS = ROOT / ".ci" / "colab"
#: Colab's runtime around the course's own requirements: what a notebook runs in.
NOTEBOOK_RUNTIME = ("pip", "notebook", "ipykernel", "ipython", "widgetsnbextension", "tifffile", "packaging")
#: What pytest needs to run the unit tests, the notebooks (nbval), the slide tests and the style test (ruff).
TEST_TOOLS = ("pytest", "nbval", "nbclient", "mistune", "websocket-client", "ruff", "hypothesis")


def canonical(name):
    """Return a package name the way pip compares names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def colab_pins(runtime):
    """Return ``{canonical name: "name==version"}`` from Colab's list for a runtime."""
    pins = {}
    for line in (COLAB_LISTS / f"pip-freeze-{runtime}.txt").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line.strip())
        if match:
            pins[canonical(match[1])] = f"{match[1]}=={match[2]}"
    return pins


def course_requirement_names():
    """Return the package names of requirements.txt, in file order."""
    names = []
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        text = re.sub(r"(^|\s)#.*$", "", line).strip()
        if text and not text.startswith("-"):
            names.append(re.match(r"[A-Za-z0-9._-]+", text)[0])
    return names


class Step:
    """Print a step's name, then its seconds when it ends."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        print(f"--- {self.name}", flush=True)
        self.start = time.perf_counter()

    def __exit__(self, *error):
        print(f"--- {self.name}: {time.perf_counter() - self.start:.0f} s", flush=True)


class Replica:
    """A fresh virtual environment that pip fills with Colab's versions."""

    def __init__(self, folder, runtime):
        self.folder = Path(folder)
        self.runtime = runtime
        self.pins = colab_pins(runtime)
        self.python = str(self.folder / "bin" / "python")
        self.environment = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1")
        self.environment.pop("COLAB_RELEASE_TAG", None)

    def create(self):
        if self.folder.exists():
            shutil.rmtree(self.folder)
        venv.create(self.folder, with_pip=True)

    def pip(self, *arguments):
        subprocess.run([self.python, "-m", "pip", *arguments], env=self.environment, check=True)

    def install_colab_versions(self, names):
        """Install ``names`` at Colab's versions, with every dependency at Colab's version too."""
        wanted = [self.pins[canonical(name)] for name in names if canonical(name) in self.pins]
        with constraints_file(self.pins.values()) as constraints:
            self.pip("install", "-q", "-c", constraints, *wanted)
        return wanted

    def install_keeping_installed(self, names):
        """Install ``names``; what is installed stays, the rest comes at Colab's versions."""
        installed = {canonical(line.split("==")[0]): line for line in self.freeze() if "==" in line}
        pins = {**self.pins, **installed}
        with constraints_file(pins.values()) as constraints:
            self.pip("install", "-q", "-c", constraints, *names)

    def freeze(self):
        result = subprocess.run(
            [self.python, "-m", "pip", "freeze", "--all"],
            env=self.environment,
            capture_output=True,
            text=True,
            check=True,
        )
        return sorted(line for line in result.stdout.splitlines() if line.strip())

    def run_setup_cell(self, source, ipython=False):
        """Run the setup cell from notebooks/ with Colab detected; return the finished process."""
        environment = dict(self.environment, COLAB_RELEASE_TAG="release-colab-replica")
        command = [self.python, "-c", source]
        if ipython:
            command = [
                self.python,
                "-m",
                "IPython",
                "--no-banner",
                "--colors=NoColor",
                "--TerminalInteractiveShell.term_title=False",
                "-c",
                source,
            ]
        return subprocess.run(
            command,
            cwd=ROOT / "notebooks",
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )


class constraints_file:
    """A temporary pip constraints file with the given ``name==version`` lines."""

    def __init__(self, lines):
        self.lines = list(lines)

    def __enter__(self):
        handle, self.path = tempfile.mkstemp(prefix="colab-pins-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write("\n".join(self.lines) + "\n")
        return self.path

    def __exit__(self, *error):
        os.unlink(self.path)


def changes(before, after):
    """Return (removed or changed lines, added lines) between two ``pip freeze`` outputs."""
    return sorted(set(before) - set(after)), sorted(set(after) - set(before))


def only_additions(before, after, what):
    """Stop with the list of changed packages unless ``after`` only adds to ``before``."""
    changed, added = changes(before, after)
    print(f"{what}: added {', '.join(added) or 'nothing'}")
    if changed:
        now = {canonical(line.split("==")[0].split(" @ ")[0]): line for line in after}
        lines = [
            f"  {line}  ->  {now.get(canonical(line.split('==')[0].split(' @ ')[0]), 'removed')}" for line in changed
        ]
        sys.exit(f"FAILED: {what} changed packages Colab has:\n" + "\n".join(lines))


def setup_cell_source(setup_cell_file):
    if setup_cell_file:
        return Path(setup_cell_file).read_text(encoding="utf-8")
    notebook = json.loads((ROOT / "notebooks" / "01_intro_unet.ipynb").read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    return "".join(code[0]["source"])


def build_cpu(folder, setup_cell_file):
    replica = Replica(folder, "cpu")
    with Step("Colab CPU replica: fresh virtual environment with Colab's pip"):
        replica.create()
        replica.install_colab_versions(["pip"])
    with Step("Colab CPU replica: Colab's versions of the course's packages"):
        wanted = replica.install_colab_versions([*course_requirement_names(), *NOTEBOOK_RUNTIME])
        print("installed at Colab's versions: " + ", ".join(wanted))
    colab_state = replica.freeze()
    with Step("Colab CPU replica: the notebooks' setup cell with Colab detected"):
        result = replica.run_setup_cell(setup_cell_source(setup_cell_file))
        print(result.stdout + result.stderr, end="")
        if result.returncode != 0:
            sys.exit(f"FAILED: the setup cell stopped (exit status {result.returncode})")
    after_setup = replica.freeze()
    only_additions(colab_state, after_setup, "the setup cell")
    with Step("Colab CPU replica: the test tools, keeping every installed version"):
        replica.install_keeping_installed(TEST_TOOLS)
    only_additions(after_setup, replica.freeze(), "the test tools")
    print(f"Colab CPU replica ready: {replica.python}")


def build_tpu(folder, setup_cell_file):
    replica = Replica(folder, "tpu")
    if "tensorflow" in replica.pins:
        sys.exit("Colab's TPU list now has tensorflow: the TPU replica's premise changed; revisit it.")
    with Step("Colab TPU replica: keras and IPython at Colab's TPU versions, no TensorFlow"):
        replica.create()
        replica.install_colab_versions(["pip"])
        replica.install_colab_versions(["keras", "ipython", "packaging"])
    before = replica.freeze()
    with Step("Colab TPU replica: the setup cell, run by IPython with Colab detected"):
        result = replica.run_setup_cell(setup_cell_source(setup_cell_file), ipython=True)
    shown = (result.stdout + result.stderr).strip()
    print(shown)
    only_additions(before, replica.freeze(), "the setup cell on the TPU runtime")
    if replica.freeze() != before:
        sys.exit("FAILED: the setup cell installed packages on the TPU runtime")
    message_start = "This course runs on TensorFlow"
    if not shown.startswith(message_start) or shown.count(message_start) != 1 or "Traceback" in shown:
        sys.exit("FAILED: on the TPU runtime the setup cell should show one message, the TPU one, alone")
    print("TPU replica: the setup cell shows the TPU message alone and changes nothing.")


def main(arguments):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runtime", choices=["cpu", "tpu"])
    parser.add_argument("folder", help="where the virtual environment goes (emptied first)")
    parser.add_argument("--setup-cell", help="a file with the setup cell to run instead of notebook 01's")
    options = parser.parse_args(arguments)
    if sys.version_info[:2] != (3, 13):
        sys.exit(f"Colab runs Python 3.13; run this script with Python 3.13, not {sys.version.split()[0]}.")
    build = build_cpu if options.runtime == "cpu" else build_tpu
    build(options.folder, options.setup_cell)


if __name__ == "__main__":
    main(sys.argv[1:])
