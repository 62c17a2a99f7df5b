"""The lesson scaffolding: licence, citation, glossary, the schedule and the instructor notes.

Everything here reads files of the repository (no network, no notebook is run): the licence names both
licences, CITATION.cff is valid CFF with the course's facts, the glossary defines the terms the course
promises, the instructor guide has notes for every notebook and a schedule whose minutes add up.
"""

import json
import re
from datetime import date

import yaml

import helpers
from helpers import course

ROOT = course.course_root()
GUIDE = ROOT / "slides" / "INSTRUCTOR_GUIDE.md"
GLOSSARY = ROOT / "slides" / "GLOSSARY.md"
DECK = ROOT / "slides" / "deck.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: Terms the glossary must define (issue 14, part D, and the words a biologist meets in the notebooks).
GLOSSARY_TERMS = [
    "batch normalisation",
    "epoch vs step",
    "learning-rate schedule",
    "learning rate",
    "logits",
    "softmax",
    "receptive field",
    "calibration",
    "tf.data",
    "iou",
    "dice",
    "threshold",
    "validation / test split",
    "augmentation",
    "overlap-tile",
    "one-hot",
    "label map",
    "instance vs semantic segmentation",
    "watershed",
    "bioimage.io",
    "classification",
    "object detection",
    "optimiser",
]


def _section(text, heading):
    """The text under a Markdown heading line, up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next(
        (i for i in range(start, len(lines)) if re.match(rf"#{{1,{level}}} ", lines[i])),
        len(lines),
    )
    return "\n".join(lines[start:end])


def _tables(text):
    """Every Markdown table in ``text`` as a list of rows, each a list of stripped cells (header first)."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def _minutes(clock):
    hours, minutes = clock.split(":")
    return 60 * int(hours) + int(minutes)


def _schedule():
    """(rows of the day's table, rows of the per-notebook table) as dicts keyed by the header."""
    day, per_notebook = _tables(_section(GUIDE.read_text(encoding="utf-8"), "## A one-day schedule"))[:2]
    return (
        [dict(zip(day[0], row)) for row in day[1:]],
        [dict(zip(per_notebook[0], row)) for row in per_notebook[1:]],
    )


def test_license_names_both_licences_with_the_mit_text_and_the_cc_by_link():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Creative Commons Attribution 4.0 International (CC BY 4.0)" in text
    assert "https://creativecommons.org/licenses/by/4.0/" in text
    assert "MIT License" in text
    # the full MIT text: grant, condition and disclaimer
    for sentence in (
        "Permission is hereby granted, free of charge, to any person obtaining a copy",
        "The above copyright notice and this permission notice shall be included in all",
        'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR',
    ):
        assert sentence in text, f"LICENSE lacks the MIT sentence {sentence!r}"
    # it says which licence covers what
    assert "Text and figures" in text and "Code" in text
    assert "helpers/" in text and "notebooks" in text


def test_citation_cff_parses_with_the_required_keys_and_the_course_facts():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    for key in ("cff-version", "message", "title", "authors", "version", "date-released", "repository-code", "license"):
        assert key in citation, f"CITATION.cff lacks the key {key!r}"
    assert citation["cff-version"] == "1.2.0"
    assert citation["title"] == "U-Net image segmentation, a hands-on workshop"
    assert str(citation["version"]) == helpers.__version__
    date.fromisoformat(str(citation["date-released"]))
    assert citation["repository-code"] == course.REPOSITORY_URL
    assert set(citation["license"]) == {"CC-BY-4.0", "MIT"}
    assert citation["authors"] and all("name" in a or "family-names" in a for a in citation["authors"])


def test_citation_cites_the_unet_paper_and_every_data_set_as_helpers_datasets_states_it():
    references = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))["references"]
    unet = [r for r in references if r.get("doi") == "10.1007/978-3-319-24574-4_28"]
    assert unet and unet[0]["title"].startswith("U-Net: Convolutional Networks for Biomedical Image Segmentation")
    assert [a["family-names"] for a in unet[0]["authors"]] == ["Ronneberger", "Fischer", "Brox"]
    for path in sorted((ROOT / "helpers" / "registry").glob("*.json")):
        facts = json.loads(path.read_text(encoding="utf-8"))
        cited = " ".join(facts["citation"].split())
        matching = [r for r in references if " ".join(r["title"].split()) in cited]
        assert len(matching) == 1, f"CITATION.cff has no reference (or several) for {path.name}: {cited}"
        first_author = matching[0]["authors"][0]["family-names"]
        assert cited.startswith(first_author), f"{path.name}: first author {first_author} does not match"
        assert str(matching[0]["year"]) in cited
        doi = re.search(r"doi:(\S+?)\.?$", cited)
        if doi:
            assert matching[0]["doi"] == doi.group(1)


def _glossary():
    """{term: definition} from the lines ``- **Term**: definition`` of the glossary."""
    entries = re.findall(r"^- \*\*(.+?)\*\*: (.+)$", GLOSSARY.read_text(encoding="utf-8"), re.MULTILINE)
    terms = [term for term, _ in entries]
    assert len(terms) == len(set(terms)), "a term is defined twice"
    return dict(entries)


def test_glossary_defines_every_term_the_course_promises():
    names = [term.lower() for term in _glossary()]
    missing = [term for term in GLOSSARY_TERMS if not any(term in name for name in names)]
    assert not missing, f"slides/GLOSSARY.md defines no entry for {missing}"


def test_glossary_entries_are_short_and_in_alphabetical_order():
    glossary = _glossary()
    assert len(glossary) >= len(GLOSSARY_TERMS)
    for term, definition in glossary.items():
        prose = re.sub(r"`[^`]*`", "code", definition)  # keras.layers and the like are not sentence ends
        sentences = len(re.findall(r"[.!?](?:\s|$)", prose))
        assert 1 <= sentences <= 3, f"the glossary entry {term!r} has {sentences} sentences (1-3 wanted)"
    terms = [term.lower() for term in glossary]
    assert terms == sorted(terms), "glossary entries are not in alphabetical order"


def test_the_guide_has_notes_for_every_notebook():
    notes = _section(GUIDE.read_text(encoding="utf-8"), "## Notes for each notebook")
    assert len(NOTEBOOKS) >= 9
    for notebook in NOTEBOOKS:
        number = notebook.name[:2]
        headings = [line for line in notes.splitlines() if line.startswith(f"### {number} ")]
        assert len(headings) == 1, f"the guide has no notes (or several) headed '### {number} ...'"
        body = _section(notes, headings[0])
        for label in ("**Live-code**", "**Where learners stall**", "**Skip when late**"):
            assert label in body, f"the guide's notes on {notebook.name} lack {label}"


def test_schedule_runs_without_gaps_and_the_minutes_of_each_block_add_up():
    day, _ = _schedule()
    assert day[0]["Time"].startswith("09:00")
    end_of_previous = None
    breaks = []
    for row in day:
        start, end = row["Time"].split("-")
        if end_of_previous is not None:
            assert start == end_of_previous, f"the schedule has a gap or an overlap before {row['Time']}"
        end_of_previous = end
        length = _minutes(end) - _minutes(start)
        assert length > 0, row["Time"]
        if row["Block"].startswith(("Break", "Lunch")):
            assert row["Teaching (min)"] == row["Exercises (min)"] == "", f"{row['Time']}: a break has no minutes"
            breaks.append((row["Block"].split()[0], length))
        else:
            taught, practised = int(row["Teaching (min)"]), int(row["Exercises (min)"])
            assert taught + practised == length, (
                f"{row['Time']}: {taught} teaching + {practised} exercise minutes do not fill {length} minutes"
            )
    assert [name for name, _ in breaks] == ["Break", "Lunch", "Break"]
    assert dict(breaks)["Lunch"] >= 45


def test_minutes_per_notebook_are_the_sums_of_the_schedule_and_cover_every_notebook():
    day, per_notebook = _schedule()
    from_schedule = {}
    for row in day:
        for number in re.findall(r"\b\d\d\b", row["Notebook"]):  # "07 or 06": the slot counts for both
            taught, practised = from_schedule.get(number, (0, 0))
            from_schedule[number] = (taught + int(row["Teaching (min)"]), practised + int(row["Exercises (min)"]))
    listed = {}
    for row in per_notebook:
        taught, practised, total = (int(row[key]) for key in ("Teaching (min)", "Exercises (min)", "Total (min)"))
        assert taught + practised == total, f"notebook {row['Notebook']}: {taught} + {practised} != {total}"
        listed[row["Notebook"]] = (taught, practised)
    assert listed == from_schedule
    assert sorted(listed) == [notebook.name[:2] for notebook in NOTEBOOKS]


def test_slides_named_in_the_schedule_are_slides_of_the_deck():
    day, _ = _schedule()
    headings = [line[3:] for line in DECK.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]
    named = [name for row in day for name in re.findall(r'"([^"]+)"', row["Slides"])]
    assert named
    unknown = [name for name in named if not any(heading.startswith(name) for heading in headings)]
    assert not unknown, f"the schedule names slides that slides/deck.md does not have: {unknown}"


def test_readme_points_to_the_guides_schedule():
    section = _section((ROOT / "README.md").read_text(encoding="utf-8"), "## A one-day schedule")
    assert "slides/INSTRUCTOR_GUIDE.md" in section, "README's schedule section does not point to the guide"


def test_the_guide_names_the_drive_folders_the_notebooks_use():
    used = sorted(
        set(re.findall(r'mount_drive\(\\"(unet-course-\d\d)\\"\)', "".join(p.read_text() for p in NOTEBOOKS)))
    )
    assert used, "no notebook calls mount_drive: this test is out of date"
    guide = GUIDE.read_text(encoding="utf-8")
    for folder in used:
        assert f"MyDrive/{folder}" in guide, f"the guide does not name MyDrive/{folder}"
