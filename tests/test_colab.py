"""Tests for helpers.colab: Colab detection, the Drive folder and installing what is missing.

Colab is faked: a stand-in ``google.colab.drive`` module records mounts, and the Drive mount
point is a temporary folder. ``subprocess.run`` is replaced so that nothing is installed.
"""

import subprocess
import sys
import types

import pytest

from helpers import colab

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
    monkeypatch.setattr(colab, "DRIVE_MOUNT_POINT", tmp_path / "drive")
    return mount_calls


@pytest.fixture
def pip_calls(monkeypatch):
    """Replace ``subprocess.run`` so that pip is recorded, never run."""
    calls = []

    def fake_run(command, **options):
        calls.append(list(command))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    return calls


def write_requirements(tmp_path, *lines):
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------
# in_colab
# ----------------------------------------------------------------------------------------


def test_in_colab_is_false_in_a_plain_python(not_colab):
    assert colab.in_colab() is False


def test_in_colab_is_true_when_the_colab_module_is_loaded(fake_colab):
    assert colab.in_colab() is True


def test_in_colab_is_true_when_colab_sets_its_environment_variable(not_colab, monkeypatch):
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20250101-060000_RC00")
    assert colab.in_colab() is True


def test_importing_colab_helpers_does_not_import_heavy_packages():
    code = (
        "import sys, helpers.colab, helpers.hardware; "
        "heavy = [m for m in ('tensorflow', 'keras', 'numpy', 'packaging') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    from helpers.course import course_root

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=course_root(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ----------------------------------------------------------------------------------------
# mount_drive
# ----------------------------------------------------------------------------------------


def test_mount_drive_in_colab_mounts_once_and_creates_the_folder(fake_colab, tmp_path, capsys):
    folder = colab.mount_drive("unet-course")

    assert folder == tmp_path / "drive" / "MyDrive" / "unet-course"
    assert folder.is_dir()
    assert fake_colab == [str(tmp_path / "drive")]
    assert "MyDrive/unet-course" in capsys.readouterr().out

    again = colab.mount_drive("unet-course")
    assert again == folder
    assert len(fake_colab) == 1, "a second call must not mount Google Drive again"


def test_mount_drive_keeps_what_is_already_in_the_folder(fake_colab, tmp_path):
    folder = colab.mount_drive("unet-course")
    (folder / "model.keras").write_bytes(b"trained weights")
    (folder / "run-1").mkdir()
    (folder / "run-1" / "history.csv").write_text("epoch,loss\n0,0.5\n")

    colab.mount_drive("unet-course")

    assert (folder / "model.keras").read_bytes() == b"trained weights"
    assert (folder / "run-1" / "history.csv").read_text() == "epoch,loss\n0,0.5\n"


def test_mount_drive_does_not_mount_when_drive_is_already_mounted(fake_colab, tmp_path):
    existing = tmp_path / "drive" / "MyDrive" / "unet-course"
    existing.mkdir(parents=True)
    (existing / "notes.txt").write_text("keep me")

    folder = colab.mount_drive("unet-course")

    assert fake_colab == []
    assert folder == existing
    assert (existing / "notes.txt").read_text() == "keep me"


def test_mount_drive_refuses_to_replace_a_file_with_a_folder(fake_colab, tmp_path):
    my_drive = tmp_path / "drive" / "MyDrive"
    my_drive.mkdir(parents=True)
    (my_drive / "unet-course").write_text("a file, not a folder")

    with pytest.raises(FileExistsError, match="is a file"):
        colab.mount_drive("unet-course")
    assert (my_drive / "unet-course").read_text() == "a file, not a folder"


def test_mount_drive_outside_colab_uses_the_local_folder_given(not_colab, tmp_path, capsys):
    folder = colab.mount_drive("unet-course", local_folder=tmp_path / "results")

    assert folder == tmp_path / "results"
    assert folder.is_dir()
    message = capsys.readouterr().out
    assert "not running in Google Colab" in message
    assert str(folder) in message


def test_mount_drive_outside_colab_defaults_to_outputs_in_the_course(
    not_colab, tmp_path, monkeypatch
):
    import helpers.course

    monkeypatch.setattr(helpers.course, "course_root", lambda: tmp_path)

    folder = colab.mount_drive("my-experiment")

    assert folder == tmp_path / "outputs" / "my-experiment"
    assert folder.is_dir()


@pytest.mark.parametrize("bad_name", ["", "   ", None, 3, "/etc", "../elsewhere"])
def test_mount_drive_rejects_bad_folder_names(not_colab, bad_name):
    with pytest.raises(ValueError, match="folder_name"):
        colab.mount_drive(bad_name)


def test_mount_drive_rejects_a_local_folder_that_is_not_a_path(not_colab):
    with pytest.raises(TypeError, match="local_folder"):
        colab.mount_drive("unet-course", local_folder=42)


# ----------------------------------------------------------------------------------------
# missing_requirements
# ----------------------------------------------------------------------------------------


def test_missing_requirements_finds_absent_and_out_of_range_packages(tmp_path):
    path = write_requirements(
        tmp_path,
        "# the course's packages",
        "",
        "-r other-requirements.txt",
        "--index-url https://example.org/simple",
        "numpy>=1.0  # satisfied",
        "numpy<1.0",
        f"{ABSENT}>=1",
        f'{ABSENT}-windows>=1; sys_platform == "no-such-platform"',
    )

    assert colab.missing_requirements(path) == ["numpy<1.0", f"{ABSENT}>=1"]


def test_missing_requirements_is_empty_when_all_are_satisfied(tmp_path):
    path = write_requirements(tmp_path, "numpy>=1.0", "packaging", "NumPy")
    assert colab.missing_requirements(path) == []


def test_missing_requirements_names_a_missing_file(tmp_path):
    missing = tmp_path / "no-such-requirements.txt"
    with pytest.raises(FileNotFoundError, match="no-such-requirements.txt"):
        colab.missing_requirements(missing)


def test_missing_requirements_says_which_line_it_cannot_read(tmp_path):
    path = write_requirements(tmp_path, "numpy>=1.0", "numpy >= = 2")
    with pytest.raises(ValueError, match="line 2"):
        colab.missing_requirements(path)


# ----------------------------------------------------------------------------------------
# install_missing
# ----------------------------------------------------------------------------------------


def test_install_missing_installs_only_what_is_missing(tmp_path, pip_calls, not_colab, capsys):
    path = write_requirements(tmp_path, "numpy>=1.0", f"{ABSENT}>=1")

    installed = colab.install_missing(path)

    assert installed == [f"{ABSENT}>=1"]
    assert pip_calls == [[sys.executable, "-m", "pip", "install", "-q", f"{ABSENT}>=1"]]
    assert f"Installing: {ABSENT}>=1" in capsys.readouterr().out


def test_install_missing_asks_for_a_restart_after_changing_a_version(
    tmp_path, pip_calls, not_colab, capsys
):
    path = write_requirements(tmp_path, "numpy<1.0")

    assert colab.install_missing(path) == ["numpy<1.0"]
    assert "Restart session" in capsys.readouterr().out


def test_install_missing_with_nothing_missing_runs_no_pip(tmp_path, pip_calls, not_colab, capsys):
    path = write_requirements(tmp_path, "numpy>=1.0")

    assert colab.install_missing(path) == []
    assert pip_calls == []
    assert "nothing to do" in capsys.readouterr().out


def test_install_missing_never_installs_tensorflow_locally(tmp_path, pip_calls, not_colab, capsys):
    path = write_requirements(tmp_path, "tensorflow<1.0", "keras<1.0", f"{ABSENT}>=1")

    installed = colab.install_missing(path)

    assert installed == [f"{ABSENT}>=1"]
    assert pip_calls == [[sys.executable, "-m", "pip", "install", "-q", f"{ABSENT}>=1"]]
    out = capsys.readouterr().out
    assert "WARNING: the course needs tensorflow<1.0" in out
    assert "WARNING: the course needs keras<1.0" in out
    assert "python3 course.py start" in out


def test_install_missing_never_installs_tensorflow_in_colab(
    tmp_path, pip_calls, fake_colab, capsys
):
    path = write_requirements(tmp_path, "tensorflow<1.0")

    assert colab.install_missing(path) == []
    assert pip_calls == []
    assert "use the preinstalled TensorFlow" in capsys.readouterr().out


def test_install_missing_respects_a_custom_never_install_list(tmp_path, pip_calls, not_colab):
    path = write_requirements(tmp_path, f"{ABSENT}>=1")

    assert colab.install_missing(path, never_install=[ABSENT.upper()]) == []
    assert pip_calls == []


def test_install_missing_rejects_a_single_name_as_never_install(tmp_path, pip_calls):
    path = write_requirements(tmp_path, "numpy>=1.0")
    with pytest.raises(TypeError, match="never_install"):
        colab.install_missing(path, never_install="tensorflow")


def test_install_missing_explains_a_pip_failure(tmp_path, monkeypatch, not_colab):
    def failing_run(command, **options):
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(subprocess, "run", failing_run)
    path = write_requirements(tmp_path, f"{ABSENT}>=1")

    with pytest.raises(RuntimeError, match=f"pip could not install {ABSENT}"):
        colab.install_missing(path)


def test_install_missing_names_a_missing_file(tmp_path, pip_calls):
    with pytest.raises(FileNotFoundError, match="requirements.txt"):
        colab.install_missing(tmp_path / "requirements.txt")
