"""Drive a headless Chromium through the Chrome DevTools protocol (websocket-client, no selenium).

Used by ``build.py`` to print the deck to PDF and by ``tests/test_slides.py`` to open the deck
and collect what went wrong: script errors, failed loads and broken images.
"""

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

#: Debian's package is ``chromium``; other systems name it differently.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags for a headless browser in a container or on CI; a fresh profile is added per run.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-allow-origins=*",
    "--remote-debugging-port=0",
]
INSTALL_HINT = (
    "No Chromium found (looked for " + ", ".join(BROWSER_NAMES) + " and $CHROMIUM). "
    "On Debian/Ubuntu: sudo apt-get install -y chromium; or set CHROMIUM=/path/to/browser."
)


class BrowserMissing(RuntimeError):
    """Raised when no Chromium is installed; the message says how to install one."""


def find_browser():
    """Return the path of a Chromium-like browser, or raise ``BrowserMissing`` saying how to get one."""
    candidates = [os.environ.get("CHROMIUM", "")] + list(BROWSER_NAMES)
    for name in candidates:
        path = name and shutil.which(name)
        if path:
            return path
    raise BrowserMissing(INSTALL_HINT)


class Page:
    """One browser tab: send DevTools commands, keep the events that arrive."""

    def __init__(self, websocket):
        self.socket = websocket
        self.ids = itertools.count(1)
        self.events = []

    def send(self, method, timeout=60, **params):
        """Send one command and return its result (events met on the way are kept)."""
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv())
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            self.events.append(message)
        raise TimeoutError(f"no answer to {method} within {timeout} s")

    def evaluate(self, expression):
        """Run JavaScript in the page and return its value (awaits promises)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=30):
        """Poll a JavaScript expression until it is true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.2)
        raise TimeoutError(f"{expression} was still false after {timeout} s")

    def requested_urls(self):
        """Every address the page asked for so far (scripts, images, styles, fonts...)."""
        return [
            event["params"]["request"]["url"]
            for event in self.events
            if event.get("method") == "Network.requestWillBeSent"
        ]

    def problems(self):
        """Script errors, console errors and failed loads seen so far, one line each."""
        lines = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                lines.append("script error: " + details.get("exception", {}).get("description", details["text"]))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                lines.append(
                    "console error: "
                    + " ".join(str(a.get("value", a.get("description"))) for a in params.get("args", []))
                )
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                lines.append("browser error: " + params["entry"]["text"] + " " + params["entry"].get("url", ""))
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                lines.append("failed to load: " + params.get("errorText", "") + " " + params.get("requestId", ""))
        return lines


@contextlib.contextmanager
def open_page(url, timeout=60):
    """Start a headless Chromium, open ``url`` and yield a ``Page``; the browser is stopped after."""
    import websocket

    browser = find_browser()
    with tempfile.TemporaryDirectory(prefix="unet-slides-chromium-") as profile:
        # its own process group: Debian's chromium is a shell script that starts the real browser
        process = subprocess.Popen(
            [browser, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=hasattr(os, "killpg"),
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not port_file.exists() or not port_file.read_text().strip():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{browser} did not start (exit code {process.poll()}).")
                time.sleep(0.1)
            port = port_file.read_text().split()[0]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                targets = [t for t in json.load(answer) if t["type"] == "page"]
            socket = websocket.create_connection(
                targets[0]["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True
            )
            page = Page(socket)
            for domain in ("Runtime", "Log", "Network", "Page"):
                page.send(f"{domain}.enable")
            page.send("Page.navigate", url=url)
            page.wait_for("document.readyState === 'complete'", timeout=timeout)
            try:
                yield page
            finally:
                socket.close()
        finally:
            stop_browser(process)


def stop_browser(process, timeout=10):
    """Stop the browser and every process it started, and wait until they are gone.

    Stopping only the launcher would leave the browser writing into its profile folder
    while that folder is being deleted.
    """
    if not hasattr(os, "killpg"):  # Windows: no process groups
        process.terminate()
        process.wait(timeout=timeout)
        return
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal_number)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)  # is any process of the group left?
            except ProcessLookupError:
                return
            time.sleep(0.1)
