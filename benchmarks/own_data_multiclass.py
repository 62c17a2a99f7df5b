"""Notebook 08 in default mode on a multi-class folder it has never seen: the Drosophila VNC classes.

Writes the 20 VNC sections (halved to 512x512) as grey PNG images and class-id PNG masks (ids 0..4:
membrane ... intracellular, :data:`helpers.datasets.VNC_CLASS_NAMES`) into a temporary folder, the way
a researcher's folder would look, then runs notebooks/08_your_own_data.ipynb on it in default mode
by setting only its folder parameters and the class names (as papermill would), with every result
written to the temporary folder. Prints the notebook's report of the folder, its per-class table and
confusion matrix on the test images, its recorded results, and the seconds it took.

    UNET_COURSE_DATA_URL=http://127.0.0.1:8765/ python benchmarks/own_data_multiclass.py

Writes ``benchmarks/results/own_data_multiclass.txt`` and records the numbers under
``own_data_multiclass`` in ``benchmarks/results/benchmark_results.json``.
"""

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "08_your_own_data.ipynb"
RESULTS = Path(__file__).parent / "results" / "own_data_multiclass.txt"
#: What the benchmark keeps of the notebook's printed output: the lines that describe the folder,
#: the training's length and the per-class scores (not the exercises' or the demonstrations' lines).
KEPT = (
    "default mode:",
    "Checked ",
    "id  name",
    "NOTE ",
    "pairs of",
    "One training step",
    "best epoch",
    "annotated test pixels",
)


def write_folder(folder, downscale, new_images):
    """Write the VNC sections as images/ and masks/ (and the last ``new_images`` also as new/)."""
    import skimage.io

    from helpers import datasets

    data = datasets.load_drosophila_vnc("classes", downscale=downscale)
    for sub in ("images", "masks", "new"):
        (folder / sub).mkdir(parents=True)
    for name, image, mask in zip(data.names, data.images, data.masks):
        picture = np.round(image[..., 0] * 255).astype(np.uint8)
        skimage.io.imsave(folder / "images" / f"{name}.png", picture, check_contrast=False)
        skimage.io.imsave(folder / "masks" / f"{name}.png", mask[..., 0].astype(np.uint8), check_contrast=False)
    for name, image in list(zip(data.names, data.images))[-new_images:]:
        picture = np.round(image[..., 0] * 255).astype(np.uint8)
        skimage.io.imsave(folder / "new" / f"{name}.png", picture, check_contrast=False)
    return data


def run_notebook(folder, train_minutes):
    """Execute notebook 08 on the folder in default mode; return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    from helpers.datasets import VNC_CLASS_NAMES

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    index = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    settings = {
        "MODE": "default",
        "TRAIN_MINUTES": train_minutes,
        "IMAGE_FOLDER": str(folder / "images"),
        "MASK_FOLDER": str(folder / "masks"),
        "NEW_IMAGE_FOLDER": str(folder / "new"),
        "RUN_NAME": "vnc",
        "CLASS_NAMES": ", ".join(VNC_CLASS_NAMES),
    }
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in settings.items())))
    redirect = (
        "import functools\n"
        f"course.mount_drive = functools.partial(course.mount_drive, local_folder={str(folder / 'results')!r})"
    )
    notebook.cells.insert(2, nbformat.v4.new_code_cell(redirect))
    os.environ.pop("UNET_COURSE_MODE", None)
    NotebookClient(
        notebook, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    return notebook


def printed_lines(notebook, class_names=()):
    """The text the notebook printed that describes the folder and the scores (with the rows of the classes)."""
    lines = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = output.get("text", "")
            if "confusion matrix" in text:  # the whole matrix, whatever its row labels
                lines += [line.rstrip() for line in text.splitlines() if line.strip()]
                continue
            for line in text.splitlines():
                if (any(words in line for words in KEPT) or _is_class_row(line, class_names)) and len(line) < 160:
                    lines.append(line.rstrip())
    return lines


def _is_class_row(line, class_names):
    """A row of a class table: an optional class id, then a class name (or "class"/"mean", the header and mean rows)."""
    words = line.split(maxsplit=1)
    if words and words[0].isdigit():
        words = words[1:]
    return bool(words) and words[0].startswith(("class", "mean", *class_names))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--downscale", type=int, default=2)
    parser.add_argument("--train-minutes", type=float, default=2.5)
    parser.add_argument("--note", default="", help='how the machine was measured, e.g. "shared with other jobs"')
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()

    from quote_results import notebook_results, record_benchmark
    from run_notebooks import machine

    from helpers.datasets import VNC_CLASS_NAMES

    with tempfile.TemporaryDirectory(prefix="vnc-folder-") as temporary:
        folder = Path(temporary)
        data = write_folder(folder, args.downscale, new_images=2)
        start = time.perf_counter()
        notebook = run_notebook(folder, args.train_minutes)
        seconds = time.perf_counter() - start
    recorded = notebook_results(notebook)
    values = {key: value for key, value in recorded.items() if isinstance(value, (int, float))}
    not_numbers = {key: value for key, value in recorded.items() if key not in values}
    values["seconds"] = seconds
    lines = [
        f"Notebook 08, default mode, on a folder of Drosophila VNC class-id masks ({data.source}); "
        f"{datetime.date.today()}",
        f"Machine: {machine()}" + (f" ({args.note})" if args.note else ""),
        f"Command: python benchmarks/own_data_multiclass.py --downscale {args.downscale} "
        f"--train-minutes {args.train_minutes}",
        f"20 sections of {data.images.shape[1]}x{data.images.shape[2]} pixels, masks 0..4 "
        f"({', '.join(VNC_CLASS_NAMES)}); notebook run {seconds:.0f} s, download excluded.",
        "",
        "What the notebook printed about the folder and the scores:",
        *printed_lines(notebook, VNC_CLASS_NAMES),
        "",
        "Recorded results: " + ", ".join(f"{key} {value:.3f}" for key, value in sorted(values.items())),
        *([f"Not numbers, not recorded: {not_numbers}"] if not_numbers else []),
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_save:
        RESULTS.write_text(text + "\n", encoding="utf-8")
        print(f"saved as {RESULTS}")
        for changed in record_benchmark("own_data_multiclass", values, machine(), datetime.date.today()):
            print(f"updated the quoted numbers in {changed}")


if __name__ == "__main__":
    main()
