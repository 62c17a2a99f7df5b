"""Notebooks 08 and 09 run twice in the same kernel and folder (the test of tests/test_notebooks.py)."""

import pytest
from test_notebooks import LONG, NOTEBOOKS
from test_notebooks import test_notebook_runs_twice_in_the_same_kernel_and_folder as runs_twice


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name in LONG], ids=lambda p: p.name)
def test_notebook_runs_twice_in_the_same_kernel_and_folder(path):
    runs_twice(path)
