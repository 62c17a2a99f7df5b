"""The workshop slides: they build, open in a real (headless) browser without errors, show every
figure, state the numbers their figures compute, and the instructor guide quotes measured times."""

import importlib.util
import json
import math
import os
import re
import sys

import pytest

from helpers import course

ROOT = course.course_root()
SLIDES = ROOT / "slides"


def _load(name):
    """Import a module of slides/ by its path (slides/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"slides_{name}", SLIDES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    if str(SLIDES) not in sys.path:
        sys.path.insert(0, str(SLIDES))
    spec.loader.exec_module(module)
    return module


build = _load("build")
browser = _load("browser")
figures = _load("figures")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The deck built once, HTML and PDF, into a temporary folder (never into the repository)."""
    try:
        browser.find_browser()
    except browser.BrowserMissing as error:  # CI must run them (.ci/run installs the browser); elsewhere say so
        if os.environ.get("CI"):
            pytest.fail(f"The slide tests need a headless browser. {error} (.ci/run installs it.)", pytrace=False)
        pytest.skip(f"The slide tests need a headless browser (skipped here). {error}")
    (html, pdf), facts = build.build(tmp_path_factory.mktemp("slides"), pdf=True)
    return html, pdf, facts


@pytest.fixture(scope="module")
def opened(built):
    """What the browser saw: slide count, images, addresses requested, problems, after visiting every slide."""
    html, _, _ = built
    with browser.open_page(html.as_uri()) as page:
        page.wait_for("typeof Reveal !== 'undefined' && Reveal.isReady()")
        total = page.evaluate("Reveal.getTotalSlides()")
        for index in range(total):
            page.evaluate(f"Reveal.slide({index})")
        seen = {
            "total": total,
            "sections": page.evaluate("document.querySelectorAll('.reveal .slides > section').length"),
            "images": page.evaluate("document.images.length"),
            "broken": page.evaluate(
                "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt)"
            ),
            "notes": page.evaluate("document.querySelectorAll('aside.notes').length"),
            "last": page.evaluate("Reveal.getIndices().h"),
            "urls": page.requested_urls(),
            "problems": page.problems(),
        }
    return seen


def test_deck_source_splits_into_slides_and_notes(tmp_path):
    deck = tmp_path / "deck.md"
    deck.write_text(
        "# One\n\ntext\n\n---\n\n## Two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nNote:\nsay this\n\n---\n## Three\n",
        encoding="utf-8",
    )
    assert build.read_deck(deck) == [
        ("# One\n\ntext", ""),
        ("## Two\n\n| a | b |\n|---|---|\n| 1 | 2 |", "say this"),
        ("## Three", ""),
    ]
    deck.write_text("# One\n---\n---\n# Three\n", encoding="utf-8")
    with pytest.raises(ValueError, match="slide 2 is empty"):
        build.read_deck(deck)


#: The topics of the seed workshop's deck (issue 6), by the heading of the slide that covers each.
SEED_TOPICS = [
    "Applications of computer vision",
    "Semantic vs instance segmentation",
    "Classical pixel classifiers",
    "The U-Net components",
    "Padding",
    "U-Net: advantages and disadvantages",
    "Real-world applications",
    "U-Net models in keras-unet",
    "Creating a training set",
    "Data augmentation",
    "Batches and generators",
    "Using Google Colab",
    "Loss functions: BCE and Dice / Jaccard",
    "Tiling large images",
    "Which optimiser?",
]


@pytest.mark.parametrize("topic", SEED_TOPICS)
def test_every_seed_topic_has_a_slide_linked_to_a_notebook(topic):
    slides = [body for body, _ in build.read_deck() if body.splitlines()[0].startswith(f"## {topic}")]
    assert len(slides) == 1, f"no slide (or several) headed '## {topic}' in slides/deck.md"
    assert "](notebook:" in slides[0], f"the slide '{topic}' links to no notebook"


def test_the_browser_shows_every_slide_of_the_source(opened):
    expected = len(build.read_deck())
    source = build.DECK.read_text(encoding="utf-8")
    assert expected == len(re.findall(r"^---\s*$", source, re.MULTILINE)) + 1
    assert opened["total"] == opened["sections"] == expected
    assert opened["last"] == expected - 1, "the last slide could not be reached"


def test_no_missing_image_and_no_script_error(opened):
    figures_in_source = re.findall(r"\(figure:(\w+)\)", build.DECK.read_text(encoding="utf-8"))
    assert opened["images"] == len(figures_in_source) > 0
    assert opened["broken"] == [], f"images that did not load: {opened['broken']}"
    assert opened["problems"] == [], "\n".join(opened["problems"])


def test_the_deck_opens_offline_and_has_speaker_notes(opened):
    fetched = [url for url in opened["urls"] if not url.startswith(("file:", "data:"))]
    assert fetched == [], f"the deck asked the network for {fetched}"
    assert opened["notes"] >= 10


def test_the_pdf_has_one_page_per_slide(built):
    _, pdf, _ = built
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) == len(build.read_deck())


def test_figures_compute_the_hand_checked_numbers(built):
    facts = built[2]
    assert set(facts) == set(figures.FIGURES)
    # edge kernel (-1 0 1 in each row) over 0 0 1 1 1: 3 rows x (1 - 0) = 3 across the edge, 0 on the flat
    assert facts["convolution"]["output"] == [[3, 3, 0]] * 3
    assert facts["max_pooling"]["max"] == [[4, 2], [2, 8]]
    assert facts["max_pooling"]["average"] == [[2.5, 1], [1.25, 6.5]]  # (1+3+4+2)/4, ... , (5+6+7+8)/4
    # each input value times the kernel 1 1 / 1 0, stamped on its 2x2 block
    assert facts["transpose_convolution"]["output"] == [[1, 1, 2, 2], [1, 0, 2, 0], [3, 3, 0, 0], [3, 0, 0, 0]]
    # sums of 3x3 windows of 1..16: 1+2+3+5+6+7+9+10+11 = 54; with zero padding the corner sums 1+2+5+6 = 14
    assert facts["padding"]["valid"] == [[54, 63], [90, 99]]
    assert facts["padding"]["same"][0] == [14, 24, 30, 22]
    assert facts["skip_connection"] == {"small_shape": [16, 16], "back_shape": [128, 128]}
    assert facts["unet"]["parameters"] == 34_512_193
    assert facts["unet"]["down"][-1] == (16, 16, 1024) and facts["unet"]["up"][-1] == (256, 256, 64)
    assert facts["dice_iou"] == {"dice": 0.8, "iou": round(4 / 6, 3)}
    assert facts["losses"]["at_half"] == {"bce": round(math.log(2), 3), "dice": round(1 / 3, 3)}
    assert facts["tiles"] == {"starts": [0, 96, 128], "tiles": 9}
    assert all(gap > 0.1 for gap in facts["augmentation"]["membrane_darker_by"]), "mask moved off its image"


def test_slide_text_states_what_the_figures_compute(built):
    facts, text = built[2], build.DECK.read_text(encoding="utf-8")
    assert f"**{facts['dice_iou']['iou']}**" in text and f"**{facts['dice_iou']['dice']}**" in text
    assert f"**{facts['losses']['at_half']['bce']}**" in text and f"**{facts['losses']['at_half']['dice']}**" in text
    assert f"= {facts['tiles']['tiles']}**" in text
    assert f"{facts['unet']['parameters']:,}" in text
    assert "(4, 2, 2, 8)" in text  # the max-pooling result, read row by row


def test_tile_figure_uses_the_course_tiler_starts():
    from helpers import inference

    assert inference.window_starts(512, 256, 256 - 64) == [0, 192, 256]
    assert inference.window_starts(256, 128, 128) == [0, 128]
    assert inference.window_starts(100, 100, 90) == [0]


def test_notebook_links_go_to_colab_and_a_missing_notebook_is_an_error(tmp_path):
    (tmp_path / "01_intro_unet.ipynb").write_text("{}", encoding="utf-8")
    text = build.link_notebooks("[one](notebook:01_intro_unet)", tmp_path)
    assert f"[one]({course.colab_url('01_intro_unet.ipynb')})" in text
    with pytest.raises(ValueError, match="02_augmentation.ipynb does not exist"):
        build.link_notebooks("[two](notebook:02_augmentation)", tmp_path)


def test_timing_table_quotes_the_benchmark_file(tmp_path):
    times = {
        "01_intro_unet": {
            "smoke": {"x86_64, 2 CPU cores, no GPU, Python 3.13.0": {"seconds": 49.3, "peak_mb": 1514}},
            "default": {
                "x86_64, 2 CPU cores, no GPU, Python 3.13.0": {"seconds": 253.7, "peak_mb": 2048},
                "T4 GPU, Colab": {"seconds": 61.0, "peak_mb": 3072},
            },
        }
    }
    path = tmp_path / "times.json"
    path.write_text(json.dumps(times), encoding="utf-8")
    table = build.timing_table(path)
    # machines sorted by name get letters: (A) the T4, (B) the CPU; each time names its machine's letter
    assert (
        "| [01_intro_unet](../notebooks/01_intro_unet.ipynb) | 49 s, 1.5 GB (B) | 254 s (4.2 min), 2.0 GB (B) "
        "| 61 s, 3.0 GB (A) |"
    ) in table
    assert "Measured on: (A) T4 GPU, Colab; (B) x86_64, 2 CPU cores, no GPU, Python 3.13.0." in table
    assert (
        "| [02_augmentation](../notebooks/02_augmentation.ipynb) | not measured | not measured | not measured |"
    ) in table
    notebooks = sorted((build.ROOT / "notebooks").glob("*.ipynb"))
    assert len([line for line in table.splitlines() if line.startswith("|")]) == 2 + len(notebooks)


def _quoted_times(table):
    """{(notebook number, column): cell} for every measured cell of a timing table."""
    cells = {}
    for line in table.splitlines():
        number = re.match(r"\| \[?(\d\d)_", line)
        if number:
            for column, cell in enumerate(line.strip("|").split("|")[1:], start=1):
                if cell.strip() != "not measured":
                    cells[number.group(1), column] = cell.strip()
    return cells


def test_every_time_in_the_instructor_guide_is_in_the_benchmark_file():
    # The guide may lag behind (a notebook measured since shows "not measured" until slides/build.py
    # runs again), but every time it quotes must be what benchmarks/results/notebook_times.json holds.
    guide = build.GUIDE.read_text(encoding="utf-8")
    inside = guide.split(build.TABLE_START, 1)[1].split(build.TABLE_END, 1)[0]
    quoted, measured = _quoted_times(inside), _quoted_times(build.timing_table())
    assert quoted, "the guide's timing table quotes no measurement at all"
    stale = {key: cell for key, cell in quoted.items() if measured.get(key) != cell}
    assert not stale, (
        f"slides/INSTRUCTOR_GUIDE.md quotes times that benchmarks/results/notebook_times.json no longer "
        f"holds: {stale}; run .venv/bin/python slides/build.py to rewrite its table"
    )


def test_a_missing_browser_is_reported_with_the_fix(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CHROMIUM", raising=False)
    with pytest.raises(browser.BrowserMissing, match="apt-get install -y chromium"):
        browser.find_browser()
