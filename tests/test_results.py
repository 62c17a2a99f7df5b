"""Every number the course quotes from a run is that run's (benchmarks/quote_results.py), and the timing records."""

import json
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from helpers import plotting
from helpers.course import course_root

ROOT = course_root()
sys.path.insert(0, str(ROOT / "benchmarks"))
import quote_results  # noqa: E402


@pytest.fixture(scope="module")
def values():
    return quote_results.recorded_values()


@pytest.mark.parametrize("path", quote_results.quoting_files(), ids=lambda p: p.name)
def test_every_quoted_number_is_the_one_its_run_recorded(path, values):
    for quoted, expected, source, key in quote_results.quotes(path.read_text(encoding="utf-8"), values):
        assert quoted == expected, (
            f"{path.name} quotes {quoted} for {source}/{key}, its run recorded {expected}: "
            "run python benchmarks/quote_results.py (None: no run records that key)"
        )


def _notebook_with_results(values):
    output = nbformat.v4.new_output("display_data", data={"text/plain": "", plotting.RESULTS_MIMETYPE: values})
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", outputs=[output])])


def test_quotes_are_rewritten_from_the_notebooks_and_the_benchmarks_with_their_decimals(tmp_path):
    (tmp_path / "notebooks").mkdir()
    nbformat.write(_notebook_with_results({"dice": 0.79912, "n": 4321.2}), tmp_path / "notebooks" / "01_x.ipynb")
    readme = tmp_path / "README.md"
    readme.write_text(
        "Dice 0.70<!--r:01/dice--> of 1,234<!--r:01/n--> pixels, 5<!--r:01/gone-->; forest 0.5<!--r:bench/f-->"
    )
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"other": {"values": {"x": 1.0}}}))
    assert quote_results.record_benchmark("bench", {"f": 0.6604}, "a machine", "2026-12-04", record, tmp_path) == [
        readme
    ]
    assert (
        readme.read_text()
        == "Dice 0.80<!--r:01/dice--> of 4,321<!--r:01/n--> pixels, 5<!--r:01/gone-->; forest 0.7<!--r:bench/f-->"
    )
    assert json.loads(record.read_text())["other"] == {"values": {"x": 1.0}}  # other benchmarks stay
    values = quote_results.recorded_values(tmp_path, record)
    assert [q[1] for q in quote_results.quotes(readme.read_text(), values)] == ["0.80", "4,321", None, "0.7"]


def test_show_results_stores_the_numbers_in_the_notebook_output():
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom helpers import plotting\n"
                "plotting.show_results({'unet_dice': 0.79912, 'steps': 650})"
            )
        ]
    )
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
    ).execute()
    assert quote_results.notebook_results(notebook) == {"unet_dice": 0.79912, "steps": 650.0}
    text = notebook.cells[0].outputs[0]["data"]["text/plain"]
    assert "unet_dice" in text and "0.7991" in text
    with pytest.raises(ValueError, match="unet_dice"):
        plotting.show_results({"Unet Dice": 1.0})


def test_the_top_sentence_is_written_from_the_newest_measurement(tmp_path, monkeypatch):
    import run_notebooks

    machine = "AMD EPYC, 2 CPU cores, no AVX-512, no GPU"
    times = {
        "01_x": {
            "default": {
                f"{machine}, Python 3.13.0": {"seconds": 275.3, "date": "2026-12-04"},
                "an older machine, Python 3.11": {"seconds": 979.0, "date": "2026-11-01"},
            },
            "smoke": {f"{machine}, Python 3.13.0": {"seconds": 41.6, "date": "2026-12-04"}},
        }
    }
    (tmp_path / "times.json").write_text(json.dumps(times))
    monkeypatch.setattr(run_notebooks, "RESULTS", tmp_path / "times.json")
    (tmp_path / "notebooks").mkdir()
    top = "# 01\n\n**Machine time** (measured by `benchmarks/run_notebooks.py`): default mode 1 s on X.\n\nMore."
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(top)])
    nbformat.write(notebook, tmp_path / "notebooks" / "01_x.ipynb")
    run_notebooks.update_notebook_times(root=tmp_path)
    written = nbformat.read(tmp_path / "notebooks" / "01_x.ipynb", as_version=4).cells[0].source
    assert written == (
        "# 01\n\n**Machine time** (measured by `benchmarks/run_notebooks.py`): default mode 275 s (4.6 min) on "
        f"{machine}, download included, training for `TRAIN_MINUTES`; smoke mode 42 s. No GPU time has been "
        "measured yet.\n\nMore."
    )


def test_a_recorded_run_knows_the_results_folders_that_would_make_it_a_resumed_run(tmp_path):
    import run_notebooks

    # notebooks 08 and 09 write into Drive (outputs/ locally); a leftover folder would resume their training
    folders = {p.name: run_notebooks.results_folders(p) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
    assert folders["08_your_own_data.ipynb"] == [ROOT / "outputs" / "unet-course-08"]
    assert folders["09_use_your_model_elsewhere.ipynb"] == [ROOT / "outputs" / "unet-course-09"]
    assert folders["01_intro_unet.ipynb"] == []
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("r = course.mount_drive( 'my-course' )")])
    nbformat.write(notebook, tmp_path / "x.ipynb")
    assert run_notebooks.results_folders(tmp_path / "x.ipynb") == [ROOT / "outputs" / "my-course"]


def test_the_multiclass_benchmark_keeps_the_folder_and_score_lines_not_the_exercises():
    import own_data_multiclass

    printed = [
        "  id  name                 pixels  images\n   0  membrane              17.2%      20\n",
        "D D.png, RGB, black background and red membranes\n",  # an exercise's answer
        "20 pairs of 512x512 pixels, 1 channel(s), 5 classes: training 14, validation 3, test 3\n",
        "Resuming at epoch 14 of 39: 13 finished epochs found in /tmp/x/results/run\n",  # the disconnect demo
        "best epoch 37 of 39\n",
        "class                   IoU   Dice\nmembrane              0.599  0.749\nmean                  0.524  0.656\n",
    ]
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("stream", text=t)]) for t in printed]
    )
    assert own_data_multiclass.printed_lines(notebook, ("membrane",)) == [
        "  id  name                 pixels  images",
        "   0  membrane              17.2%      20",
        "20 pairs of 512x512 pixels, 1 channel(s), 5 classes: training 14, validation 3, test 3",
        "best epoch 37 of 39",
        "class                   IoU   Dice",
        "membrane              0.599  0.749",
        "mean                  0.524  0.656",
    ]


def test_a_saved_default_run_replaces_the_times_of_the_notebooks_earlier_version(tmp_path):
    import run_notebooks

    times = tmp_path / "times.json"
    run_notebooks.record("04_x", "default", "machine A", {"seconds": 300.0, "peak_mb": 2000}, results_file=times)
    run_notebooks.record("04_x", "smoke", "machine A", {"seconds": 60.0, "peak_mb": 1000}, results_file=times)
    run_notebooks.record("04_x", "default", "machine B", {"seconds": 250.0, "peak_mb": 1900}, results_file=times)
    assert sorted(json.loads(times.read_text())["04_x"]["default"]) == ["machine A", "machine B"]  # timing only
    run_notebooks.record(
        "04_x", "default", "machine B", {"seconds": 310.0, "peak_mb": 1800}, saved=True, results_file=times
    )
    record = json.loads(times.read_text())["04_x"]
    assert list(record["default"]) == ["machine B"] and record["default"]["machine B"]["seconds"] == 310.0
    assert list(record["smoke"]) == ["machine A"]  # smoke runs save no outputs: kept
