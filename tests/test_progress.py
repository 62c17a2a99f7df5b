"""Tests for helpers.progress: the text of the line, how often it is drawn, and where it goes.

A fake clock makes the times exact. The notebook mode is checked twice: with IPython's display
function replaced by a recorder (how many displays and updates), and in a real Jupyter kernel
run by nbclient (what a saved notebook keeps: one output, the final line).
"""

import io
import subprocess
import sys
import types

import pytest

from helpers import progress as progress_module
from helpers.course import course_root
from helpers.progress import Progress, format_seconds, progress


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class TtyStream(io.StringIO):
    def isatty(self):
        return True


def test_plain_mode_prints_only_the_final_line():
    clock, stream = FakeClock(), io.StringIO()
    bar = Progress(8, "nuclei", unit="files", mode="plain", stream=stream, clock=clock)
    for _ in range(8):
        clock.now += 0.5
        bar.update(note="1.5 MB")
    assert stream.getvalue() == ""
    bar.close()
    assert stream.getvalue() == "nuclei [####################] 8/8 files (100%), 1.5 MB, 4.0 s\n"
    bar.close()  # a second close draws nothing
    assert stream.getvalue().count("\n") == 1


def test_line_half_way_has_the_bar_count_percent_note_time_and_estimate():
    clock = FakeClock()
    bar = Progress(2526, "dsb2018_subset", unit="files", mode="plain", clock=clock)
    clock.now += 4.0
    bar.update(1263, note="3.9 MB")
    # half done in 4 s: 4 s left; 10 of 20 characters filled
    assert bar.text() == (
        "dsb2018_subset [##########..........] 1,263/2,526 files (50%), 3.9 MB, 4.0 s, about 4 s left"
    )
    assert bar.text(final=True).endswith("3.9 MB, 4.0 s")


def test_bar_rounds_to_the_nearest_character_and_never_overflows():
    bar = Progress(3, mode="plain")
    bar.update()
    assert bar.text().startswith("[#######.............] 1/3 (33%)")  # 20/3 = 6.67 -> 7
    bar.update(5)
    assert bar.text().startswith("[####################] 6/3 (100%)")


def test_no_estimate_in_the_first_second():
    clock = FakeClock()
    bar = Progress(10, "x", mode="plain", clock=clock)
    clock.now += 0.5
    bar.update()
    assert "left" not in bar.text()


def test_unknown_total_shows_a_count_without_bar():
    clock = FakeClock()
    bar = Progress(None, "batches", unit="batches", mode="plain", clock=clock)
    clock.now += 61
    bar.update(5)
    assert bar.text() == "batches 5 batches, 1 min 01 s"


def test_per_unit_shows_bytes_as_megabytes():
    bar = Progress(7_800_000, "set.zip", unit="MB", per_unit=1e6, mode="plain")
    bar.update(3_900_000)
    assert bar.text().startswith("set.zip [##########..........] 3.9/7.8 MB (50%)")


def test_terminal_mode_redraws_in_place_at_most_every_redraw_seconds():
    clock, stream = FakeClock(), TtyStream()
    bar = Progress(10, "t", mode="terminal", stream=stream, clock=clock, redraw_seconds=1.0)
    for _ in range(10):
        clock.now += 0.3  # 10 updates over 3 s: redrawn at 0.3+0.9=1.2, 2.4 s after the first line
        bar.update()
    bar.close()
    written = stream.getvalue()
    assert bar.redraws == written.count("\r") == 1 + 2 + 1  # first line, two redraws, final line
    previous = "t [################....] 8/10 (80%), 2.4 s, about 1 s left"
    assert written.split("\r")[-2] == previous
    assert written.split("\r")[-1] == "t [####################] 10/10 (100%), 3.0 s".ljust(len(previous)) + "\n"
    assert written.count("\n") == 1


def test_terminal_mode_clears_what_a_longer_line_left():
    clock, stream = FakeClock(), TtyStream()
    bar = Progress(4, "t", mode="terminal", stream=stream, clock=clock, redraw_seconds=0)
    clock.now += 2
    bar.update(note="a long note here")
    bar.close(note="ok")
    last = stream.getvalue().split("\r")[-1]
    previous = stream.getvalue().split("\r")[-2]
    assert last.rstrip("\n").rstrip(" ") == "t [#####...............] 1/4 (25%), ok, 2.0 s"
    assert len(last.rstrip("\n")) == len(previous)


def test_automatic_mode_is_terminal_for_a_tty_and_plain_otherwise(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)  # as if IPython were not installed
    assert Progress(1, stream=TtyStream()).mode == "terminal"
    assert Progress(1, stream=io.StringIO()).mode == "plain"


def test_works_without_ipython(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    assert sum(progress(range(5), "sum", unit="numbers")) == 10
    assert capsys.readouterr().out.startswith("sum [####################] 5/5 numbers (100%), ")


def test_automatic_mode_is_notebook_inside_a_jupyter_kernel(monkeypatch):
    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert progress_module._automatic_mode(io.StringIO()) == "notebook"
    terminal_ipython = types.SimpleNamespace()  # IPython in a terminal: no kernel
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: terminal_ipython))
    assert progress_module._automatic_mode(io.StringIO()) == "plain"


def test_notebook_mode_displays_once_then_updates_in_place(monkeypatch):
    display_module = pytest.importorskip("IPython.display")
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj.data))

    def fake_display(obj, display_id=False):
        assert display_id is True
        shown.append(("display", obj.data))
        return Handle()

    monkeypatch.setattr(display_module, "display", fake_display)
    clock = FakeClock()
    bar = Progress(6, "n", unit="files", mode="notebook", clock=clock, redraw_seconds=1.0)
    for _ in range(6):
        clock.now += 0.5
        bar.update()
    bar.close(note="done")
    assert [kind for kind, _ in shown] == ["display", "update", "update", "update", "update"]
    assert shown[0][1] == "n [....................] 0/6 files (0%), 0.0 s"
    assert shown[-1][1] == "n [####################] 6/6 files (100%), done, 3.0 s"


def test_saved_notebook_keeps_one_output_with_the_final_line():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    code = (
        "import time\nfrom helpers.progress import progress\n"
        "for _ in progress(range(30), 'work', unit='steps', redraw_seconds=0):\n    time.sleep(0.005)"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(course_root())}}
    )
    client.execute()
    outputs = notebook.cells[0].outputs
    assert len(outputs) == 1 and outputs[0].output_type == "display_data"
    assert outputs[0].data["text/plain"].startswith("work [####################] 30/30 steps (100%), ")
    assert set(outputs[0].data) == {"text/plain"}
    assert "widgets" not in notebook.metadata


def test_progress_over_an_iterable_yields_every_item():
    stream = io.StringIO()
    assert list(progress(["a", "b", "c"], "letters", mode="plain", stream=stream)) == ["a", "b", "c"]
    assert stream.getvalue().startswith("letters [####################] 3/3 (100%), ")


def test_progress_over_a_generator_counts_without_total():
    stream = io.StringIO()
    items = list(progress((n for n in range(4)), "gen", mode="plain", stream=stream))
    assert items == [0, 1, 2, 3] and stream.getvalue().startswith("gen 4, ")


def test_loop_that_stops_early_says_stopped():
    stream = io.StringIO()
    loop = progress(range(10), "early", mode="plain", stream=stream)
    for number in loop:
        if number == 2:
            break
    loop.close()
    assert stream.getvalue().startswith("early [####................] 2/10 (20%), stopped, ")


def test_progress_of_a_number_is_a_bar_to_update():
    stream = io.StringIO()
    with progress(4, "steps", mode="plain", stream=stream) as bar:
        assert isinstance(bar, Progress)
        bar.update(4)
    assert stream.getvalue().startswith("steps [####################] 4/4 (100%), ")


def test_error_inside_with_closes_the_line_as_stopped():
    stream = io.StringIO()
    with pytest.raises(KeyError):
        with Progress(5, "w", mode="plain", stream=stream) as bar:
            bar.update(note="1 MB")
            raise KeyError("x")
    assert stream.getvalue().startswith("w [####................] 1/5 (20%), 1 MB, stopped, ")


@pytest.mark.parametrize(
    "seconds, whole, text",
    [
        (4.24, False, "4.2 s"),
        (4.2, True, "5 s"),
        (0.2, True, "1 s"),
        (59.9, False, "59.9 s"),
        (125, False, "2 min 05 s"),
        (3725, False, "1 h 02 min"),
    ],
)
def test_format_seconds(seconds, whole, text):
    assert format_seconds(seconds, whole=whole) == text


def test_bad_total_or_mode_is_refused():
    with pytest.raises(ValueError, match="total"):
        Progress(-1)
    with pytest.raises(ValueError, match="'fancy'.*notebook, terminal, plain"):
        Progress(3, mode="fancy")


def test_import_does_not_import_ipython_or_tensorflow():
    code = "import sys, helpers.progress; print([m for m in ('IPython', 'tensorflow') if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=course_root(), check=True)
    assert result.stdout.strip() == "[]"
