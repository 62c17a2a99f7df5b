"""Tests for helpers.download (and load_membranes' download path) against a local HTTP mirror.

A real HTTP server on 127.0.0.1 serves a fake mirror laid out like raw.githubusercontent.com
(``<owner>/<repo>/<commit>/<path>``); ``UNET_COURSE_DATA_URL`` points the downloads at it and
``download.REGISTRY_FOLDER`` points at fake dataset descriptions written by the test.
"""

import hashlib
import http.server
import io
import json
import logging
import re
import socket
import threading
from pathlib import Path

import numpy as np
import pooch
import pytest
from PIL import Image

from helpers import data, download
from helpers.course import course_root

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Mirror:
    """A local web server over a folder; ``requests`` lists every path asked for."""

    def __init__(self, folder):
        self.folder = folder
        self.requests = []
        mirror = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def do_GET(self):
                mirror.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A running mirror, used by every download, and empty download and registry folders."""
    (tmp_path / "mirror").mkdir()
    server = Mirror(tmp_path / "mirror")
    monkeypatch.setenv(download.DATA_URL_VARIABLE, server.url)
    monkeypatch.setenv(download.DATA_DIR_VARIABLE, str(tmp_path / "downloads"))
    monkeypatch.setattr(download, "REGISTRY_FOLDER", tmp_path / "registry")
    yield server
    server.close()


def register(mirror, name, files, served=None, owner="tester"):
    """Describe a dataset of ``files`` ({path: bytes}); put ``served`` (default: the same) on the mirror."""
    served = files if served is None else served
    base = mirror.folder / owner / name / COMMIT
    for path, content in served.items():
        (base / path).parent.mkdir(parents=True, exist_ok=True)
        (base / path).write_bytes(content)
    info = {
        "name": name,
        "source": f"https://github.com/{owner}/{name}",
        "commit": COMMIT,
        "base_url": f"https://raw.githubusercontent.com/{owner}/{name}/{COMMIT}/",
        "license": f"License of {name}: CC0",
        "citation": f"Someone et al. The {name} dataset (2020).",
        "notes": "fake dataset for the tests",
        "files": {path: hashlib.sha256(content).hexdigest() for path, content in files.items()},
    }
    download.REGISTRY_FOLDER.mkdir(exist_ok=True)
    (download.REGISTRY_FOLDER / f"{name}.json").write_text(json.dumps(info))
    return info


def nothing_listens_url():
    """The address of a local port where no server listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


FILES = {"a/one.txt": b"first file\n", "a/b/two.bin": bytes(range(256)), "c/three.txt": b"3"}


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
    assert "already downloaded" in printed and str(first) in printed
    assert "License" not in printed and printed.count("\n") == 1


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


def test_pooch_is_quiet():
    assert pooch.get_logger().level == logging.WARNING


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
    monkeypatch.setattr(data, "course_root", lambda: tmp_path / "course")


def test_load_membranes_default_downloads_isbi_and_inverts_labels(mirror, tmp_path, monkeypatch):
    images, labels = fake_isbi(mirror)
    fake_bundled(tmp_path, monkeypatch)
    pairs = data.load_membranes("default")
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
    pairs = data.load_membranes("default")
    bundled = data.bundled_membranes()
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
    train = data.ISBI_TRAIN_FOLDER
    images = {p.removeprefix(train + "image/") for p in files if p.startswith(train + "image/")}
    labels = {p.removeprefix(train + "label/") for p in files if p.startswith(train + "label/")}
    assert images == labels == {f"{i}.png" for i in range(30)}
