"""Fixtures of the tests; unit tests draw figures without a screen."""

import matplotlib
import pytest
from support import Mirror

from helpers import download

matplotlib.use("Agg")


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A running mirror, used by every download, empty download and registry folders, short retries."""
    (tmp_path / "mirror").mkdir()
    server = Mirror(tmp_path / "mirror")
    monkeypatch.setenv(download.DATA_URL_VARIABLE, server.url)
    monkeypatch.setenv(download.DATA_DIR_VARIABLE, str(tmp_path / "downloads"))
    monkeypatch.setattr(download, "REGISTRY_FOLDER", tmp_path / "registry")
    monkeypatch.setattr(download, "RETRY_DELAYS_SECONDS", (0.01, 0.02, 0.04))
    yield server
    server.close()
