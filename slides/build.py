"""Build the workshop slides: one self-contained HTML slideshow (reveal.js) and a PDF for handouts.

    .venv/bin/python slides/build.py            # slides/build/unet-workshop.html and .pdf
    .venv/bin/python slides/build.py --no-pdf   # HTML only (no browser needed)
    .venv/bin/python slides/build.py --guide-only   # only the timing table of INSTRUCTOR_GUIDE.md

What it does:

1. reads ``slides/deck.md`` (slides separated by a line ``---``; speaker notes after a line ``Note:``);
2. draws every ``![...](figure:NAME)`` with ``slides/figures.py``, which calls the course's
   ``helpers``, so the slides show what the notebooks compute;
3. turns ``[text](notebook:NN_name)`` into a Colab link (a link to a notebook that does not exist
   is an error);
4. writes one HTML file with reveal.js (vendored in ``slides/vendor``), its CSS and every figure
   inlined: it opens offline, from a USB stick, without a server;
5. prints the deck to PDF with headless Chromium (reveal.js's ``?print-pdf`` view);
6. rewrites the timing table of ``slides/INSTRUCTOR_GUIDE.md`` from
   ``benchmarks/results/notebook_times.json``, so the guide quotes only measured times.
"""

import argparse
import base64
import json
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up lines would hide the report

SLIDES = Path(__file__).resolve().parent
ROOT = SLIDES.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(SLIDES) not in sys.path:
    sys.path.insert(0, str(SLIDES))
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))

from run_notebooks import machine_letters, table_cell  # noqa: E402  (benchmarks/run_notebooks.py writes the times)

REVEAL = SLIDES / "vendor" / "reveal.js-5.2.1"
DECK = SLIDES / "deck.md"
GUIDE = SLIDES / "INSTRUCTOR_GUIDE.md"
TIMES = ROOT / "benchmarks" / "results" / "notebook_times.json"
OUTPUT = SLIDES / "build"
NAME = "unet-workshop"


SLIDE_BREAK = re.compile(r"^---\s*$", re.MULTILINE)
NOTE = re.compile(r"^Note:\s*$", re.MULTILINE)
FIGURE = re.compile(r"!\[([^\]]*)\]\(figure:(\w+)\)")
NOTEBOOK = re.compile(r"\[([^\]]+)\]\(notebook:(\w+)\)")
TABLE_START, TABLE_END = "<!-- timings:start (slides/build.py writes this table) -->", "<!-- timings:end -->"


def read_deck(path=DECK):
    """Split the deck source into slides.

    Parameters
    ----------
    path : pathlib.Path
        A Markdown file; slides are separated by a line ``---``, speaker notes follow a line ``Note:``.

    Returns
    -------
    list of (str, str)
        (slide Markdown, notes Markdown) for each slide, notes ``""`` when there are none.
    """
    text = Path(path).read_text(encoding="utf-8")
    slides = []
    for number, part in enumerate(SLIDE_BREAK.split(text), start=1):
        pieces = NOTE.split(part, maxsplit=1)
        body, notes = pieces[0].strip(), (pieces[1].strip() if len(pieces) > 1 else "")
        if not body:
            raise ValueError(f"{path}: slide {number} is empty (two '---' lines in a row?).")
        slides.append((body, notes))
    return slides


def link_notebooks(markdown, notebooks=ROOT / "notebooks"):
    """Replace ``[text](notebook:NAME)`` by the Colab link of ``notebooks/NAME.ipynb``."""
    from helpers import course

    def replace(match):
        text, name = match.groups()
        if not (Path(notebooks) / f"{name}.ipynb").is_file():
            raise ValueError(
                f"deck.md links to notebook:{name}, but {Path(notebooks) / (name + '.ipynb')} does "
                f"not exist; correct the name in the deck."
            )
        return f"[{text}]({course.colab_url(name + '.ipynb')})"

    return NOTEBOOK.sub(replace, markdown)


def figure_png(name, folder):
    """Draw figure ``name`` of ``figures.FIGURES``, save it as ``folder/NAME.png``; return (bytes, facts).

    ``facts`` are the numbers the figure states (``figures.figure_*`` returns them): the tests
    compare them with hand-computed values and with the slide text.
    """
    import matplotlib

    matplotlib.use("Agg")
    import figures
    import matplotlib.pyplot as plt

    from helpers import plotting

    if name not in figures.FIGURES:
        raise KeyError(
            f"deck.md asks for figure:{name}, but slides/figures.py has only: " + ", ".join(sorted(figures.FIGURES))
        )
    fig, facts = figures.FIGURES[name]()
    data = plotting.figure_png(fig, dpi=100)
    plt.close(fig)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.png").write_bytes(data)
    return data, facts


def render_slides(slides, figure_folder, notebooks=ROOT / "notebooks"):
    """Turn (Markdown, notes) pairs into reveal.js ``<section>`` elements with figures inlined.

    Returns
    -------
    sections : list of str
    facts : dict
        ``{figure name: the numbers it states}``.
    """
    import mistune

    markdown = mistune.create_markdown(escape=False, plugins=["table"])
    cache, facts = {}, {}

    def inline_figure(match):
        alt, name = match.groups()
        if name not in cache:
            data, facts[name] = figure_png(name, figure_folder)
            cache[name] = base64.b64encode(data).decode("ascii")
        return f'<img class="figure" alt="{alt}" src="data:image/png;base64,{cache[name]}">'

    sections = []
    for body, notes in slides:
        html = markdown(link_notebooks(FIGURE.sub(inline_figure, body), notebooks))
        if notes:
            html += f'\n<aside class="notes">{markdown(notes)}</aside>'
        sections.append(f"<section>\n{html}\n</section>")
    return sections, facts


STYLE = """
.reveal { font-family: "Source Sans Pro", "Helvetica Neue", Helvetica, Arial, sans-serif; font-size: 30px; }
.reveal h1, .reveal h2, .reveal h3 { font-family: inherit; text-transform: none; }
.reveal img.figure { max-height: 430px; max-width: 100%; margin: 0.2em auto; }
.reveal table { font-size: 0.8em; }
.reveal code { font-size: 0.9em; }
"""


def _data_script(path):
    """A ``<script>`` whose source is a data: address, so no script text can upset the HTML parser."""
    code = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<script src="data:text/javascript;base64,{code}"></script>'


def html_page(sections, title="U-Net image segmentation: a hands-on workshop"):
    """The whole slideshow as one HTML text: reveal.js, its CSS and the slides, nothing to fetch."""
    theme = (REVEAL / "white.css").read_text(encoding="utf-8")
    theme = re.sub(r"@import url\([^)]*\);", "", theme)  # its web font: system fonts instead, offline
    css = (REVEAL / "reveal.css").read_text(encoding="utf-8") + theme + STYLE
    slides = "\n".join(sections)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>{css}</style>
</head>
<body>
<div class="reveal"><div class="slides">
{slides}
</div></div>
{_data_script(REVEAL / "reveal.js")}
{_data_script(REVEAL / "notes.js")}
<script>
Reveal.initialize({{ hash: true, slideNumber: "c/t", width: 1280, height: 800, margin: 0.04,
                    plugins: [RevealNotes] }});
</script>
</body>
</html>
"""


def write_pdf(html_path, pdf_path):
    """Print the slideshow to PDF with headless Chromium (reveal.js's ``?print-pdf`` layout)."""
    import browser

    with browser.open_page(html_path.resolve().as_uri() + "?print-pdf") as page:
        page.wait_for("typeof Reveal !== 'undefined' && Reveal.isReady()")
        page.wait_for("document.querySelectorAll('.pdf-page').length > 0")
        result = page.send("Page.printToPDF", timeout=120, printBackground=True, preferCSSPageSize=True)
    pdf_path.write_bytes(base64.b64decode(result["data"]))


def _measured(entry, gpu, letters):
    """The measurements of one notebook in one mode, on CPU-only machines or on machines with a GPU.

    Each carries its machine's letter from ``letters`` ({machine label: "(A)"}).
    """
    rows = []
    for machine, figures in sorted((entry or {}).items()):
        if ("no GPU" in machine) != gpu:
            rows.append(table_cell(figures, letters[machine]))
    return "; ".join(rows)


def timing_table(times_path=TIMES):
    """The guide's table of notebook times, from ``benchmarks/results/notebook_times.json``.

    Returns
    -------
    str
        A Markdown table: one row per notebook in notebooks/, with the smoke and default wall times and
        peak memory measured on CPU-only machines, and any GPU measurement; "not measured" where none.
        It depends on the benchmark file only, so a test can check that the guide quotes it.
    """
    times = json.loads(Path(times_path).read_text(encoding="utf-8")) if Path(times_path).exists() else {}
    letters = machine_letters(times)  # the same letters as the README's table
    lines = ["| Notebook | Smoke mode (tests), CPU | Default mode, CPU | Default mode, GPU |", "|---|---|---|---|"]
    for stem in sorted(path.stem for path in (ROOT / "notebooks").glob("*.ipynb")):
        entry = times.get(stem, {})
        name = f"[{stem}](../notebooks/{stem}.ipynb)"
        cells = [
            _measured(entry.get("smoke"), gpu=False, letters=letters),
            _measured(entry.get("default"), gpu=False, letters=letters),
            _measured(entry.get("default"), gpu=True, letters=letters),
        ]
        lines.append(f"| {name} | " + " | ".join(cell or "not measured" for cell in cells) + " |")
    lines.append("")
    lines.append(
        "Measured on: "
        + ("; ".join(f"{letter} {machine}" for machine, letter in letters.items()) if letters else "nothing yet")
        + ". Wall time of the whole notebook and peak memory of its kernel."
    )
    return "\n".join(lines)


def update_guide(guide=GUIDE, times_path=TIMES):
    """Rewrite the timing table between the markers of the instructor guide; return True if it changed."""
    text = Path(guide).read_text(encoding="utf-8")
    if TABLE_START not in text or TABLE_END not in text:
        raise ValueError(f"{guide} has lost its markers {TABLE_START!r} and {TABLE_END!r}; put them back.")
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    new = f"{head}{TABLE_START}\n{timing_table(times_path)}\n{TABLE_END}{tail}"
    if new != text:
        Path(guide).write_text(new, encoding="utf-8")
    return new != text


def build(output=OUTPUT, pdf=True, deck=DECK):
    """Build the slideshow into ``output``; return the paths written (HTML, then PDF if asked) and the facts.

    The facts are ``{figure name: the numbers it states}`` (see :func:`figure_png`).
    """
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    sections, facts = render_slides(read_deck(deck), output / "figures")
    html_path = output / f"{NAME}.html"
    html_path.write_text(html_page(sections), encoding="utf-8")
    written = [html_path]
    if pdf:
        pdf_path = output / f"{NAME}.pdf"
        write_pdf(html_path, pdf_path)
        written.append(pdf_path)
    return written, facts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUTPUT, help="output folder (default: slides/build)")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF (needs no browser)")
    parser.add_argument(
        "--guide-only",
        action="store_true",
        help="only rewrite the timing table of INSTRUCTOR_GUIDE.md (seconds, no figures)",
    )
    args = parser.parse_args(argv)
    if args.guide_only:
        print("timing table " + ("updated" if update_guide() else "already up to date") + f" in {GUIDE}")
        return
    if not args.no_pdf:
        import browser

        try:
            browser.find_browser()
        except browser.BrowserMissing as error:
            parser.exit(1, f"{error}\nOr build without the PDF: slides/build.py --no-pdf\n")
    if update_guide():
        print(f"updated the timing table in {GUIDE.relative_to(ROOT)}")
    from helpers import course

    course.import_tensorflow_quietly()  # before the figures import Keras: no CUDA, oneDNN or absl lines
    for path in build(args.out, pdf=not args.no_pdf)[0]:
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
