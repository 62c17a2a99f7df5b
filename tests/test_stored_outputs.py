"""The outputs committed with the notebooks are clean: what a reader on GitHub sees first is the course.

No TensorFlow/absl/oneDNN/CUDA log line, no local mirror address, no temporary folder, no saved widget
state. (The outputs come from benchmarks/run_notebooks.py --mode default --save.)
"""

import json
import re

import pytest

from helpers.course import course_root

NOTEBOOKS = sorted((course_root() / "notebooks").glob("*.ipynb"))
UNWANTED = {
    "a TensorFlow/absl log line": re.compile(r"(?m)^[IWEF]\d{4} \d\d:\d\d:\d\d|WARNING:tensorflow|WARNING:absl"),
    "a CUDA message": re.compile(r"cuInit|cuda_platform|cudart_stub|Could not find cuda drivers"),
    "a oneDNN message": re.compile(r"oneDNN custom operations"),
    "a TensorFlow CPU-instructions notice": re.compile(r"rebuild TensorFlow with the appropriate compiler flags"),
    "a local mirror address": re.compile(r"127\.0\.0\.1|localhost:\d+"),
    "a temporary folder": re.compile(r"/tmp/|/var/folders/|\\\\Temp\\\\"),
}


def _texts(notebook):
    for index, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []):
            text = output.get("text") or "".join(output.get("data", {}).get("text/plain", ""))
            text += "".join(output.get("traceback", []))
            yield index, "".join(text) if isinstance(text, list) else text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_hold_no_log_lines_addresses_or_temporary_paths(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for index, text in _texts(notebook):
        for what, pattern in UNWANTED.items():
            found = pattern.search(text)
            assert not found, f"{path.name} cell {index} shows {what}: {found.group(0)!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_widget_state_is_saved(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in notebook.get("metadata", {}), f"{path.name} saves widget state"
