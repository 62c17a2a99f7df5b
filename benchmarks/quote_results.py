"""The numbers the course quotes, kept equal to the recorded run.

A notebook shows the numbers of its run that prose quotes with ``helpers.reporting.show_results``;
``benchmarks/run_notebooks.py --save`` collects them from the executed notebook into
``benchmarks/results/notebook_results.json`` and then calls :func:`update_quotes`.

Wherever a number is quoted (README.md, slides/deck.md, slides/INSTRUCTOR_GUIDE.md, the markdown of
the notebooks) it carries a marker right after it, invisible when rendered::

    the U-Net reached Dice 0.799<!--r:01/unet_dice--> on the test images

``01`` is the notebook's number and ``unet_dice`` the key. A benchmark script records its numbers in
the same file under its own name (``benchmarks/scribbles.py`` as ``scribbles``), quoted as
``0.690<!--r:scribbles/dense_dice-->``. :func:`update_quotes` rewrites every marked number from the
record with as many decimals as it had; ``tests/test_results.py`` fails when one differs.

    python benchmarks/quote_results.py          # rewrite the quotes from the record
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "benchmarks" / "results" / "notebook_results.json"
RESULTS_MIMETYPE = "application/vnd.unet-course.results+json"
#: A quoted number followed by its marker: ``0.799<!--r:01/unet_dice-->``.
QUOTE = re.compile(
    r"(?P<number>-?\d[\d,]*(?:\.\d+)?)(?P<marker><!--r:(?P<notebook>\d\d|[a-z][a-z0-9_]*)/(?P<key>[a-z0-9_]+)-->)"
)
#: The files that quote results (notebooks are added by :func:`quoting_files`).
TEXT_FILES = ("README.md", "slides/deck.md", "slides/INSTRUCTOR_GUIDE.md")


def notebook_results(notebook):
    """Return ``{key: value}`` from the results outputs of an executed notebook (a dict or a path)."""
    if not isinstance(notebook, dict):
        notebook = json.loads(Path(notebook).read_text(encoding="utf-8"))
    values = {}
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            values.update(output.get("data", {}).get(RESULTS_MIMETYPE, {}))
    return values


def read_record(path=RECORD):
    """Return the record ``{notebook stem: {"machine", "date", "values"}}`` ({} if there is none)."""
    return json.loads(Path(path).read_text(encoding="utf-8")) if Path(path).exists() else {}


def quoting_files(root=ROOT):
    """The files that may quote recorded numbers."""
    return [Path(root) / name for name in TEXT_FILES] + sorted((Path(root) / "notebooks").glob("*.ipynb"))


def _values_by_number(record):
    """``{"01": values, ..., "scribbles": values}``: notebooks by their number, benchmarks by name."""
    return {(stem[:2] if stem[:2].isdigit() else stem): entry["values"] for stem, entry in record.items()}


def record_benchmark(name, values, machine, date, path=RECORD, root=ROOT):
    """Store a benchmark's numbers in the record under ``name``, then rewrite the quotes from it."""
    record = read_record(path)
    record[name] = {"date": str(date), "machine": machine, "values": {key: float(v) for key, v in values.items()}}
    Path(path).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return update_quotes(record, root=root)


def formatted(value, like):
    """Write ``value`` with the decimals (and thousands commas) of the quoted text ``like``."""
    decimals = len(like.split(".")[1]) if "." in like else 0
    text = f"{value:,.{decimals}f}" if "," in like else f"{value:.{decimals}f}"
    return text


def quotes(text, record):
    """Yield (quoted text, expected text, notebook, key) for every marked number in ``text``."""
    values = _values_by_number(record)
    for match in QUOTE.finditer(text):
        value = values.get(match["notebook"], {}).get(match["key"])
        expected = None if value is None else formatted(value, match["number"])
        yield match["number"], expected, match["notebook"], match["key"]


def _rewrite(text, record):
    values = _values_by_number(record)

    def replace(match):
        value = values.get(match["notebook"], {}).get(match["key"])
        if value is None:  # not recorded (yet): left as it is; tests/test_results.py names it
            print(f"  nothing recorded for {match['notebook']}/{match['key']} (quoted as {match['number']})")
            return match[0]
        return formatted(value, match["number"]) + match["marker"]

    return QUOTE.sub(replace, text)


def update_quotes(record=None, root=ROOT):
    """Rewrite every marked number in the quoting files from the record; return the files changed."""
    record = read_record() if record is None else record
    changed = []
    for path in quoting_files(root):
        if not path.exists():
            continue
        if path.suffix == ".ipynb":
            notebook = json.loads(path.read_text(encoding="utf-8"))
            touched = False
            for cell in notebook["cells"]:
                if cell["cell_type"] != "markdown":
                    continue
                old = "".join(cell["source"])
                new = _rewrite(old, record)
                if new != old:
                    cell["source"] = new.splitlines(keepends=True)
                    touched = True
            if touched:
                path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
                changed.append(path)
        else:
            old = path.read_text(encoding="utf-8")
            new = _rewrite(old, record)
            if new != old:
                path.write_text(new, encoding="utf-8")
                changed.append(path)
    return changed


if __name__ == "__main__":
    for changed_file in update_quotes():
        print(f"updated the quoted numbers in {changed_file.relative_to(ROOT)}")
    sys.exit(0)
