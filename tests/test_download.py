"""Tests for helpers.download (and load_membranes' download path) against a local HTTP mirror.

A real HTTP/1.1 server on 127.0.0.1 serves a fake mirror laid out like raw.githubusercontent.com
(``<owner>/<repo>/<commit>/<path>``); ``UNET_COURSE_DATA_URL`` points the downloads at it and
``download.REGISTRY_FOLDER`` points at fake dataset descriptions written by the test. The server
counts the TCP connections it accepts and can fail the first requests for a path on purpose
(an HTTP status, a dropped connection, a cut-off body or a slow answer).
"""

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import COMMIT, Mirror, png_bytes, register  # noqa: F401

from helpers import datasets, download
from helpers.course import course_root

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def served_path(path, name="fake", owner="tester"):
    """The path the mirror sees for a registered file."""
    return f"/{owner}/{name}/{COMMIT}/{path}"


def nothing_listens_url():
    """The address of a local port where no server listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def files_on_disk(root):
    """Relative paths of every file below ``root`` (temporary ones included)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


FILES = {"a/one.txt": b"first file\n", "a/b/two.bin": bytes(range(256)), "c/three.txt": b"3"}
MANY = {f"d{i // 10}/file{i}.txt": f"content of file {i}\n".encode() * (i + 1) for i in range(40)}


# --- fetch_dataset ------------------------------------------------------------------------


def test_fetch_downloads_every_file_with_the_right_bytes(mirror, tmp_path, capsys):
    register(mirror, "fake", FILES)
    root = download.fetch_dataset("fake")
    assert root == tmp_path / "downloads" / "fake"
    for path, content in FILES.items():
        assert (root / path).read_bytes() == content
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == sorted(FILES)
    assert sorted(mirror.requests) == sorted(f"/tester/fake/{COMMIT}/{path}" for path in FILES)
    printed = capsys.readouterr().out
    assert "License of fake: CC0" in printed and "Someone et al." in printed


def test_fetch_only_files_under(mirror):
    register(mirror, "fake", FILES)
    root = download.fetch_dataset("fake", files_under="a/")
    assert (root / "a/one.txt").is_file() and (root / "a/b/two.bin").is_file()
    assert not (root / "c").exists()
    assert len(mirror.requests) == 2


def test_fetch_several_parts_at_once_prints_the_license_once(mirror, capsys):
    register(mirror, "fake", {**FILES, "d/four.txt": b"4"})
    root = download.fetch_dataset("fake", files_under=("a/b/", "c/"))
    assert (root / "a/b/two.bin").is_file() and (root / "c/three.txt").is_file()
    assert not (root / "a/one.txt").exists() and not (root / "d").exists()
    assert len(mirror.requests) == 2
    assert capsys.readouterr().out.count("License of fake") == 1


def test_fetch_into_given_folder(mirror, tmp_path):
    register(mirror, "fake", FILES)
    root = download.fetch_dataset("fake", files_under="c/", folder=tmp_path / "elsewhere")
    assert root == tmp_path / "elsewhere" / "fake"
    assert (root / "c/three.txt").read_bytes() == b"3"


def test_second_fetch_makes_no_request(mirror, capsys):
    register(mirror, "fake", FILES)
    first = download.fetch_dataset("fake")
    count = len(mirror.requests)
    capsys.readouterr()
    assert download.fetch_dataset("fake") == first
    assert len(mirror.requests) == count == 3
    printed = capsys.readouterr().out
    assert printed == "fake: all 3 files already downloaded.\n"  # a folder outside the course is not named


def test_second_fetch_names_a_folder_inside_the_course(mirror, tmp_path, monkeypatch, capsys):
    register(mirror, "fake", FILES)
    monkeypatch.setattr(download, "course_root", lambda: tmp_path / "course")
    monkeypatch.delenv(download.DATA_DIR_VARIABLE)
    root = download.fetch_dataset("fake")
    assert root == tmp_path / "course" / "data" / "downloads" / "fake"
    capsys.readouterr()
    download.fetch_dataset("fake")
    assert capsys.readouterr().out == "fake: all 3 files already downloaded in data/downloads/fake.\n"


def test_damaged_cached_file_is_downloaded_again(mirror):
    register(mirror, "fake", FILES)
    root = download.fetch_dataset("fake")
    (root / "a/one.txt").write_bytes(b"edited by mistake")
    download.fetch_dataset("fake")
    assert (root / "a/one.txt").read_bytes() == FILES["a/one.txt"]
    assert mirror.requests[3:] == [f"/tester/fake/{COMMIT}/a/one.txt"]


def test_damaged_cached_file_is_removed_even_if_download_fails(mirror, monkeypatch):
    register(mirror, "fake", FILES)
    root = download.fetch_dataset("fake")
    (root / "a/one.txt").write_bytes(b"edited by mistake")
    monkeypatch.setenv(download.DATA_URL_VARIABLE, nothing_listens_url())
    with pytest.raises(download.DatasetUnavailable, match="a/one.txt"):
        download.fetch_dataset("fake")
    assert not (root / "a/one.txt").exists()
    assert (root / "c/three.txt").read_bytes() == b"3"  # good files stay


def test_checksum_mismatch_raises_and_keeps_no_bad_file(mirror, tmp_path):
    register(mirror, "fake", FILES, served={**FILES, "a/b/two.bin": b"changed upstream"})
    with pytest.raises(download.DatasetUnavailable) as error:
        download.fetch_dataset("fake")
    message = str(error.value)
    assert "a/b/two.bin" in message
    assert f"{mirror.url}tester/fake/{COMMIT}/a/b/two.bin" in message
    assert "sha256" in message
    assert download.DATA_URL_VARIABLE in message and "internet" in message
    bad_folder = tmp_path / "downloads" / "fake" / "a" / "b"
    assert not bad_folder.exists() or list(bad_folder.iterdir()) == []  # no bad file, no temporary file


def test_http_error_raises(mirror):
    register(mirror, "fake", FILES, served={"a/one.txt": FILES["a/one.txt"]})
    with pytest.raises(download.DatasetUnavailable, match="HTTP 404") as error:
        download.fetch_dataset("fake")
    assert "two.bin" in str(error.value) or "three.txt" in str(error.value)


def test_server_down_raises_with_the_fix(mirror, monkeypatch):
    register(mirror, "fake", FILES)
    url = nothing_listens_url()
    monkeypatch.setenv(download.DATA_URL_VARIABLE, url)
    with pytest.raises(download.DatasetUnavailable) as error:
        download.fetch_dataset("fake")
    assert isinstance(error.value, RuntimeError)
    message = str(error.value)
    assert "could not be reached" in message and url in message
    assert any(path in message for path in FILES)
    assert "internet connection" in message and download.DATA_URL_VARIABLE in message
    assert "fall back to the bundled data" in message
    assert mirror.requests == []


def test_unknown_dataset_lists_known_names(mirror):
    register(mirror, "fake", FILES)
    register(mirror, "other", FILES)
    with pytest.raises(ValueError, match="'nope'.*fake, other"):
        download.dataset_info("nope")


def test_files_under_matching_nothing(mirror):
    register(mirror, "fake", FILES)
    with pytest.raises(ValueError, match="'z/'.*a/, c/"):
        download.fetch_dataset("fake", files_under="z/")


def test_dataset_info_reads_the_registry(mirror):
    info = register(mirror, "fake", FILES)
    assert download.dataset_info("fake") == info
    assert download.dataset_names() == ["fake"]


def test_base_url_is_replaced_by_the_mirror(monkeypatch):
    info = {"base_url": "https://raw.githubusercontent.com/o/r/abc/"}
    monkeypatch.delenv(download.DATA_URL_VARIABLE, raising=False)
    assert download.dataset_base_url(info) == "https://raw.githubusercontent.com/o/r/abc/"
    monkeypatch.setenv(download.DATA_URL_VARIABLE, "http://127.0.0.1:8000")
    assert download.dataset_base_url(info) == "http://127.0.0.1:8000/o/r/abc/"
    monkeypatch.setenv(download.DATA_URL_VARIABLE, "http://mirror.example/raw/")
    assert download.dataset_base_url(info) == "http://mirror.example/raw/o/r/abc/"


def test_download_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(download.DATA_DIR_VARIABLE, raising=False)
    assert download.download_folder() == course_root() / "data" / "downloads"
    monkeypatch.setenv(download.DATA_DIR_VARIABLE, str(tmp_path / "d"))
    assert download.download_folder() == tmp_path / "d"
    assert download.download_folder(tmp_path / "x") == tmp_path / "x"


def test_importing_the_downloader_stays_light():
    code = (
        "import sys, helpers.download; print(sorted(m for m in ('IPython', 'tensorflow', 'tqdm') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=course_root(), check=True)
    assert result.stdout.strip() == "[]"


# --- retries, connections, resuming, messages ------------------------------------------------


@pytest.mark.parametrize("how", [503, 500, 429, "drop", "cut"])
def test_file_that_fails_twice_is_tried_again_and_arrives(mirror, how, capsys):
    register(mirror, "fake", FILES)
    mirror.fail(served_path("a/b/two.bin"), 2, how)
    root = download.fetch_dataset("fake")
    assert (root / "a/b/two.bin").read_bytes() == FILES["a/b/two.bin"]
    assert mirror.requests.count(served_path("a/b/two.bin")) == 3
    assert mirror.requests.count(served_path("a/one.txt")) == 1
    assert files_on_disk(root) == sorted(FILES)  # no temporary file left from the failed tries
    assert "2 retried" in capsys.readouterr().out


def test_gives_up_after_the_last_try_naming_the_file_and_keeping_the_others(mirror, tmp_path):
    register(mirror, "fake", FILES)
    mirror.fail(served_path("c/three.txt"), 99, 502)
    with pytest.raises(download.DatasetUnavailable) as error:
        download.fetch_dataset("fake")
    tries = len(download.RETRY_DELAYS_SECONDS) + 1
    assert mirror.requests.count(served_path("c/three.txt")) == tries == 4
    message = str(error.value)
    assert "'c/three.txt'" in message and "HTTP 502" in message and "after 4 tries" in message
    assert "2 of 3 files are downloaded and kept" in message and "run the cell again" in message
    assert "fall back to the bundled data" in message
    root = tmp_path / "downloads" / "fake"
    assert files_on_disk(root) == ["a/b/two.bin", "a/one.txt"]


def test_cut_off_file_is_never_left_looking_complete(mirror, tmp_path):
    register(mirror, "fake", FILES)
    mirror.fail(served_path("a/one.txt"), 99, "cut")
    with pytest.raises(download.DatasetUnavailable, match="'a/one.txt'.*could not be reached"):
        download.fetch_dataset("fake")
    assert files_on_disk(tmp_path / "downloads" / "fake") == ["a/b/two.bin", "c/three.txt"]


@pytest.mark.parametrize("status", [404, 403])
def test_missing_file_is_not_tried_again(mirror, status):
    register(mirror, "fake", FILES)
    mirror.fail(served_path("a/one.txt"), 99, status)
    with pytest.raises(download.DatasetUnavailable, match=f"'a/one.txt'.*HTTP {status}") as error:
        download.fetch_dataset("fake")
    assert mirror.requests.count(served_path("a/one.txt")) == 1
    assert "tries" not in str(error.value)


def test_each_try_waits_longer_than_the_one_before(mirror, monkeypatch):
    register(mirror, "fake", FILES)
    delays = (0.1, 0.2, 0.4)
    monkeypatch.setattr(download, "RETRY_DELAYS_SECONDS", delays)
    mirror.fail(served_path("c/three.txt"), 3, 503)
    download.fetch_dataset("fake")
    arrivals = [when for path, when in mirror.times if path == served_path("c/three.txt")]
    gaps = np.diff(arrivals)
    assert len(gaps) == 3
    assert all(gap >= delay for gap, delay in zip(gaps, delays)), gaps


def test_slow_server_says_the_network_is_slow(mirror, monkeypatch):
    register(mirror, "fake", FILES)
    monkeypatch.setattr(download, "TIMEOUT_SECONDS", 0.2)
    mirror.fail(served_path("a/one.txt"), 99, ("slow", 0.6))
    with pytest.raises(download.DatasetUnavailable) as error:
        download.fetch_dataset("fake")
    message = str(error.value)
    assert "'a/one.txt'" in message and "did not answer within 0.2 s" in message
    assert "slow or busy" in message and "after 4 tries" in message


def test_busy_server_429_says_wait_and_is_tried_again(mirror):
    register(mirror, "fake", FILES)
    mirror.fail(served_path("a/one.txt"), 99, 429)
    with pytest.raises(download.DatasetUnavailable, match="HTTP 429.*after 4 tries.*slow or busy"):
        download.fetch_dataset("fake")


def test_one_lasting_failure_stops_the_files_not_started(mirror, monkeypatch):
    register(mirror, "fake", MANY)
    monkeypatch.setattr(download, "PARALLEL_DOWNLOADS", 1)
    first = next(iter(MANY))
    mirror.fail(served_path(first), 99, 404)
    with pytest.raises(download.DatasetUnavailable, match=first):
        download.fetch_dataset("fake")
    assert mirror.requests == [served_path(first)]


def test_connections_are_reused(mirror):
    register(mirror, "fake", MANY)
    root = download.fetch_dataset("fake")
    assert files_on_disk(root) == sorted(MANY)
    assert len(mirror.requests) == 40
    assert 1 <= mirror.connections <= download.PARALLEL_DOWNLOADS  # 40 requests, at most 8 connections


def test_rerun_after_deleting_files_fetches_only_those(mirror, tmp_path, capsys):
    register(mirror, "fake", MANY)
    root = download.fetch_dataset("fake")
    deleted = sorted(MANY)[::10]
    for path in deleted:
        (root / path).unlink()
    mirror.requests.clear()
    capsys.readouterr()
    download.fetch_dataset("fake")
    assert sorted(mirror.requests) == sorted(served_path(path) for path in deleted)
    assert all((root / path).read_bytes() == MANY[path] for path in MANY)
    printed = capsys.readouterr().out
    size = sum(len(MANY[path]) for path in deleted) / 1e6
    assert f"4 of 40 files, {size:.2f} MB (the other 36 are already here)" in printed


def test_rerun_after_a_failure_continues_where_it_stopped(mirror):
    register(mirror, "fake", MANY)
    broken = sorted(MANY)[7]
    mirror.fail(served_path(broken), 4, 500)
    with pytest.raises(download.DatasetUnavailable, match=broken):
        download.fetch_dataset("fake")
    asked_before = list(mirror.requests)
    root = download.fetch_dataset("fake")
    asked_again = mirror.requests[len(asked_before) :]
    assert asked_again.count(served_path(broken)) == 1
    assert not (set(asked_before) - {served_path(broken)}) & set(asked_again)  # nothing kept is asked again
    assert files_on_disk(root) == sorted(MANY)


def test_temporary_file_left_by_a_killed_download_is_removed(mirror, tmp_path):
    register(mirror, "fake", FILES)
    folder = tmp_path / "downloads" / "fake" / "a"
    folder.mkdir(parents=True)
    (folder / ".one.txt.1234abcd.part").write_bytes(b"half a fi")
    root = download.fetch_dataset("fake")
    assert files_on_disk(root) == sorted(FILES)


def test_messages_name_the_dataset_size_license_and_no_address_or_folder(mirror, tmp_path, capsys):
    register(mirror, "fake", FILES)
    root = download.fetch_dataset("fake")
    (root / "c/three.txt").unlink()
    download.fetch_dataset("fake")
    download.fetch_dataset("fake")
    printed = capsys.readouterr().out
    lines = [line.split("\r")[-1] for line in printed.split("\n")]  # a progress line shows its last state
    assert lines[:3] == [
        "Downloading The fake set (fake): 3 files, 0.00 MB",
        "  License: License of fake: CC0",
        "  Please cite: Someone et al. The fake dataset (2020).",
    ]
    assert lines[3].startswith("fake: 100%") and "3/3" in lines[3] and "0.00 MB" in lines[3]
    assert lines[4] == "Downloading The fake set (fake): 1 of 3 files, 0.00 MB (the other 2 are already here)"
    assert lines[7].startswith("fake: 100%") and "1/1" in lines[7]
    assert lines[8:] == ["fake: all 3 files already downloaded.", ""]
    assert "127.0.0.1" not in printed and str(tmp_path) not in printed and "tmp" not in printed
    assert printed.count("  License:") == 2  # once per download, not when everything is already here


def test_size_is_left_out_when_the_registry_has_none(mirror, capsys):
    register(mirror, "fake", MANY, sizes=False)
    download.fetch_dataset("fake")
    lines = capsys.readouterr().out.split("\n")
    assert lines[0] == "Downloading The fake set (fake): 40 files"
    received = sum(map(len, MANY.values())) / 1e6
    assert "40/40" in lines[3] and f"{received:.2f} MB" in lines[3].split("\r")[-1]  # counted as the bytes arrived


def test_committed_registry_has_a_size_for_every_file():
    for name in ["isbi2012", "drosophila_vnc", "dsb2018_subset"]:
        info = json.loads((Path(download.__file__).parent / "registry" / f"{name}.json").read_text())
        assert set(info["sizes"]) == set(info["files"]) and all(size > 0 for size in info["sizes"].values())


# --- load_membranes("default") ------------------------------------------------------------


def fake_isbi(mirror):
    """Register a 3-image ISBI-like dataset (labels: 255 = cell interior) and return its arrays."""
    rng = np.random.default_rng(0)
    files, images, labels = {}, {}, {}
    for name in ["0", "1", "10"]:
        images[name] = rng.integers(0, 256, (6, 8), dtype=np.uint8)
        labels[name] = np.where(rng.random((6, 8)) < 0.3, 0, 255).astype(np.uint8)
        files[f"data/membrane/train/image/{name}.png"] = png_bytes(images[name])
        files[f"data/membrane/train/label/{name}.png"] = png_bytes(labels[name])
    files["data/membrane/test/0.png"] = png_bytes(images["0"])
    register(mirror, "isbi2012", files, owner="zhixuhao")
    return images, labels


def fake_bundled(tmp_path, monkeypatch):
    """Put a 2-image bundled membrane set in a fake course folder and return its images."""
    folder = tmp_path / "course" / "data" / "membranes"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir(parents=True)
    for name, value in [("a", 10), ("b", 20)]:
        Image.fromarray(np.full((4, 4), value, np.uint8)).save(folder / "images" / f"{name}.png")
        Image.fromarray(np.eye(4, dtype=np.uint8) * 255).save(folder / "masks" / f"{name}.png")
    monkeypatch.setattr(datasets, "course_root", lambda: tmp_path / "course")


def test_load_membranes_default_downloads_isbi_and_inverts_labels(mirror, tmp_path, monkeypatch):
    images, labels = fake_isbi(mirror)
    fake_bundled(tmp_path, monkeypatch)
    pairs = datasets.load_membranes("default")
    assert "ISBI 2012" in pairs.source
    assert pairs.names == ["0", "1", "10"]
    expected_images = np.stack([images[n] for n in pairs.names]) / 255
    np.testing.assert_allclose(pairs.images[..., 0], expected_images, rtol=1e-6)
    expected_masks = np.stack([labels[n] == 0 for n in pairs.names]).astype(np.float32)  # 1 = membrane
    np.testing.assert_array_equal(pairs.masks[..., 0], expected_masks)
    assert not any("test" in path for path in mirror.requests)
    assert len(mirror.requests) == 6


def test_load_membranes_default_falls_back_when_server_is_down(mirror, tmp_path, monkeypatch, capsys):
    fake_isbi(mirror)
    fake_bundled(tmp_path, monkeypatch)
    monkeypatch.setenv(download.DATA_URL_VARIABLE, nothing_listens_url())
    pairs = datasets.load_membranes("default")
    bundled = datasets.bundled_membranes()
    assert pairs.source == bundled.source == "bundled synthetic membranes (data/membranes)"
    assert pairs.names == ["a", "b"]
    np.testing.assert_array_equal(pairs.images, bundled.images)
    printed = capsys.readouterr().out
    assert "Could not get the ISBI 2012 membranes" in printed
    assert "could not be reached" in printed
    assert "continues with the bundled synthetic membranes" in printed
    assert download.DATA_URL_VARIABLE in printed


# --- the committed registry ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["isbi2012", "drosophila_vnc", "dsb2018_subset"])
def test_committed_registry_is_well_formed(name):
    assert name in download.dataset_names()
    info = download.dataset_info(name)
    assert info["name"] == name
    assert re.fullmatch(r"[0-9a-f]{40}", info["commit"])
    owner_repo = info["source"].removeprefix("https://github.com/")
    assert info["base_url"] == f"{download.GITHUB_RAW_PREFIX}{owner_repo}/{info['commit']}/"
    assert len(info["license"]) > 5 and len(info["citation"]) > 20 and info["notes"]
    assert info["files"]
    for path, sha256 in info["files"].items():
        assert SHA256.match(sha256), (path, sha256)
        assert not path.startswith("/") and ".." not in Path(path).parts


def test_committed_isbi_registry_has_every_training_pair():
    files = download.dataset_info("isbi2012")["files"]
    train = datasets.ISBI_TRAIN_FOLDER
    images = {p.removeprefix(train + "image/") for p in files if p.startswith(train + "image/")}
    labels = {p.removeprefix(train + "label/") for p in files if p.startswith(train + "label/")}
    assert images == labels == {f"{i}.png" for i in range(30)}
