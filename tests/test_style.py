"""The code style is the formatter's and the linter's (ruff, configured in ruff.toml), not anybody's taste."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff():
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed; python3 course.py test installs it (requirements-dev.txt).", pytrace=False)
    return found


def test_ruff_finds_nothing_to_lint():
    result = subprocess.run([_ruff(), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"ruff check found problems (fix them, many with `ruff check --fix`):\n{result.stdout}"
    )


def test_code_is_formatted_by_ruff():
    result = subprocess.run([_ruff(), "format", "--check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"run `ruff format .`; these files are not formatted:\n{result.stdout}"


def test_notebook_code_is_valid_python_311():
    # the course supports Python 3.11-3.13; f"{d["key"]}" (the same quotes nested) parses only from 3.12
    result = subprocess.run(
        [_ruff(), "check", "--isolated", "--no-cache", "--target-version", "py311", "--select", "E9", "notebooks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"notebook code that Python 3.11 cannot run:\n{result.stdout}"
