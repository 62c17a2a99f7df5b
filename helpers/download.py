"""Real datasets, downloaded once by pinned address and checked by sha256.

Each dataset is a JSON file in ``helpers/registry/``: its source (a repository at a fixed commit),
license, citation, mask encoding, and the sha256 (and size) of every file. :func:`fetch_dataset`
downloads the files a few at a time over reused connections, retries passing failures (no
connection, timeout, HTTP 5xx or 429), and keeps each file that matches its sha256, so a second
call needs no network and an interrupted download continues where it stopped.

``UNET_COURSE_DATA_URL`` replaces ``https://raw.githubusercontent.com/`` in every address (a local
mirror laid out ``<owner>/<repo>/<commit>/<path>``, e.g. ``http://127.0.0.1:8000/``);
``UNET_COURSE_DATA_DIR`` is the folder that keeps the downloads (default ``data/downloads``).

Example
-------
>>> from helpers import download
>>> download.dataset_names()
['drosophila_vnc', 'dsb2018_subset', 'isbi2012']
>>> root = download.fetch_dataset("isbi2012", files_under="data/membrane/train/")  # doctest: +SKIP
"""

import hashlib
import json
import os
import threading
import uuid
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

import requests

from helpers.course import course_root
from helpers.progress import progress_bar

__all__ = [
    "DATA_URL_VARIABLE",
    "DATA_DIR_VARIABLE",
    "GITHUB_RAW_PREFIX",
    "REGISTRY_FOLDER",
    "TIMEOUT_SECONDS",
    "PARALLEL_DOWNLOADS",
    "RETRY_DELAYS_SECONDS",
    "DatasetUnavailable",
    "dataset_names",
    "dataset_info",
    "download_folder",
    "dataset_base_url",
    "fetch_dataset",
    "file_sha256",
]

#: Environment variable whose value replaces ``GITHUB_RAW_PREFIX`` in every dataset address.
DATA_URL_VARIABLE = "UNET_COURSE_DATA_URL"
#: Environment variable naming the folder that keeps the downloads.
DATA_DIR_VARIABLE = "UNET_COURSE_DATA_DIR"
#: The start of every pinned address in the registry.
GITHUB_RAW_PREFIX = "https://raw.githubusercontent.com/"
#: Folder holding one ``<name>.json`` per dataset (the facts: source, license, sha256s).
REGISTRY_FOLDER = Path(__file__).resolve().parent / "registry"

#: Seconds to wait for the server (to connect, and between two pieces of a file) before a try fails.
TIMEOUT_SECONDS = 30
#: Files downloaded at the same time (a dataset can hold thousands of small files); each of
#: these workers keeps one connection open for all its files.
PARALLEL_DOWNLOADS = 8
#: Seconds to wait before the 2nd, 3rd, ... try of a file that failed for a passing reason.
RETRY_DELAYS_SECONDS = (0.5, 1.0, 2.0)
#: HTTP answers worth another try (besides every 5xx): request timeout, too many requests.
RETRY_STATUS_CODES = (408, 429)
#: Bytes read from the network at a time.
CHUNK_BYTES = 1 << 16
#: End of the temporary name a file has while it is being written (never a complete file).
PARTIAL_SUFFIX = ".part"


class DatasetUnavailable(RuntimeError):
    """A dataset file could not be downloaded or did not match its sha256."""


def dataset_names():
    """Return the sorted names of the datasets in the registry."""
    return sorted(path.stem for path in REGISTRY_FOLDER.glob("*.json"))


def dataset_info(name):
    """Return the facts about one dataset (its registry JSON) as a dict.

    Keys ``name``, ``source``, ``commit``, ``base_url``, ``license``, ``citation``, ``notes``
    and ``files`` (``{relative path: sha256}``); optionally ``title`` and ``sizes`` (bytes).
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
    """Return ``folder``, else ``UNET_COURSE_DATA_DIR`` if set, else ``data/downloads`` in the course."""
    if folder is None:
        folder = os.environ.get(DATA_DIR_VARIABLE) or course_root() / "data" / "downloads"
    return Path(folder).expanduser()


def dataset_base_url(info):
    """Return ``info["base_url"]`` (ending with ``/``), on the mirror ``UNET_COURSE_DATA_URL`` when set."""
    return _mirrored(info["base_url"]).rstrip("/") + "/"


def fetch_dataset(name, *, files_under="", folder=None):
    """Download a dataset (or part of it) once, checking every file's sha256; return its local root.

    Files already here with the right sha256 are not asked for again; a wrong one is downloaded
    again. A passing failure is retried after each of :data:`RETRY_DELAYS_SECONDS`. Prints the
    dataset, its size, license and citation, then one progress line.

    ``files_under``: only the files whose path starts with it (or one of a tuple), e.g.
    ``"data/membrane/train/"``. ``folder``: the dataset goes in ``folder / name`` (default
    :func:`download_folder`). Raises :class:`DatasetUnavailable` naming the file and the fix.
    """
    info = dataset_info(name)
    wanted = _files_under(info, files_under)
    root = download_folder(folder) / name
    missing = {path: sha256 for path, sha256 in wanted.items() if not _is_cached(root / path, sha256)}
    if not missing:
        print(f"{name}: all {len(wanted):,} files already downloaded{_where(root)}.")
        return root
    _remove_partial_files(root, missing)
    print(_announcement(info, wanted, missing), flush=True)
    _download_all(name, dataset_base_url(info), root, missing, already_here=len(wanted) - len(missing))
    return root


# --- what the student reads ---------------------------------------------------------------


def _announcement(info, wanted, missing):
    """The lines printed before a download: what, how many files and bytes, license, citation."""
    name = info["name"]
    title = f"{info['title']} ({name})" if info.get("title") else name
    size = _size_text(info.get("sizes", {}), missing)
    some = len(missing) < len(wanted)
    of_wanted = f" of {len(wanted):,}" if some else ""
    here = f" (the other {len(wanted) - len(missing):,} are already here)" if some else ""
    return f"Downloading {title}: {len(missing):,}{of_wanted} files{size}{here}\n  License: {info['license']}\n  Please cite: {info['citation']}"


def _size_text(sizes, paths):
    """``", 7.8 MB"`` when the registry knows the size of every file, else ``""``."""
    if not all(path in sizes for path in paths):
        return ""
    return ", " + _megabytes(sum(sizes[path] for path in paths))


def _megabytes(count):
    """A number of bytes as ``"7.8 MB"`` (``"0.01 MB"`` below 0.1 MB)."""
    megabytes = count / 1e6
    return f"{megabytes:.2f} MB" if megabytes < 0.1 else f"{megabytes:,.1f} MB"


def _where(folder):
    """``" in data/downloads/x"`` for a folder inside the course folder; ``""`` elsewhere (stored
    notebook outputs must not hold a temporary folder)."""
    try:
        return f" in {Path(folder).resolve().relative_to(course_root().resolve()).as_posix()}"
    except ValueError:
        return ""


def _unavailable(name, path, url, failure, *, done, total):
    """Return a :class:`DatasetUnavailable` that says which file failed, why, and what to do."""
    tries = f", after {failure.tries} tries" if failure.tries > 1 else ""
    return DatasetUnavailable(
        f"Could not download {path!r} of dataset {name!r} from {url}: {failure.what}"
        f"{tries}. {done:,} of {total:,} files are downloaded and kept. {failure.hint}"
        f"Check the internet connection and run the cell again to continue where it stopped (files "
        f"already here are not downloaded again), or set {DATA_URL_VARIABLE} "
        f"to a mirror (e.g. http://127.0.0.1:8000/ serving <owner>/<repo>/<commit>/<path>); "
        f"set {DATA_DIR_VARIABLE} to keep the files in another folder. "
        f"The notebooks fall back to the bundled data."
    )


# --- downloading --------------------------------------------------------------------------


class _Failure(Exception):
    """One try of one file failed: ``what`` went wrong, and whether another try may help."""

    def __init__(self, what, *, retry, hint=""):
        super().__init__(what)
        self.what = what
        self.retry = retry
        self.hint = hint
        self.tries = 1


class _Stopped(Exception):
    """Another file failed for good, so this one was not tried again."""


class _Fetcher:
    """Downloads files with retries; one ``requests.Session`` (one open connection) per thread."""

    def __init__(self):
        self.stop = threading.Event()
        self.retries = self.received = 0
        self._local = threading.local()
        self._sessions = []
        self._lock = threading.Lock()

    def close(self):
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def fetch(self, url, target, sha256):
        """Download ``url`` to ``target`` if its sha256 matches; raise :class:`_Failure` or :class:`_Stopped`."""
        for attempt in range(len(RETRY_DELAYS_SECONDS) + 1):
            if self.stop.is_set() or (attempt and self.stop.wait(RETRY_DELAYS_SECONDS[attempt - 1])):
                raise _Stopped()
            try:
                written = self._fetch_once(url, target, sha256)
                with self._lock:
                    self.received += written
                return
            except _Failure as failure:
                failure.tries = attempt + 1
                if not failure.retry or attempt == len(RETRY_DELAYS_SECONDS):
                    self.stop.set()  # files not started yet are not asked for
                    raise
                with self._lock:
                    self.retries += 1

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _fetch_once(self, url, target, sha256):
        """One try: GET ``url`` and write it to ``target`` through a temporary file."""
        try:
            with self._session().get(url, stream=True, timeout=TIMEOUT_SECONDS) as response:
                if response.status_code != 200:
                    raise _http_failure(response.status_code)
                return _write_checked(response, target, sha256)
        except requests.exceptions.Timeout as error:
            raise _Failure(
                f"the server did not answer within {TIMEOUT_SECONDS} s ({type(error).__name__})",
                retry=True,
                hint=_SLOW_HINT,
            ) from error
        except requests.exceptions.RequestException as error:
            raise _Failure(f"the server could not be reached ({type(error).__name__})", retry=True) from error
        except OSError as error:
            raise _Failure(f"the file could not be written ({error})", retry=False) from error


_SLOW_HINT = "The network is slow or busy (a room full of people downloading at once does that): wait a few minutes. "


def _http_failure(status):
    """A :class:`_Failure` for an HTTP answer other than 200; 5xx, 408 and 429 may be retried."""
    passing = status >= 500 or status in RETRY_STATUS_CODES
    hint = _SLOW_HINT if status in (429, 503, 504) else ""
    return _Failure(f"the server answered HTTP {status}", retry=passing, hint=hint)


def _write_checked(response, target, sha256):
    """Write the response to a temporary file beside ``target``; rename it only if the sha256 matches."""
    digest = hashlib.sha256()
    written = 0
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}{PARTIAL_SUFFIX}")
    try:
        with open(partial, "xb") as out:
            for chunk in response.iter_content(CHUNK_BYTES):
                out.write(chunk)
                digest.update(chunk)
                written += len(chunk)
        if digest.hexdigest() != sha256:
            raise _Failure(
                "the downloaded file does not match its sha256 (damaged or changed), so it was not kept", retry=False
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return written


def _download_all(name, base_url, root, files, *, already_here):
    """Download ``{path: sha256}`` into ``root``, a few at a time; stop at the first lasting failure."""
    for folder in {(root / path).parent for path in files}:
        folder.mkdir(parents=True, exist_ok=True)
    fetcher = _Fetcher()
    bar = progress_bar(len(files), name, "file")

    def note(end=""):
        retried = f", {fetcher.retries} retried" if fetcher.retries else ""
        bar.set_postfix_str(_megabytes(fetcher.received) + retried + end, refresh=False)

    failed = None
    try:
        with ThreadPoolExecutor(max_workers=PARALLEL_DOWNLOADS) as pool:
            pending = {pool.submit(fetcher.fetch, base_url + path, root / path, files[path]): path for path in files}
            try:
                failed = _count_until_failure(pending, bar, note, fetcher.stop)
            except BaseException:  # Ctrl+C or the kernel's stop button: end the running files soon
                fetcher.stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    except BaseException:
        note(", stopped")
        bar.close()
        raise
    finally:
        fetcher.close()
    note("" if failed is None else ", stopped")
    bar.close()
    if failed is not None:
        path, failure = failed
        total = already_here + len(files)
        raise _unavailable(name, path, base_url + path, failure, done=already_here + bar.n, total=total) from failure


def _count_until_failure(pending, bar, note, stop):
    """Update ``bar`` as downloads finish; at the first lasting failure set ``stop`` and cancel the rest.

    Returns ``None`` if every file came, else ``(path, failure)`` of the first file that failed for good.
    """
    failed = None
    while pending:
        finished, _ = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
        for future in finished:
            path = pending.pop(future)
            error = None if future.cancelled() else future.exception()
            if future.cancelled() or isinstance(error, _Stopped):
                continue
            if error is None:
                note()
                bar.update()
            elif not isinstance(error, _Failure):
                raise error
            elif failed is None:
                failed = (path, error)
                stop.set()
                for other in pending:
                    other.cancel()
    return failed


def _files_under(info, files_under):
    """Return ``{path: sha256}`` for the registered files whose path starts with ``files_under`` (one or several)."""
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
    if path.is_file() and file_sha256(path) != sha256:
        path.unlink()
    return path.is_file()


def file_sha256(path):
    """Return the sha256 of a file's bytes, as 64 hex digits."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _remove_partial_files(root, files):
    """Delete temporary files left by a download that was killed (never a complete file)."""
    for path in files:
        target = root / path
        if target.parent.is_dir():
            for partial in target.parent.glob(f".{target.name}.*{PARTIAL_SUFFIX}"):
                partial.unlink(missing_ok=True)


def _mirrored(url):
    """``url`` with ``GITHUB_RAW_PREFIX`` replaced by ``UNET_COURSE_DATA_URL`` when that is set."""
    mirror = os.environ.get(DATA_URL_VARIABLE, "").strip()
    if mirror and url.startswith(GITHUB_RAW_PREFIX):
        return mirror.rstrip("/") + "/" + url[len(GITHUB_RAW_PREFIX) :]
    return url
