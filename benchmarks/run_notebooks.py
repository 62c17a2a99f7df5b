"""Run notebooks top to bottom and report each one's wall time and peak memory.

    python benchmarks/run_notebooks.py --mode smoke
    python benchmarks/run_notebooks.py --mode default --mirror ../shared/realdata --save

``--mirror FOLDER`` serves a local copy of the real datasets (laid out like the download
addresses) on 127.0.0.1 and points the course at it, so default mode runs without internet.
``--save`` writes the executed notebook, with its outputs, back into notebooks/: that is how
the committed outputs are made. Results are added to benchmarks/results/notebook_times.json,
which the README's table and slides/INSTRUCTOR_GUIDE.md quote (the guide's table is refreshed here).
"""

import argparse
import contextlib
import functools
import http.server
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import quote_results  # noqa: E402  (benchmarks/quote_results.py)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results" / "notebook_times.json"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without printing a line per request."""

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve_folder(folder):
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) and yield its address."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()


def run_one(path, save):
    """Execute one notebook in a fresh kernel; print a JSON line with seconds and peak MB."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        store_widget_state=False,  # a saved notebook keeps no widget state (each explorer shows a picture)
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    notebook.metadata.pop("widgets", None)
    seconds = time.perf_counter() - start
    # the kernel is a child of this process: its peak resident memory, in kB on Linux
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if save:
        nbformat.write(notebook, path)
    print(json.dumps({"seconds": round(seconds, 1), "peak_mb": round(peak_mb)}))


def machine():
    """One line describing where the figures were measured: CPU model, cores, AVX-512, GPU, Python."""
    cores = os.cpu_count()
    model, avx512 = platform.machine(), False
    with contextlib.suppress(OSError):
        info = Path("/proc/cpuinfo").read_text()
        names = [line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")]
        model = names[0] if names else model
        avx512 = "avx512f" in info
    gpu = "no GPU"
    with contextlib.suppress(Exception):
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
        if listed.returncode == 0 and listed.stdout.strip():
            gpu = listed.stdout.strip().splitlines()[0].split(" (")[0]
    return (
        f"{model}, {cores} CPU cores, {'with' if avx512 else 'no'} AVX-512, {gpu}, Python {platform.python_version()}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["smoke", "default"], required=True)
    parser.add_argument("--mirror", type=Path, help="local folder mirroring the real datasets")
    parser.add_argument("--save", action="store_true", help="write executed notebooks back")
    parser.add_argument("--label", default=machine(), help="where this was measured")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("notebooks", nargs="*", type=Path)
    arguments = parser.parse_args()
    if arguments.one:
        return run_one(arguments.one, arguments.save)

    paths = arguments.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if arguments.save:
        earlier = [folder for path in paths for folder in results_folders(path) if folder.exists()]
        if earlier:  # a notebook would resume or number its files after an earlier run's: not a first run
            sys.exit(
                "A recorded run must start from nothing, like a student's first run, but these results "
                "folders of earlier runs exist: " + ", ".join(str(f.relative_to(ROOT)) for f in earlier) + ". "
                "Move them out of outputs/ (they may hold work you want to keep), then run this again."
            )
    with contextlib.ExitStack() as stack:
        env = {**os.environ, "UNET_COURSE_MODE": arguments.mode}
        if arguments.mirror:
            env["UNET_COURSE_DATA_URL"] = stack.enter_context(serve_folder(arguments.mirror.resolve()))
            # a fresh download folder, so the run includes the first download like a student's
            env["UNET_COURSE_DATA_DIR"] = stack.enter_context(tempfile.TemporaryDirectory())
        for path in paths:
            command = [sys.executable, __file__, "--mode", arguments.mode, "--one", str(path.resolve())]
            finished = subprocess.run(
                command + (["--save"] if arguments.save else []), env=env, capture_output=True, text=True
            )
            if finished.returncode:
                print(finished.stdout[-3000:], finished.stderr[-3000:], sep="\n")
                sys.exit(f"{path.name} failed in {arguments.mode} mode")
            measured = json.loads(finished.stdout.strip().splitlines()[-1])
            print(f"{path.name:32} {arguments.mode:8} {measured['seconds']:7.1f} s  {measured['peak_mb']:6} MB peak")
            record(path.stem, arguments.mode, arguments.label, measured, saved=arguments.save)
    if arguments.save and arguments.mode == "default":  # the saved outputs hold the quoted numbers: rewrite them
        for changed in quote_results.update_quotes():
            print(f"updated the quoted numbers in {changed.relative_to(ROOT)}")
    update_readme_times()
    update_notebook_times()
    # the instructor guide quotes these figures: refresh its timing table
    subprocess.run([sys.executable, str(ROOT / "slides" / "build.py"), "--guide-only"], check=True)


#: How a notebook names its results folder: ``course.mount_drive("unet-course-08")``.
MOUNT_DRIVE = re.compile(r"mount_drive\(\s*[\"']([^\"']+)[\"']")


def results_folders(path):
    """The local results folders (``outputs/<name>``) that the notebook at ``path`` writes into."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    code = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")
    return [ROOT / "outputs" / name for name in MOUNT_DRIVE.findall(code)]


def record(notebook, mode, label, measured, *, saved=False, results_file=None):
    """Add one measurement to the results file, keeping what other runs wrote meanwhile.

    A saved default-mode run gives the notebook new outputs, and is how a changed notebook gets
    them: the default-mode times of other machines timed an earlier version, so they are dropped.
    """
    results_file = RESULTS if results_file is None else results_file
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    entry = results.setdefault(notebook, {}).setdefault(mode, {})
    if saved and mode == "default":
        entry.clear()
    entry[label] = {**measured, "date": date.today().isoformat()}
    results_file.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


def machine_letters(times):
    """``{machine label: "(A)"}`` for every machine in a times record, in name order.

    The README's table and the instructor guide's (slides/build.py) both mark each time with it, so
    one machine has one letter in both.
    """
    machines = sorted({label for modes in times.values() for machines in modes.values() for label in machines})
    return {label: f"({chr(ord('A') + i)})" for i, label in enumerate(machines)}


def newest(machines):
    """The measurement (label, figures) taken last, from ``{machine label: figures}``."""
    return max(machines.items(), key=lambda item: item[1].get("date", ""))


def _duration(seconds):
    return f"{seconds:.0f} s" if seconds < 100 else f"{seconds:.0f} s ({seconds / 60:.1f} min)"


def table_cell(figures, letter):
    """One measurement as the README's and the guide's tables show it, e.g. ``"282 s (4.7 min), 1.8 GB (B)"``."""
    return f"{_duration(figures['seconds'])}, {figures['peak_mb'] / 1024:.1f} GB {letter}"


def update_readme_times(readme=ROOT / "README.md"):
    """Rewrite the smoke and default columns of the README's notebook table from the newest measurements.

    Each time carries the letter of its machine, (A), (B) ..., and the line below the table names them.
    """
    times = json.loads(RESULTS.read_text())
    shown = {(stem, mode): newest(modes[mode]) for stem, modes in times.items() for mode in modes}
    letters = machine_letters(times)
    lines = readme.read_text(encoding="utf-8").splitlines(keepends=True)
    for index, line in enumerate(lines):
        for stem in times:
            if f"(notebooks/{stem}.ipynb)" in line and line.startswith("| ["):
                cells = line.rstrip("\n").split(" | ")
                for column, mode in ((2, "smoke"), (3, "default")):
                    if (stem, mode) in shown:
                        label, figures = shown[stem, mode]
                        cells[column] = table_cell(figures, letters[label])
                    else:
                        cells[column] = "not measured"
                lines[index] = " | ".join(cells) + "\n"
    text = "".join(lines)
    start, end = "<!-- machine:start -->", "<!-- machine:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        used = {label for label, _ in shown.values()}
        named = "; ".join(f"{letter} {label}" for label, letter in letters.items() if label in used)
        text = head + start + "Measured on: " + named + "." + end + rest.split(end, 1)[1]
    readme.write_text(text, encoding="utf-8")


#: The sentence at the top of every notebook that quotes its measured times (rewritten by
#: :func:`update_notebook_times`; tests/test_course.py checks it against the record).
TIME_SENTENCE = re.compile(r"\*\*Machine time\*\* \(measured by `benchmarks/run_notebooks.py`\):[^\n]*")


def time_sentence(modes):
    """The top cell's sentence for a notebook's ``{mode: {machine label: figures}}`` record."""
    label, default = newest(modes["default"])
    machine_name = label.split(", Python")[0]
    smoke = ""
    if "smoke" in modes:
        smoke_label, figures = newest(modes["smoke"])
        same = smoke_label.split(", Python")[0] == machine_name
        smoke = f"; smoke mode {_duration(figures['seconds'])}" + (
            "" if same else f" on {smoke_label.split(', Python')[0]}"
        )
    return (
        f"**Machine time** (measured by `benchmarks/run_notebooks.py`): default mode {_duration(default['seconds'])} "
        f"on {machine_name}, download included, training for `TRAIN_MINUTES`{smoke}. No GPU time has been "
        "measured yet."
    )


def update_notebook_times(root=ROOT):
    """Rewrite the measured-time sentence in the top cell of every notebook from the record."""
    times = json.loads(RESULTS.read_text())
    for path in sorted((Path(root) / "notebooks").glob("*.ipynb")):
        modes = times.get(path.stem, {})
        if "default" not in modes:
            continue
        notebook = json.loads(path.read_text(encoding="utf-8"))
        top = "".join(notebook["cells"][0]["source"])
        new = TIME_SENTENCE.sub(time_sentence(modes), top)
        if new != top:
            notebook["cells"][0]["source"] = new.splitlines(keepends=True)
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"updated the measured time at the top of {path.name}")


if __name__ == "__main__":
    main()
