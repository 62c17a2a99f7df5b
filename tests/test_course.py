"""Course-wide rules: one repository address, one setup cell, one skeleton for every notebook."""

import json
import re

import pytest

from helpers import course

ROOT = course.course_root()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell):
    return "".join(cell["source"])


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_badge_and_setup_cell_use_the_one_repository_address(path):
    text = path.read_text(encoding="utf-8")
    assert course.colab_url(path.name) in text, f"{path.name}: its Colab badge does not point at itself"
    setup = _source(_cells(path)[1])
    assert f'REPOSITORY_URL = "{course.REPOSITORY_URL}"' in setup
    for address in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", text):
        assert address == course.REPOSITORY_URL or "github.com/karolzak" in address, (
            f"{path.name} names {address}, but the course lives at {course.REPOSITORY_URL} (helpers/course.py)"
        )


def test_readme_badges_use_the_one_repository_address_for_every_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert course.colab_url(path.name) in readme, f"README has no Colab badge for {path.name}"
    for address in re.findall(r"colab\.research\.google\.com/github/[^)\s\"]+", readme):
        assert address.startswith(course.colab_url("").removeprefix("https://")), address


def test_every_notebook_starts_with_the_same_setup_cell():
    setups = {path.name: _source(_cells(path)[1]) for path in NOTEBOOKS}
    first = next(iter(setups.values()))
    assert all(setup == first for setup in setups.values()), "setup cells differ between notebooks"
    assert "git+" not in first, "no pip install git+... in the setup cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_skeleton(path):
    cells = _cells(path)
    assert cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith("# ")
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and "MODE = " in _source(tagged[0])
    code = [_source(c) for c in cells if c["cell_type"] == "code"]
    assert sum(text.count("exercises.check_") for text in code) >= 3, "fewer than 3 exercises"
    assert any("## Key points" in _source(c) for c in cells if c["cell_type"] == "markdown")
    assert all(c.get("execution_count") for c in cells if c["cell_type"] == "code"), (
        "commit the notebook executed top to bottom (benchmarks/run_notebooks.py --mode default --save)"
    )


def test_choose_mode_reads_the_environment_first(monkeypatch):
    monkeypatch.setenv(course.MODE_VARIABLE, "smoke")
    assert course.choose_mode("default") == "smoke"
    monkeypatch.delenv(course.MODE_VARIABLE)
    assert course.choose_mode("default") == "default"


def test_unknown_mode_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv(course.MODE_VARIABLE, "fast")
    with pytest.raises(ValueError, match="default, smoke"):
        course.choose_mode("default")


def test_versions_line_names_python_and_tensorflow():
    line = course.versions_line()
    assert line.startswith("Python 3.") and "tensorflow" in line


def test_readme_times_are_the_benchmark_figures():
    # benchmarks/run_notebooks.py writes what it measures; the README table must quote it
    results = json.loads((ROOT / "benchmarks" / "results" / "notebook_times.json").read_text())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for notebook, modes in results.items():
        row = next((line for line in readme.splitlines() if f"notebooks/{notebook}.ipynb)" in line), "")
        assert row, f"README has no table row for {notebook}"
        for mode, machines in modes.items():
            measured = next(m for label, m in machines.items() if "2 CPU cores" in label)
            assert f"{round(measured['seconds'])} s" in row, f"README time for {notebook} {mode} is not the measured one"
            assert f"{measured['peak_mb'] / 1024:.1f} GB" in row, f"README memory for {notebook} {mode}"
