"""Running a notebook a second time, as students do with 'Run all', works (nbval runs each once)."""

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.course import course_root

NOTEBOOKS = sorted((course_root() / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_twice_in_the_same_kernel_and_folder(path):
    # conftest.py sets UNET_COURSE_MODE=smoke, which the kernel inherits
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for run in (1, 2):
            for index, cell in enumerate(notebook.cells):
                # raises CellExecutionError when a cell fails, e.g. "already exists" on the second run
                client.execute_cell(cell, index)
