"""Download time of a registered dataset: the old downloader (commit 989db5b) vs ``helpers.download``.

A local HTTP/1.1 server on 127.0.0.1 serves a mirror folder laid out like the download
addresses (``<owner>/<repo>/<commit>/<path>``) and simulates a network: every request waits
``--latency`` seconds before it is answered (one round trip), and every NEW connection waits
``--connect-latency`` seconds more (the TCP and TLS handshakes a new HTTPS connection to
raw.githubusercontent.com costs: about two round trips). Each run is made once with the
handshake cost and once without it (``--connect-latency 0``), so the effect of connection reuse
and that of everything else are seen apart.

For each network, each downloader gets a fresh temporary folder and downloads the dataset
(``fresh``), then 10% of its files (chosen at random, seed 0) are deleted and it downloads again
(``resume``). Printed: seconds, the ratio old/new, and the TCP connections the server accepted.
Both downloaders run 8 files at a time; both check every file's sha256.

    python benchmarks/download_speed.py --mirror ../shared/realdata [--files 2526] [--latency 0.05]

The old implementation is read with ``git show 989db5b:helpers/download.py`` and loaded as a
temporary module (it needs pooch).
"""

import argparse
import contextlib
import datetime
import http.server
import importlib.util
import io
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from helpers import download  # noqa: E402
from helpers.course import course_root  # noqa: E402

OLD_COMMIT = "989db5b"


class SlowMirror:
    """A local server over ``folder`` that waits ``latency`` per request and ``connect_latency`` per connection."""

    def __init__(self, folder, latency, connect_latency):
        self.connections = 0
        self.requests = 0
        self.connect_latency = connect_latency
        lock = threading.Lock()
        mirror = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # send each answer at once (TCP_NODELAY), as web servers do: without it a reused
            # connection waits for the client's delayed ACK (40 ms on Linux) before the body
            disable_nagle_algorithm = True

            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def handle(self):
                with lock:
                    mirror.connections += 1
                time.sleep(mirror.connect_latency)
                super().handle()

            def do_GET(self):
                with lock:
                    mirror.requests += 1
                time.sleep(latency)
                super().do_GET()

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request, client_address):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def count(self):
        """(connections, requests) so far."""
        return self.connections, self.requests

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def load_old_downloader(folder):
    """Import ``helpers/download.py`` as it was at ``OLD_COMMIT`` (as module ``old_download``)."""
    source = subprocess.run(
        ["git", "show", f"{OLD_COMMIT}:helpers/download.py"],
        cwd=course_root(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(folder) / "old_download.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_download", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_registry(name, count, folder):
    """A registry folder holding dataset ``name`` cut to its first ``count`` files; returns (folder, paths)."""
    info = download.dataset_info(name)
    paths = list(info["files"])[:count]
    info["files"] = {path: info["files"][path] for path in paths}
    info["sizes"] = {path: info.get("sizes", {}).get(path, 0) for path in paths}
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"{name}.json").write_text(json.dumps(info))
    return Path(folder), paths


def timed_fetch(module, name, folder, mirror):
    """Seconds and new (connections, requests) of one ``fetch_dataset`` call, its prints hidden."""
    before = mirror.count()
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        module.fetch_dataset(name, folder=folder)
    seconds = time.perf_counter() - start
    after = mirror.count()
    return seconds, after[0] - before[0], after[1] - before[1]


def measure(module, name, paths, work, mirror, fraction):
    """Time a fresh download and a resume after deleting ``fraction`` of the files."""
    folder = Path(tempfile.mkdtemp(dir=work))
    fresh = timed_fetch(module, name, folder, mirror)
    deleted = random.Random(0).sample(paths, max(1, round(fraction * len(paths))))
    for path in deleted:
        (folder / name / path).unlink()
    resumed = timed_fetch(module, name, folder, mirror)
    return fresh, resumed, len(deleted)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirror", required=True, help="folder laid out <owner>/<repo>/<commit>/<path>")
    parser.add_argument("--dataset", default="dsb2018_subset")
    parser.add_argument("--files", type=int, default=None, help="time only the first N files")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request (default 0.05)")
    parser.add_argument(
        "--connect-latency",
        type=float,
        default=0.10,
        help="seconds per new connection (default 0.10: TCP + TLS handshakes, 2 round trips)",
    )
    parser.add_argument("--resume-fraction", type=float, default=0.10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work:
        old = load_old_downloader(work)
        registry, paths = write_registry(args.dataset, args.files or 10**9, Path(work) / "registry")
        old.REGISTRY_FOLDER = download.REGISTRY_FOLDER = registry
        megabytes = sum(download.dataset_info(args.dataset)["sizes"].values()) / 1e6
        mirror = SlowMirror(args.mirror, args.latency, args.connect_latency)
        os.environ[download.DATA_URL_VARIABLE] = mirror.url
        print(
            f"download of {args.dataset}: {len(paths):,} files, {megabytes:.1f} MB, from a local mirror on "
            f"127.0.0.1; old = helpers/download.py at {OLD_COMMIT} (pooch, a new connection per file), "
            f"new = helpers.download (one connection per worker, retries); both 8 files at a time"
        )
        print(
            f"machine: {cpu_name()}, {os.cpu_count()} cores, no GPU; Python {platform.python_version()}; "
            f"{datetime.date.today().isoformat()}; run once, other work shared the cores"
        )
        try:
            for connect_latency in (args.connect_latency, 0.0):
                mirror.connect_latency = connect_latency
                floor = -(-len(paths) // 8) * args.latency
                print(
                    f"\nnetwork: {args.latency * 1000:.0f} ms per request, "
                    f"{connect_latency * 1000:.0f} ms per new connection "
                    f"(floor for {len(paths):,} requests 8 at a time: {floor:.1f} s)"
                )
                results = {
                    label: measure(module, args.dataset, paths, work, mirror, args.resume_fraction)
                    for label, module in (("old", old), ("new", download))
                }
                report(results)
        finally:
            mirror.close()


def report(results):
    """Print one line per case: old and new seconds, the ratio, the connections each used."""
    deleted = results["new"][2]
    for index, case in enumerate(["fresh download", f"resume ({deleted:,} files missing)"]):
        old_seconds, old_connections, old_requests = results["old"][index]
        new_seconds, new_connections, new_requests = results["new"][index]
        print(
            f"  {case:30s} old {old_seconds:6.1f} s   new {new_seconds:6.1f} s   "
            f"{old_seconds / new_seconds:4.1f}x faster   connections old {old_connections:,} / "
            f"new {new_connections:,}, requests {old_requests:,} / {new_requests:,}"
        )


def cpu_name():
    """The CPU's model name from /proc/cpuinfo (or platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
