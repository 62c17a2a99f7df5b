"""A one-line progress indicator for long loops (downloads, training, predictions).

Where the line appears depends on where the code runs:

- in a Jupyter or Colab notebook: ONE output line that is updated in place (an IPython
  display with a ``display_id``), so a saved notebook keeps only the final line and no
  widget state;
- in a terminal: one line rewritten in place with ``\\r``;
- anywhere else (a log file, pytest, CI): only the final line, printed once at the end.

Only the standard library is used; IPython is used only when the code already runs inside an
IPython kernel (importing this module imports neither IPython nor TensorFlow).

Example
-------
>>> from helpers.progress import progress
>>> total = 0
>>> for number in progress(range(3), "adding", mode="plain"):
...     total += number
adding [####################] 3/3 (100%), 0.0 s
"""

import math
import sys
import threading
import time

__all__ = ["Progress", "progress", "format_seconds"]

#: Characters of the bar drawn between ``[`` and ``]``.
BAR_WIDTH = 20
#: The line is redrawn at most this often (seconds); the final line is always drawn.
REDRAW_SECONDS = 0.2
#: The ways a line can be shown (see :class:`Progress`).
MODES = ("notebook", "terminal", "plain")


class Progress:
    """A progress line for a loop of ``total`` steps: call :meth:`update`, then :meth:`close`.

    Parameters
    ----------
    total : int, optional
        How many steps make the whole loop. Without it the line shows a count, no bar.
    label : str, optional
        Text at the start of the line, e.g. ``"dsb2018_subset"``.
    unit : str, optional
        What a step is, e.g. ``"files"``; shown after the count.
    per_unit : float, optional
        Steps that make one unit shown, e.g. ``1e6`` to count bytes and show ``"3.1/7.8 MB"``
        (with ``unit="MB"``). Counts are then shown with one decimal.
    mode : {"notebook", "terminal", "plain"}, optional
        ``"notebook"``: one IPython display updated in place; ``"terminal"``: one line
        rewritten with ``\\r``; ``"plain"``: only the final line. By default ``"notebook"``
        inside a Jupyter kernel, ``"terminal"`` when the output is a terminal, else ``"plain"``.
    stream : file-like, optional
        Where ``"terminal"`` and ``"plain"`` lines go (default: ``sys.stdout`` at the time of writing).
    redraw_seconds : float, optional
        Redraw the line at most this often.
    clock : callable, optional
        Returns the time in seconds (default ``time.monotonic``); tests pass a fake clock.

    Examples
    --------
    >>> with Progress(4, "steps", unit="batches", mode="plain") as bar:
    ...     for _ in range(4):
    ...         bar.update()
    steps [####################] 4/4 batches (100%), 0.0 s
    """

    def __init__(
        self,
        total=None,
        label="",
        *,
        unit="",
        per_unit=1,
        mode=None,
        stream=None,
        redraw_seconds=REDRAW_SECONDS,
        clock=time.monotonic,
    ):
        if total is not None and (int(total) != total or total < 0):
            raise ValueError(f"total must be a whole number >= 0 or None, not {total!r}.")
        if mode is not None and mode not in MODES:
            raise ValueError(f"Unknown progress mode {mode!r}; use one of {', '.join(MODES)}.")
        self.total = None if total is None else int(total)
        self.label = label
        self.unit = unit
        self.per_unit = per_unit
        self.done = 0
        self.note = ""
        self.closed = False
        self.redraws = 0
        self._stream = stream
        self._mode = mode or _automatic_mode(stream)
        self._redraw_seconds = redraw_seconds
        self._clock = clock
        self._start = clock()
        self._last_draw = None
        self._drawn_width = 0
        self._display = None
        self._lock = threading.Lock()
        if self._mode != "plain":
            self._draw()

    @property
    def mode(self):
        """str: ``"notebook"``, ``"terminal"`` or ``"plain"``."""
        return self._mode

    @property
    def elapsed(self):
        """float: seconds since the line was created."""
        return self._clock() - self._start

    def text(self, *, final=False):
        """Return the line as it reads now.

        Parameters
        ----------
        final : bool, optional
            Leave out the estimate of the time left (for the last line).

        Returns
        -------
        str
            E.g. ``"dsb2018_subset [##########..........] 1,263/2,526 files (50%), 3.9 MB, 4.0 s,
            about 4 s left"`` (one line).
        """
        elapsed = self.elapsed
        parts = [self._counted()]
        if self.note:
            parts.append(self.note)
        parts.append(format_seconds(elapsed))
        if not final and self.total and 0 < self.done < self.total and elapsed >= 1:
            left = elapsed * (self.total - self.done) / self.done
            parts.append(f"about {format_seconds(left, whole=True)} left")
        start = f"{self.label} " if self.label else ""
        return start + ", ".join(parts)

    def update(self, count=1, *, note=None):
        """Count ``count`` more steps done and redraw the line if it is time to.

        Parameters
        ----------
        count : int, optional
            Steps just finished.
        note : str, optional
            Replaces the text shown after the count, e.g. ``"3.9 MB"``.
        """
        with self._lock:
            self.done += count
            if note is not None:
                self.note = note
            if self._mode != "plain" and not self.closed and self._due():
                self._draw()

    def close(self, *, note=None):
        """Draw the final line once (also in ``"plain"`` mode); later calls do nothing.

        Parameters
        ----------
        note : str, optional
            Replaces the text shown after the count, e.g. ``"7.8 MB"`` or ``"stopped"``.
        """
        with self._lock:
            if self.closed:
                return
            if note is not None:
                self.note = note
            self.closed = True
            self._draw(final=True)

    def __enter__(self):
        return self

    def __exit__(self, error_type, error, traceback):
        self.close(note=_stopped(self.note) if error_type is not None else None)
        return False

    def _counted(self):
        """The bar (when the total is known) and the count, e.g. ``[####....] 12/20 files (60%)``."""
        unit = f" {self.unit}" if self.unit else ""
        if self.total is None:
            return f"{self._count(self.done)}{unit}"
        fraction = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(round(fraction * BAR_WIDTH))
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        return f"[{bar}] {self._count(self.done)}/{self._count(self.total)}{unit} ({int(fraction * 100)}%)"

    def _count(self, steps):
        """A count as shown: ``1,263`` or, with ``per_unit``, ``3.9``."""
        return f"{steps:,}" if self.per_unit == 1 else f"{steps / self.per_unit:,.1f}"

    def _due(self):
        """True if the last redraw is at least ``redraw_seconds`` old."""
        return self._last_draw is None or self._clock() - self._last_draw >= self._redraw_seconds

    def _draw(self, final=False):
        """Show the line the way this mode shows it."""
        line = self.text(final=final)
        self._last_draw = self._clock()
        self.redraws += 1
        if self._mode == "notebook":
            self._show_in_notebook(line)
        elif self._mode == "terminal":
            padding = " " * max(self._drawn_width - len(line), 0)
            self._write("\r" + line + padding + ("\n" if final else ""))
            self._drawn_width = len(line)
        elif final:
            self._write(line + "\n")

    def _show_in_notebook(self, line):
        """Create the notebook output the first time, then replace its text."""
        from IPython.display import Pretty, display

        if self._display is None:
            self._display = display(Pretty(line), display_id=True)
        else:
            self._display.update(Pretty(line))

    def _write(self, text):
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(text)
        stream.flush()


def progress(items, label="", **options):
    """Show a progress line for a loop.

    Parameters
    ----------
    items : iterable or int
        An iterable: loop over what this returns and the line counts each item (the total is
        ``len(items)`` when it has one). A whole number: the total; you get a
        :class:`Progress` and call its ``update()`` yourself.
    label : str, optional
        Text at the start of the line.
    **options
        ``unit``, ``per_unit``, ``mode``, ``stream``, ``redraw_seconds``, ``clock``: see :class:`Progress`.

    Returns
    -------
    iterator or Progress
        For an iterable, an iterator over the same items that closes the line at the end (or
        when the loop stops early). For a number, a :class:`Progress` (use it in ``with``).

    Examples
    --------
    >>> for name in progress(["a", "b"], "names", unit="names", mode="plain"):
    ...     pass
    names [####################] 2/2 names (100%), 0.0 s
    """
    if isinstance(items, int) and not isinstance(items, bool):
        return Progress(items, label, **options)
    try:
        total = len(items)
    except TypeError:
        total = None
    return _counting(items, Progress(total, label, **options))


def format_seconds(seconds, *, whole=False):
    """Return a duration as a person reads it.

    Parameters
    ----------
    seconds : float
    whole : bool, optional
        Round up to whole seconds below a minute, at least 1 (for estimates).

    Returns
    -------
    str
        ``"4.2 s"`` (or ``"4 s"`` with ``whole``) below a minute, ``"2 min 05 s"`` below an
        hour, ``"1 h 02 min"`` above.
    """
    if seconds < 60:
        return f"{max(math.ceil(seconds), 1)} s" if whole else f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _counting(items, bar):
    """Yield every item, counting it on ``bar``; close the bar however the loop ends."""
    stopped = True
    try:
        for item in items:
            yield item
            bar.update()
        stopped = False
    finally:
        bar.close(note=_stopped(bar.note) if stopped else None)


def _stopped(note):
    """The note of a line whose loop ended early."""
    return f"{note}, stopped" if note else "stopped"


def _automatic_mode(stream):
    """``"notebook"`` inside a Jupyter kernel, ``"terminal"`` for a TTY, else ``"plain"``."""
    if _in_jupyter_kernel():
        return "notebook"
    stream = stream if stream is not None else sys.stdout
    try:
        return "terminal" if stream.isatty() else "plain"
    except (AttributeError, ValueError):
        return "plain"


def _in_jupyter_kernel():
    """True when this code runs in a Jupyter/Colab kernel (IPython is never imported here)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
