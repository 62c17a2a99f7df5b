"""helpers.progress: one tqdm line in a log, and a saved notebook that keeps the final line."""

import time

import pytest

from helpers.course import course_root
from helpers.progress import progress_bar


def test_a_log_gets_one_line_that_ends_with_the_final_count(capsys):
    with progress_bar(30, "work", "step") as bar:
        for _ in range(30):
            time.sleep(0.01)  # 0.3 s: a terminal would see the line redrawn a few times
            bar.update()
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1
    drawn = printed.rstrip("\n").split("\r")[1:]
    assert len(drawn) == 2  # the start and the end, not a redraw per step
    assert drawn[-1].startswith("work: 100%") and "30/30" in drawn[-1]


def test_saved_notebook_keeps_one_output_with_the_final_line():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    code = (
        "from helpers.progress import progress_bar\n"
        "with progress_bar(30, 'work', 'step') as bar:\n"
        "    for _ in range(30):\n"
        "        bar.set_postfix_str('loss 0.5')\n"
        "        bar.update()"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        store_widget_state=False,  # as benchmarks/run_notebooks.py records the notebooks
        resources={"metadata": {"path": str(course_root())}},
    )
    client.execute()
    outputs = notebook.cells[0].outputs
    assert len(outputs) == 1 and outputs[0].output_type == "display_data"
    text = outputs[0].data["text/plain"]
    assert text.startswith("work: 100%") and "30/30" in text and "loss 0.5" in text
