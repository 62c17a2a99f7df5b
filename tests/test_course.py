"""Course-wide rules: one repository address, one setup cell, one skeleton for every notebook."""

import json
import os
import re
import subprocess
import sys

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
    named = readme.split("<!-- machine:start -->", 1)[1].split("<!-- machine:end -->", 1)[0]
    for notebook, modes in results.items():
        row = next((line for line in readme.splitlines() if f"notebooks/{notebook}.ipynb)" in line), "")
        assert row, f"README has no table row for {notebook}"
        for mode, machines in modes.items():
            label, measured = max(machines.items(), key=lambda item: item[1].get("date", ""))  # the newest
            letter = re.search(r"(\([A-Z]\)) " + re.escape(label), named)
            assert letter, f"README does not name the machine of the {notebook} {mode} time: {label}"
            quoted = f"{round(measured['seconds'])} s"
            assert quoted in row, f"README time for {notebook} {mode} is not the measured one"
            assert f"{measured['peak_mb'] / 1024:.1f} GB {letter.group(1)}" in row, (
                f"README memory for {notebook} {mode}, or the letter of its machine {letter.group(1)}"
            )


# ----------------------------------------------------------------------------------------
# course.start_notebook: the setup cell's one call
# ----------------------------------------------------------------------------------------


@pytest.fixture
def outside_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)


@pytest.fixture
def install_calls(monkeypatch):
    """Record course.install_missing calls instead of installing."""
    calls = []
    monkeypatch.setattr(course, "install_missing", lambda path, **options: calls.append(path) or [])
    return calls


def test_start_notebook_outside_colab_prints_versions_and_device_and_installs_nothing(
    outside_colab, install_calls, capsys
):
    course.start_notebook()

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Training precision: ")
    assert lines[1] == course.versions_line()
    assert lines[2].startswith("Training runs on")
    assert install_calls == []


def test_start_notebook_in_colab_installs_what_is_absent_from_the_course_requirements(
    outside_colab, install_calls, monkeypatch, capsys
):
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")

    course.start_notebook()

    assert install_calls == [ROOT / "requirements.txt"]
    assert course.versions_line() in capsys.readouterr().out.splitlines()


def test_start_notebook_in_colab_without_tensorflow_stops_before_installing(
    outside_colab, install_calls, monkeypatch, capsys
):
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` finds nothing

    with pytest.raises(course.NoTensorFlowError, match="Change runtime type"):
        course.start_notebook()
    assert install_calls == []
    assert capsys.readouterr().out == ""


def run_python(code, extra_path=None):
    """Run ``code`` in a fresh Python from the course folder, without TF_CPP_MIN_LOG_LEVEL."""
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    if extra_path:
        environment["PYTHONPATH"] = os.pathsep.join([str(extra_path), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )


def fake_tensorflow(folder, fails=False):
    """A stand-in tensorflow package that writes a native log line to file descriptor 2."""
    package = folder / "tensorflow"
    package.mkdir()
    body = "import os\nos.write(2, b'I0000 native start-up line\\n')\n"
    if fails:
        body += "raise ImportError('the stand-in tensorflow fails to load')\n"
    (package / "__init__.py").write_text(body)


def test_import_tensorflow_quietly_drops_the_native_start_up_lines(tmp_path):
    fake_tensorflow(tmp_path)
    code = (
        "import os, sys; from helpers import course; tf = course.import_tensorflow_quietly(); "
        "print(tf.__file__); print(os.environ['TF_CPP_MIN_LOG_LEVEL']); "
        "os.write(2, b'standard error works again\\n')"
    )
    result = run_python(code, extra_path=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(tmp_path / "tensorflow" / "__init__.py"), "3"]
    assert result.stderr == "standard error works again\n"


def test_import_tensorflow_quietly_shows_the_lines_when_the_import_fails(tmp_path):
    fake_tensorflow(tmp_path, fails=True)
    code = "from helpers import course; course.import_tensorflow_quietly()"
    result = run_python(code, extra_path=tmp_path)

    assert result.returncode != 0
    assert "I0000 native start-up line" in result.stderr
    assert "ImportError: the stand-in tensorflow fails to load" in result.stderr


def test_the_real_tensorflow_loads_and_lists_its_devices_without_a_log_line():
    code = (
        "from helpers import course; tf = course.import_tensorflow_quietly(); "
        "tf.config.list_logical_devices(); print(course.describe_device())"
    )
    result = run_python(code)

    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "TensorFlow printed log lines:\n" + result.stderr
    assert result.stdout.startswith("Training runs on")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_notebook_top_quotes_its_measured_time_and_machine(path):
    times = json.loads((ROOT / "benchmarks" / "results" / "notebook_times.json").read_text())
    default = times.get(path.stem, {}).get("default")
    if not default:
        pytest.skip(f"{path.name} has no recorded default-mode time")
    label, measured = max(default.items(), key=lambda item: item[1].get("date", ""))
    top = _source(_cells(path)[0])
    assert f"default mode {round(measured['seconds'])} s" in top, f"{path.name}: its top cell does not quote its time"
    assert label.split(", Python")[0] in top, f"{path.name}: its top cell does not name the machine ({label})"


# --- course.py, the command line: where Jupyter opens, a quiet slide build -------------------------


def _course_py_runs(monkeypatch, *arguments):
    """The command and environment that ``python3 course.py ARGUMENTS`` starts (nothing is installed or run)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("course_py", ROOT / "course.py")
    course_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course_py)
    started = []
    monkeypatch.setattr(course_py, "ensure_environment", lambda: None)
    monkeypatch.setattr(
        course_py.subprocess,
        "run",
        lambda run, cwd, env: started.append((run, env)) or subprocess.CompletedProcess(run, 0),
    )
    assert course_py.main(list(arguments)) == 0
    return started[0]


def test_jupyter_opens_at_the_course_folder_with_the_notebooks_shown(monkeypatch):
    run, _ = _course_py_runs(monkeypatch, "start", "--no-browser")
    assert f"--ServerApp.root_dir={ROOT}" in run  # outputs/ and data/ are reachable from the file browser
    assert "--JupyterNotebookApp.default_url=/tree/notebooks" in run
    assert "--no-browser" in run


def test_the_slide_build_starts_tensorflow_without_its_log_lines(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    run, env = _course_py_runs(monkeypatch, "slides", "--no-pdf")
    assert run[-2:] == [str(ROOT / "slides" / "build.py"), "--no-pdf"]
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "3"
