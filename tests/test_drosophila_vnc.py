"""load_drosophila_vnc on a fake mirror served from 127.0.0.1 (see test_download.py)."""

import io

import numpy as np
import pytest
import tifffile
from test_download import mirror, png_bytes, register  # noqa: F401  (mirror is a fixture)

from helpers import datasets, download


def tif_bytes(array):
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, photometric="minisblack")
    return buffer.getvalue()


GREYS = np.array([[0, 32, 64, 96], [128, 159, 191, 223], [255, 255, 191, 159], [0, 255, 223, 255]], np.uint8)


def fake_vnc(mirror, n=2):  # noqa: F811
    files = {}
    for index in range(n):
        files[f"stack1/raw/{index:02d}.tif"] = tif_bytes(np.full((4, 4), 51 * (index + 1), np.uint8))
        files[f"stack1/labels/labels000000{index:02d}.png"] = png_bytes(GREYS)
    files["stack1/mitochondria/00.png"] = png_bytes(GREYS)  # not needed: must not be downloaded
    register(mirror, "drosophila_vnc", files)


def test_grey_values_become_five_classes():
    expected = [[0, 0, 0, 0], [0, 1, 2, 3], [4, 4, 2, 1], [0, 4, 3, 4]]
    np.testing.assert_array_equal(datasets.vnc_label_map(GREYS), expected)
    with pytest.raises(ValueError, match=r"Unknown grey values \[7\]"):
        datasets.vnc_label_map(np.array([[0, 7]], np.uint8))


def test_load_classes_and_one_class(mirror):  # noqa: F811
    fake_vnc(mirror)
    classes = datasets.load_drosophila_vnc()
    assert classes.images.shape == (2, 4, 4, 1) and classes.masks.shape == (2, 4, 4, 1)
    assert classes.names == ["00", "01"]
    np.testing.assert_allclose(classes.images[1, 0, 0, 0], 102 / 255)
    np.testing.assert_array_equal(classes.masks[0, ..., 0], datasets.vnc_label_map(GREYS))
    assert not any("mitochondria/" in request for request in mirror.requests)

    mitochondria = datasets.load_drosophila_vnc("mitochondria", downscale=2)
    assert mitochondria.images.shape == (2, 2, 2, 1)
    # every 2nd label pixel: grey 0, 64 / 255, 191 -> only the last is mitochondria
    np.testing.assert_array_equal(mitochondria.masks[0, ..., 0], [[0, 0], [0, 1]])
    assert "mitochondria masks, shrunk 2x" in mitochondria.source


def test_bad_arguments_and_no_connection(mirror, monkeypatch):  # noqa: F811
    with pytest.raises(ValueError, match="target must be 'classes' or one of"):
        datasets.load_drosophila_vnc("nucleus")
    with pytest.raises(ValueError, match="downscale must be a whole number >= 1"):
        datasets.load_drosophila_vnc(downscale=0.5)
    fake_vnc(mirror)
    monkeypatch.setenv(download.DATA_URL_VARIABLE, "http://127.0.0.1:9/")
    with pytest.raises(download.DatasetUnavailable):
        datasets.load_drosophila_vnc()
