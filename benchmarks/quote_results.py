"""The few numbers the course quotes from a run, kept equal to that run.

Prose quotes a number with a marker right after it, invisible when rendered: ``0.79<!--r:01/unet_dice-->``
is the ``unet_dice`` that notebook 01's stored output recorded with ``helpers.plotting.show_results``.
A benchmark script stores its numbers with :func:`record_benchmark` in ``benchmarks/results/
benchmark_results.json``, quoted by its name (``scribbles/dense_dice``). A quote keeps the decimals it
is written with; ``tests/test_results.py`` fails when one differs from its run.

    python benchmarks/quote_results.py          # rewrite every quote from the runs
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers.plotting import RESULTS_MIMETYPE  # noqa: E402

RECORD = ROOT / "benchmarks" / "results" / "benchmark_results.json"
#: A quoted number and its marker: the notebook's number (or the benchmark's name) and the key.
QUOTE = re.compile(r"(?P<number>-?\d[\d,]*(?:\.\d+)?)<!--r:(?P<source>[a-z0-9_]+)/(?P<key>[a-z0-9_]+)-->")


def notebook_results(notebook):
    """``{key: value}`` that an executed notebook (a dict or a path) recorded with ``show_results``."""
    if not isinstance(notebook, dict):
        notebook = json.loads(Path(notebook).read_text(encoding="utf-8"))
    values = {}
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            values.update(output.get("data", {}).get(RESULTS_MIMETYPE, {}))
    return values


def recorded_values(root=ROOT, record=RECORD):
    """``{"01": {key: value}, ..., "scribbles": {...}}``: the notebooks' stored results and the benchmarks'."""
    values = {path.name[:2]: notebook_results(path) for path in sorted((Path(root) / "notebooks").glob("*.ipynb"))}
    if Path(record).exists():
        values.update({name: entry["values"] for name, entry in json.loads(Path(record).read_text()).items()})
    return values


def quoting_files(root=ROOT):
    """The files that may quote a run: the README, the slides' text and the notebooks."""
    root = Path(root)
    texts = [root / "README.md", root / "slides" / "deck.md", root / "slides" / "INSTRUCTOR_GUIDE.md"]
    return [path for path in texts if path.exists()] + sorted((root / "notebooks").glob("*.ipynb"))


def _like(value, quoted):
    """``value`` with the decimals (and thousands commas) of the quoted text."""
    comma = "," if "," in quoted else ""
    return f"{value:{comma}.{len(quoted.partition('.')[2])}f}"


def quotes(text, values):
    """Yield (quoted, expected, source, key) for each marked number; expected is None if no run has it."""
    for match in QUOTE.finditer(text):
        value = values.get(match["source"], {}).get(match["key"])
        yield match["number"], None if value is None else _like(value, match["number"]), match["source"], match["key"]


def update_quotes(root=ROOT, record=RECORD):
    """Rewrite every marked number in the quoting files from the runs; return the files changed."""
    values = recorded_values(root, record)

    def replace(match):
        value = values.get(match["source"], {}).get(match["key"])
        return match[0] if value is None else _like(value, match["number"]) + match[0][len(match["number"]) :]

    changed = []
    for path in quoting_files(root):
        old = path.read_text(encoding="utf-8")
        new = QUOTE.sub(replace, old)
        if new != old:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def record_benchmark(name, values, machine, date, path=RECORD, root=ROOT):
    """Store a benchmark's numbers under ``name``, then rewrite the quotes; return the files changed."""
    record = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    record[name] = {"date": str(date), "machine": machine, "values": {key: float(v) for key, v in values.items()}}
    Path(path).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return update_quotes(root, path)


if __name__ == "__main__":
    for changed_file in update_quotes():
        print(f"updated the quoted numbers in {changed_file.relative_to(ROOT)}")
