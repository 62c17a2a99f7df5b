"""load_drosophila_vnc on a fake mirror served from 127.0.0.1 (see test_download.py)."""

import numpy as np
import pytest
from support import GREYS, fake_vnc, png_bytes, register  # noqa: F401

from helpers import datasets, download


def test_grey_values_become_five_classes():
    expected = [[0, 0, 0, 0], [0, 1, 2, 3], [4, 4, 2, 1], [0, 4, 3, 4]]
    np.testing.assert_array_equal(datasets.vnc_label_map(GREYS), expected)
    with pytest.raises(ValueError, match=r"Unknown grey values \[7\]"):
        datasets.vnc_label_map(np.array([[0, 7]], np.uint8))


def test_load_classes_and_one_class(mirror):
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


def test_bad_arguments_and_no_connection(mirror, monkeypatch):
    with pytest.raises(ValueError, match="target"):
        datasets.load_drosophila_vnc("nucleus")
    with pytest.raises(ValueError, match="downscale"):
        datasets.load_drosophila_vnc(downscale=0.5)
    fake_vnc(mirror)
    monkeypatch.setenv(download.DATA_URL_VARIABLE, "http://127.0.0.1:9/")
    with pytest.raises(download.DatasetUnavailable):
        datasets.load_drosophila_vnc()
