"""Running a notebook a second time in the same place works, as students do with 'Run all'.

Cells that download or write files carry the tag ``files``. This test runs each notebook from
the top to its last ``files`` cell, then its ``files`` cells again in the same kernel (nbval runs
every notebook once in full): the second run must raise no "already exists" error.
"""

import json

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.course import course_root

NOTEBOOKS = sorted((course_root() / "notebooks").glob("*.ipynb"))
DISK_WORDS = ("fetch_dataset", "load_membranes", "mount_drive", ".save(", "imsave", "open(")


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_cells_that_touch_files_are_tagged(path):
    for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and any(word in source for word in DISK_WORDS):
            assert "files" in _tags(cell), f"{path.name} cell {index} touches files: tag it 'files'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_twice_in_the_same_kernel_and_folder(path):
    # conftest.py sets UNET_COURSE_MODE=smoke, which the kernel inherits
    notebook = nbformat.read(path, as_version=4)
    last = max((i for i, cell in enumerate(notebook.cells) if "files" in _tags(cell)), default=1)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells[: last + 1]):
            client.execute_cell(cell, index)
        for index, cell in enumerate(notebook.cells[: last + 1]):
            if "files" in _tags(cell):  # raises CellExecutionError when a cell fails, e.g. "already exists"
                client.execute_cell(cell, index)
