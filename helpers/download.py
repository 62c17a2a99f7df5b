"""Real datasets, downloaded once by pinned address and checked by sha256.

Each dataset is described by a JSON file in ``helpers/datasets/``: where it comes from (a
repository at a fixed commit), its license, how to cite it, how its masks are encoded, and
the sha256 of every file. :func:`fetch_dataset` downloads the files with pooch, checks each
one against its sha256 and keeps it, so the second call needs no network at all.

Two environment variables change where files come from and where they go:

- ``UNET_COURSE_DATA_URL`` replaces ``https://raw.githubusercontent.com/`` in every address,
  for example ``http://127.0.0.1:8000/`` for a local mirror laid out
  ``<owner>/<repo>/<commit>/<path>``.
- ``UNET_COURSE_DATA_DIR`` is the folder that keeps the downloads (default
  ``data/downloads`` in the course folder). Each dataset gets its own subfolder.

Example
-------
>>> from helpers import download
>>> root = download.fetch_dataset("isbi2012", files_under="data/membrane/train/")
>>> sorted((root / "data/membrane/train/image").glob("*.png"))[:2]  # doctest: +SKIP
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pooch
import requests

from helpers.course import course_root

#: Environment variable whose value replaces ``GITHUB_RAW_PREFIX`` in every dataset address.
DATA_URL_VARIABLE = "UNET_COURSE_DATA_URL"
#: Environment variable naming the folder that keeps the downloads.
DATA_DIR_VARIABLE = "UNET_COURSE_DATA_DIR"
#: The start of every pinned address in the registry.
GITHUB_RAW_PREFIX = "https://raw.githubusercontent.com/"
#: Folder holding one ``<name>.json`` per dataset (the facts: source, license, sha256s).
REGISTRY_FOLDER = Path(__file__).resolve().parent / "datasets"

#: Seconds to wait for the server before giving up on a file.
TIMEOUT_SECONDS = 30
#: Files downloaded at the same time (a dataset can hold thousands of small files).
PARALLEL_DOWNLOADS = 8

# pooch logs every file it downloads; the course prints its own short summary instead.
pooch.get_logger().setLevel("WARNING")


class DatasetUnavailable(RuntimeError):
    """A dataset file could not be downloaded or did not match its sha256."""


def dataset_names():
    """Return the names of the datasets in the registry.

    Returns
    -------
    list of str
        Sorted names, e.g. ``["drosophila_vnc", "dsb2018_subset", "isbi2012"]``.
    """
    return sorted(path.stem for path in REGISTRY_FOLDER.glob("*.json"))


def dataset_info(name):
    """Return the facts about one dataset.

    Parameters
    ----------
    name : str
        A name from :func:`dataset_names`, e.g. ``"isbi2012"``.

    Returns
    -------
    dict
        Keys ``name``, ``source``, ``commit``, ``base_url``, ``license``, ``citation``,
        ``notes`` and ``files`` (``{relative path: sha256}``).

    Raises
    ------
    ValueError
        If no dataset has that name.
    """
    known = dataset_names()
    if name not in known:
        raise ValueError(
            f"Unknown dataset {name!r}. Known datasets: {', '.join(known)}. "
            f"Each is described by a JSON file in {REGISTRY_FOLDER}."
        )
    with open(REGISTRY_FOLDER / f"{name}.json", encoding="utf-8") as registry_file:
        return json.load(registry_file)


def download_folder(folder=None):
    """Return the folder that keeps the downloaded datasets.

    Parameters
    ----------
    folder : str or pathlib.Path, optional
        Use this folder. By default ``UNET_COURSE_DATA_DIR`` if it is set, else
        ``data/downloads`` in the course folder.

    Returns
    -------
    pathlib.Path
    """
    if folder is None:
        folder = os.environ.get(DATA_DIR_VARIABLE) or course_root() / "data" / "downloads"
    return Path(folder).expanduser()


def dataset_base_url(info):
    """Return the address the files of a dataset are downloaded from.

    Parameters
    ----------
    info : dict
        The facts from :func:`dataset_info`.

    Returns
    -------
    str
        ``info["base_url"]``, with ``https://raw.githubusercontent.com/`` replaced by the
        value of ``UNET_COURSE_DATA_URL`` when that variable is set. Ends with ``/``.
    """
    base_url = info["base_url"]
    mirror = os.environ.get(DATA_URL_VARIABLE, "").strip()
    if mirror and base_url.startswith(GITHUB_RAW_PREFIX):
        base_url = mirror.rstrip("/") + "/" + base_url[len(GITHUB_RAW_PREFIX) :]
    return base_url.rstrip("/") + "/"


def fetch_dataset(name, *, files_under="", folder=None):
    """Download a dataset (or part of it) once, checking every file's sha256.

    Files already on disk with the right sha256 are not downloaded again; if every file is
    there, no request is made at all. A file on disk with a wrong sha256 is deleted and
    downloaded again.

    Parameters
    ----------
    name : str
        A name from :func:`dataset_names`, e.g. ``"isbi2012"``.
    files_under : str or tuple of str, optional
        Download only the files whose relative path starts with this (or with one of these),
        e.g. ``"data/membrane/train/"``. By default every file of the dataset. Ask for all the
        parts you need in one call: the license and citation are printed once per download.
    folder : str or pathlib.Path, optional
        Folder that keeps the downloads; the dataset goes in ``folder / name``. By default
        see :func:`download_folder`.

    Returns
    -------
    pathlib.Path
        The dataset's local root: a registered file ``path`` is at ``root / path``.

    Raises
    ------
    DatasetUnavailable
        If a file cannot be downloaded (no connection, HTTP error) or does not match its
        sha256. The message names the file and the address and says how to fix it.
    """
    info = dataset_info(name)
    wanted = _files_under(info, files_under)
    root = download_folder(folder) / name
    missing = {path: sha256 for path, sha256 in wanted.items() if not _is_cached(root / path, sha256)}
    if not missing:
        print(f"{name}: {len(wanted)} files already downloaded in {root}")
        return root
    base_url = dataset_base_url(info)
    print(f"Downloading {name}: {len(missing)} files from {base_url}\n  to {root}")
    print(f"  License: {info['license']}\n  Please cite: {info['citation']}", flush=True)
    _download_all(name, base_url, root, missing)
    print(f"{name}: {len(wanted)} files ready in {root}")
    return root


def _files_under(info, files_under):
    """Return ``{path: sha256}`` for the registered files whose path starts with ``files_under``.

    ``files_under`` is a string or a list/tuple of strings.
    """
    prefixes = (files_under,) if isinstance(files_under, str) else tuple(files_under)
    wanted = {path: sha256 for path, sha256 in info["files"].items() if path.startswith(prefixes)}
    if not wanted:
        folders = sorted({path.split("/")[0] + "/" for path in info["files"]})
        raise ValueError(
            f"Dataset {info['name']!r} has no file whose path starts with {files_under!r}. "
            f"Its files start with: {', '.join(folders)}"
        )
    return wanted


def _is_cached(path, sha256):
    """Return True if ``path`` exists with this sha256; delete it if its content is wrong."""
    if not path.is_file():
        return False
    if pooch.file_hash(str(path)) == sha256:
        return True
    path.unlink()
    return False


def _download_all(name, base_url, root, files):
    """Download ``{path: sha256}`` into ``root``, a few at a time; stop at the first failure."""
    for path in files:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=TIMEOUT_SECONDS)

    def download_one(path):
        _download_file(name, base_url + path, root, path, files[path], downloader)

    with ThreadPoolExecutor(max_workers=PARALLEL_DOWNLOADS) as pool:
        futures = [pool.submit(download_one, path) for path in files]
        try:
            for future in futures:
                future.result()
        except Exception:
            for future in futures:
                future.cancel()
            raise


def _download_file(name, url, root, path, sha256, downloader):
    """Download one file with pooch; turn every failure into :class:`DatasetUnavailable`."""
    try:
        pooch.retrieve(url, known_hash=f"sha256:{sha256}", fname=path, path=root, downloader=downloader)
    except requests.exceptions.HTTPError as error:
        status = error.response.status_code if error.response is not None else "an error"
        raise _unavailable(name, path, url, f"the server answered HTTP {status}") from error
    except requests.exceptions.RequestException as error:
        what = f"the server could not be reached ({type(error).__name__})"
        raise _unavailable(name, path, url, what) from error
    except ValueError as error:
        what = "the downloaded file does not match its sha256 (damaged or changed), so it was not kept"
        raise _unavailable(name, path, url, what) from error
    except OSError as error:
        raise _unavailable(name, path, url, f"the file could not be written ({error})") from error


def _unavailable(name, path, url, what):
    """Return a :class:`DatasetUnavailable` that says which file failed, why, and what to do."""
    return DatasetUnavailable(
        f"Could not download {path!r} of dataset {name!r} from {url}: {what}. "
        f"Check the internet connection and run the cell again, or set {DATA_URL_VARIABLE} "
        f"to a mirror (e.g. http://127.0.0.1:8000/ serving <owner>/<repo>/<commit>/<path>); "
        f"set {DATA_DIR_VARIABLE} to keep the files in another folder. "
        f"The notebooks fall back to the bundled data."
    )
