"""Tests for helpers.course: Colab detection, the Drive folder and installing what is absent.

Colab is faked: a stand-in ``google.colab.drive`` module records mounts, and the Drive mount
point is a temporary folder. ``subprocess.run`` is replaced so that nothing is installed,
except in the tests at the end, which run the real pip in a throwaway virtual environment
with wheels made here (no network): they prove that installing leaves every installed
package as it was, and that a Python without TensorFlow gets the TPU-runtime message.
"""

import importlib.metadata
import os
import re
import subprocess
import sys
import types
import venv
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from helpers import course
from helpers.course import course_root

ABSENT = "surely-not-a-package-xyz"


# ----------------------------------------------------------------------------------------
# Fakes
# ----------------------------------------------------------------------------------------


@pytest.fixture
def not_colab(monkeypatch):
    """Make sure the tests see a plain Python, whatever machine they run on."""
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab.drive", raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)


@pytest.fixture
def fake_colab(monkeypatch, tmp_path, not_colab):
    """Pretend to be Colab; return the list that records every ``drive.mount`` call."""
    mount_calls = []

    def mount(mount_point, **options):
        mount_calls.append(mount_point)
        (tmp_path / "drive" / "MyDrive").mkdir(parents=True, exist_ok=True)

    drive = types.ModuleType("google.colab.drive")
    drive.mount = mount
    google_colab = types.ModuleType("google.colab")
    google_colab.drive = drive
    monkeypatch.setitem(sys.modules, "google.colab", google_colab)
    monkeypatch.setitem(sys.modules, "google.colab.drive", drive)
    monkeypatch.setattr(course, "DRIVE_MOUNT_POINT", tmp_path / "drive")
    return mount_calls


@pytest.fixture
def pip_calls(monkeypatch):
    """Replace ``subprocess.run`` so that pip is recorded, never run.

    Each call is recorded as its command with the constraints file's path replaced by
    ``"<constraints>"``; the file's lines at the time of the call go to ``calls.constraints``.
    """
    calls = PipCalls()

    def fake_run(command, **options):
        command = list(command)
        if "-c" in command:
            path = Path(command[command.index("-c") + 1])
            calls.constraints.append(path.read_text(encoding="utf-8").splitlines())
            command[command.index("-c") + 1] = "<constraints>"
        calls.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    return calls


class PipCalls(list):
    """The pip commands run, and the constraints file of each."""

    def __init__(self):
        super().__init__()
        self.constraints = []


def pip_install(*requirements):
    """The pip command install_missing runs for ``requirements``."""
    return [sys.executable, "-m", "pip", "install", "-q", "-c", "<constraints>", *requirements]


def write_requirements(tmp_path, *lines):
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------
# in_colab
# ----------------------------------------------------------------------------------------


def test_in_colab_is_false_in_a_plain_python(not_colab):
    assert course.in_colab() is False


def test_in_colab_is_true_when_the_colab_module_is_loaded(fake_colab):
    assert course.in_colab() is True


def test_in_colab_is_true_when_colab_sets_its_environment_variable(not_colab, monkeypatch):
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20250101-060000_RC00")
    assert course.in_colab() is True


def test_importing_colab_helpers_does_not_import_heavy_packages():
    code = (
        "import sys, helpers.course; "
        "heavy = [m for m in ('tensorflow', 'keras', 'numpy', 'packaging') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    from helpers.course import course_root

    result = subprocess.run([sys.executable, "-c", code], cwd=course_root(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# ----------------------------------------------------------------------------------------
# mount_drive
# ----------------------------------------------------------------------------------------


def test_mount_drive_in_colab_mounts_once_and_creates_the_folder(fake_colab, tmp_path, capsys):
    folder = course.mount_drive("unet-course")

    assert folder == tmp_path / "drive" / "MyDrive" / "unet-course"
    assert folder.is_dir()
    assert fake_colab == [str(tmp_path / "drive")]
    assert "MyDrive/unet-course" in capsys.readouterr().out

    again = course.mount_drive("unet-course")
    assert again == folder
    assert len(fake_colab) == 1, "a second call must not mount Google Drive again"


def test_mount_drive_keeps_what_is_already_in_the_folder(fake_colab, tmp_path):
    folder = course.mount_drive("unet-course")
    (folder / "model.keras").write_bytes(b"trained weights")
    (folder / "run-1").mkdir()
    (folder / "run-1" / "history.csv").write_text("epoch,loss\n0,0.5\n")

    course.mount_drive("unet-course")

    assert (folder / "model.keras").read_bytes() == b"trained weights"
    assert (folder / "run-1" / "history.csv").read_text() == "epoch,loss\n0,0.5\n"


def test_mount_drive_does_not_mount_when_drive_is_already_mounted(fake_colab, tmp_path):
    existing = tmp_path / "drive" / "MyDrive" / "unet-course"
    existing.mkdir(parents=True)
    (existing / "notes.txt").write_text("keep me")

    folder = course.mount_drive("unet-course")

    assert fake_colab == []
    assert folder == existing
    assert (existing / "notes.txt").read_text() == "keep me"


def test_mount_drive_refuses_to_replace_a_file_with_a_folder(fake_colab, tmp_path):
    my_drive = tmp_path / "drive" / "MyDrive"
    my_drive.mkdir(parents=True)
    (my_drive / "unet-course").write_text("a file, not a folder")

    with pytest.raises(FileExistsError, match="is a file"):
        course.mount_drive("unet-course")
    assert (my_drive / "unet-course").read_text() == "a file, not a folder"


def test_mount_drive_outside_colab_uses_the_local_folder_given(not_colab, tmp_path, capsys):
    folder = course.mount_drive("unet-course", local_folder=tmp_path / "results")

    assert folder == tmp_path / "results"
    assert folder.is_dir()
    message = capsys.readouterr().out
    assert "not running in Google Colab" in message
    assert str(folder) in message


def test_mount_drive_outside_colab_defaults_to_outputs_in_the_course(not_colab, tmp_path, monkeypatch):
    import helpers.course

    monkeypatch.setattr(helpers.course, "course_root", lambda: tmp_path)
    monkeypatch.delenv(course.OUTPUTS_VARIABLE, raising=False)

    folder = course.mount_drive("my-experiment")

    assert folder == tmp_path / "outputs" / "my-experiment"
    assert folder.is_dir()


def test_mount_drive_outside_colab_uses_the_folder_the_environment_names(not_colab, tmp_path, monkeypatch):
    monkeypatch.setenv(course.OUTPUTS_VARIABLE, str(tmp_path / "results"))

    assert course.mount_drive("my-experiment") == tmp_path / "results" / "my-experiment"


@pytest.mark.parametrize("bad_name", ["", "   ", None, 3, "/etc", "../elsewhere"])
def test_mount_drive_rejects_bad_folder_names(not_colab, bad_name):
    with pytest.raises(ValueError, match="folder_name"):
        course.mount_drive(bad_name)


def test_mount_drive_rejects_a_local_folder_that_is_not_a_path(not_colab):
    with pytest.raises(TypeError, match="local_folder"):
        course.mount_drive("unet-course", local_folder=42)


# ----------------------------------------------------------------------------------------
# install_missing
# ----------------------------------------------------------------------------------------


def test_install_missing_installs_only_what_is_missing(tmp_path, pip_calls, not_colab, capsys):
    path = write_requirements(tmp_path, "numpy>=1.0", f"{ABSENT}>=1")

    installed = course.install_missing(path)

    assert installed == [f"{ABSENT}>=1"]
    assert pip_calls == [pip_install(f"{ABSENT}>=1")]
    assert f"Installing: {ABSENT}>=1" in capsys.readouterr().out


def test_install_missing_reads_only_requirement_lines_that_apply_here(tmp_path, pip_calls, not_colab, capsys):
    path = write_requirements(
        tmp_path,
        "# the course's packages",
        "",
        "-r other-requirements.txt",
        "--index-url https://example.org/simple",
        "numpy>=1.0  # satisfied",
        "NumPy<1.0",
        f"{ABSENT}>=1",
        f'{ABSENT}-windows>=1; sys_platform == "no-such-platform"',
    )

    assert course.install_missing(path) == [f"{ABSENT}>=1"]
    assert pip_calls == [pip_install(f"{ABSENT}>=1")]
    assert "NumPy<1.0" in capsys.readouterr().out


def test_install_missing_says_which_line_it_cannot_read(tmp_path, pip_calls):
    path = write_requirements(tmp_path, "numpy>=1.0", "numpy >= = 2")
    with pytest.raises(ValueError, match="line 2"):
        course.install_missing(path)


def test_install_missing_holds_every_installed_package_at_its_version(tmp_path, pip_calls, not_colab):
    path = write_requirements(tmp_path, f"{ABSENT}>=1")

    course.install_missing(path)

    [constraints] = pip_calls.constraints
    for name in ("numpy", "pytest", "packaging", "pip"):
        assert f"{name}=={importlib.metadata.version(name)}" in constraints
    installed = {canonicalize_name(d.metadata["Name"]) for d in importlib.metadata.distributions()}
    pinned = {line.split("==")[0] for line in constraints}
    assert pinned == installed, "every installed distribution is pinned, and nothing else"


def test_install_missing_leaves_an_out_of_range_package_and_says_what_to_do(tmp_path, pip_calls, fake_colab, capsys):
    numpy_version = importlib.metadata.version("numpy")
    path = write_requirements(tmp_path, "numpy<1.0", f"{ABSENT}>=1")

    installed = course.install_missing(path)

    assert installed == [f"{ABSENT}>=1"], "the absent package is still installed"
    assert pip_calls == [pip_install(f"{ABSENT}>=1")], "numpy is neither upgraded nor downgraded"
    out = capsys.readouterr().out
    assert f"numpy {numpy_version}" in out
    assert "numpy<1.0" in out
    assert "every cell that handles images" in out
    assert "Disconnect and delete runtime" in out


def test_install_missing_with_only_out_of_range_packages_runs_no_pip(tmp_path, pip_calls, not_colab, capsys):
    path = write_requirements(tmp_path, "numpy<1.0", "pytest<1.0")

    assert course.install_missing(path) == []
    assert pip_calls == []
    out = capsys.readouterr().out
    assert "numpy" in out and "pytest" in out and "the cells that use pytest" in out
    assert "nothing to do" not in out


def test_install_missing_with_nothing_missing_runs_no_pip(tmp_path, pip_calls, not_colab, capsys):
    path = write_requirements(tmp_path, "numpy>=1.0")

    assert course.install_missing(path) == []
    assert pip_calls == []
    assert "nothing to do" in capsys.readouterr().out


def test_install_missing_never_installs_an_absent_never_install_package_locally(
    tmp_path, pip_calls, not_colab, capsys, monkeypatch
):
    monkeypatch.setattr(course, "NEVER_INSTALL", (ABSENT,))
    other = f"{ABSENT}-other"
    path = write_requirements(tmp_path, f"{ABSENT.upper()}>=1", f"{other}>=1")

    installed = course.install_missing(path)

    assert installed == [f"{other}>=1"]
    assert pip_calls == [pip_install(f"{other}>=1")]
    out = capsys.readouterr().out
    assert f"{ABSENT.upper()}>=1, but it is not installed" in out
    assert "python3 course.py start" in out


def test_install_missing_never_installs_an_absent_tensorflow_in_colab(
    tmp_path, pip_calls, fake_colab, capsys, monkeypatch
):
    monkeypatch.setattr(course, "_installed_version", lambda name: None if name == "tensorflow" else "1.0")
    path = write_requirements(tmp_path, "tensorflow>=2")

    assert course.install_missing(path) == []
    assert pip_calls == []
    assert "Disconnect and delete runtime" in capsys.readouterr().out


def test_install_missing_never_changes_an_installed_tensorflow(tmp_path, pip_calls, not_colab, capsys):
    path = write_requirements(tmp_path, "tensorflow<1.0", "keras<1.0")

    assert course.install_missing(path) == []
    assert pip_calls == []
    out = capsys.readouterr().out
    assert "has tensorflow" in out and "has keras" in out
    assert "building and training every model" in out


def test_install_missing_explains_a_pip_failure(tmp_path, monkeypatch, not_colab):
    def failing_run(command, **options):
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(subprocess, "run", failing_run)
    path = write_requirements(tmp_path, f"{ABSENT}>=1")

    with pytest.raises(RuntimeError, match=f"pip could not install {ABSENT}.*without changing"):
        course.install_missing(path)


def test_install_missing_names_a_missing_file(tmp_path, pip_calls):
    with pytest.raises(FileNotFoundError, match="requirements.txt"):
        course.install_missing(tmp_path / "requirements.txt")


# ----------------------------------------------------------------------------------------
# A runtime without TensorFlow (Colab's TPU runtime)
# ----------------------------------------------------------------------------------------


def test_check_tensorflow_passes_where_tensorflow_is_installed():
    course.check_tensorflow()


def test_check_tensorflow_stops_where_tensorflow_cannot_be_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # what `import tensorflow` then finds: nothing
    with pytest.raises(course.NoTensorFlowError) as raised:
        course.check_tensorflow()
    assert "Change runtime type > T4 GPU" in str(raised.value)


def test_a_notebook_shows_the_tensorflow_message_alone_without_a_traceback():
    pytest.importorskip("IPython")
    code = (
        "import sys; sys.modules['tensorflow'] = None; "
        "from helpers import course; course.check_tensorflow(); print('not stopped')"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "IPython",
            "--no-banner",
            "--colors=NoColor",
            "--TerminalInteractiveShell.term_title=False",
            "-c",
            code,
        ],
        cwd=course_root(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    shown = (result.stdout + result.stderr).strip()
    assert shown == course.NO_TENSORFLOW_MESSAGE, shown


# ----------------------------------------------------------------------------------------
# The requirement ranges admit what Colab has (its published package lists)
# ----------------------------------------------------------------------------------------

COLAB_LISTS = course_root() / ".ci" / "colab"


def colab_pins(runtime):
    """``{canonical name: version}`` from the copy of Colab's ``pip freeze`` for a runtime."""
    pins = {}
    for line in (COLAB_LISTS / f"pip-freeze-{runtime}.txt").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line.strip())
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def course_requirements():
    lines = (course_root() / "requirements.txt").read_text(encoding="utf-8").splitlines()
    texts = [re.sub(r"(^|\s)#.*$", "", line).strip() for line in lines]
    return [Requirement(text) for text in texts if text and not text.startswith("-")]


@pytest.mark.parametrize("runtime", ["cpu", "gpu"])
def test_requirements_admit_every_version_in_colab(runtime):
    pins = colab_pins(runtime)
    assert pins["tensorflow"] == "2.20.0" and pins["ipywidgets"] == "7.7.1", "list not read"
    outside = [
        f"{requirement} does not admit Colab's {requirement.name} {pins[canonicalize_name(requirement.name)]}"
        for requirement in course_requirements()
        if canonicalize_name(requirement.name) in pins
        and not requirement.specifier.contains(Version(pins[canonicalize_name(requirement.name)]), prereleases=True)
    ]
    assert outside == [], f"requirements.txt vs Colab's {runtime} runtime: {outside}"


def test_colab_tpu_runtime_has_keras_but_no_tensorflow():
    pins = colab_pins("tpu")
    assert pins["keras"] == "3.13.2" and "jax" in pins
    assert "tensorflow" not in pins and "tensorflow-cpu" not in pins


@pytest.mark.parametrize("runtime", ["cpu", "gpu", "tpu"])
def test_the_copies_of_colab_lists_name_their_source(runtime):
    header = (COLAB_LISTS / f"pip-freeze-{runtime}.txt").read_text(encoding="utf-8")[:600]
    assert "googlecolab/backend-info" in header and "a724079" in header and "2026-08-19" in header


# ----------------------------------------------------------------------------------------
# The real pip in a throwaway virtual environment (wheels made here, no network)
# ----------------------------------------------------------------------------------------


def make_wheel(folder, name, version, requires=(), files=None):
    """Write a pure-Python wheel ``name-version`` into ``folder``; return its path."""
    stem = f"{name.replace('-', '_')}-{version}"
    files = dict(files or {f"{name.replace('-', '_')}/__init__.py": b""})
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    files[f"{stem}.dist-info/METADATA"] = metadata.encode()
    files[f"{stem}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = f"{stem}.dist-info/RECORD"
    files[record] = "".join(f"{file},,\n" for file in [*files, record]).encode()
    path = Path(folder) / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for file, data in files.items():
            wheel.writestr(file, data)
    return path


def packaging_wheel(folder):
    """A wheel of the ``packaging`` installed here (Colab has packaging; helpers.course needs it)."""
    import packaging

    package = Path(packaging.__file__).parent
    files = {f"packaging/{file.relative_to(package).as_posix()}": file.read_bytes() for file in package.rglob("*.py")}
    return make_wheel(folder, "packaging", importlib.metadata.version("packaging"), files=files)


class ThrowawayPython:
    """A virtual environment with pip that installs only from a folder of local wheels."""

    def __init__(self, folder):
        self.wheels = folder / "wheels"
        self.wheels.mkdir()
        self.folder = folder / "venv"
        venv.create(self.folder, with_pip=True, symlinks=os.name != "nt")
        self.python = str(self.folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
        self.environment = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        self.environment.pop("COLAB_RELEASE_TAG", None)
        self.environment.update(
            PIP_CONFIG_FILE=os.devnull,  # no machine-wide pip settings
            PIP_NO_INDEX="1",
            PIP_FIND_LINKS=str(self.wheels),
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            PYTHONNOUSERSITE="1",
        )

    def run(self, *arguments, colab=False, check=True):
        environment = dict(self.environment)
        if colab:
            environment["COLAB_RELEASE_TAG"] = "release-colab-replica"
        result = subprocess.run(
            [self.python, *arguments],
            cwd=course_root(),
            env=environment,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def freeze(self):
        lines = self.run("-m", "pip", "freeze").stdout.splitlines()
        return sorted(line for line in lines if line.strip())


@pytest.fixture(scope="module")
def colab_like(tmp_path_factory):
    """A throwaway Python that has dep-a 1.0, a keras stand-in and packaging, no TensorFlow.

    The wheel folder also offers dep-a 2.0 (plain pip would upgrade to it), pkg-b (needs any
    dep-a) and pkg-c (needs dep-a>=2).
    """
    python = ThrowawayPython(tmp_path_factory.mktemp("colab-like"))
    packaging_wheel(python.wheels)
    make_wheel(python.wheels, "dep-a", "1.0")
    make_wheel(python.wheels, "dep-a", "2.0")
    make_wheel(python.wheels, "pkg-b", "1.0", requires=["dep-a"])
    make_wheel(python.wheels, "pkg-c", "1.0", requires=["dep-a>=2"])
    make_wheel(python.wheels, "keras", "3.13.2")  # stands in for Colab's TPU-runtime Keras
    python.run("-m", "pip", "install", "-q", "packaging", "dep-a==1.0", "keras==3.13.2")
    return python


INSTALL_MISSING = "import sys; from helpers import course; course.install_missing(sys.argv[1])"


def test_installing_what_is_absent_only_adds_packages(colab_like, tmp_path):
    requirements = write_requirements(tmp_path, "pkg-b", "dep-a>=1.5")
    before = colab_like.freeze()

    result = colab_like.run("-c", INSTALL_MISSING, str(requirements), colab=True)

    after = colab_like.freeze()
    assert set(before) <= set(after), f"changed or removed: {set(before) - set(after)}"
    assert sorted(set(after) - set(before)) == ["pkg-b==1.0"]
    assert "dep-a==1.0" in after
    assert "WARNING: This Colab runtime has dep-a 1.0" in result.stdout


def test_installing_never_upgrades_a_package_as_a_dependency(colab_like, tmp_path):
    plain_pip = colab_like.run("-m", "pip", "install", "--dry-run", "pkg-c")
    assert "dep-a-2.0" in plain_pip.stdout, "plain pip would upgrade dep-a: the case is real"
    requirements = write_requirements(tmp_path, "pkg-c")
    before = colab_like.freeze()

    result = colab_like.run("-c", INSTALL_MISSING, str(requirements), colab=True, check=False)

    assert result.returncode != 0
    assert "without changing a package that is already installed" in result.stderr
    assert colab_like.freeze() == before


def test_setup_on_a_runtime_without_tensorflow_stops_with_the_tpu_message(colab_like):
    before = colab_like.freeze()
    code = "from helpers import course; course.start_notebook()"

    result = colab_like.run("-c", code, colab=True, check=False)

    assert result.returncode != 0
    assert result.stdout == "", "nothing is installed or printed before the message"
    expected_end = f"helpers.course.NoTensorFlowError: {course.NO_TENSORFLOW_MESSAGE}"
    assert result.stderr.strip().endswith(expected_end), result.stderr
    assert result.stderr.count("This course runs on TensorFlow") == 1
    assert colab_like.freeze() == before
