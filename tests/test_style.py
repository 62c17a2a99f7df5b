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
