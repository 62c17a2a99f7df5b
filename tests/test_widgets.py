"""The threshold explorer: slider, scores and picture follow each other."""

import re

import ipywidgets
import numpy as np
import pytest

from helpers import metrics, plotting


def example(seed=0, size=16):
    rng = np.random.default_rng(seed)
    image = rng.random((size, size, 1))
    probability = rng.random((size, size, 1))
    truth = (rng.random((size, size)) < 0.4).astype(np.uint8)
    return image, probability, truth


def shown_scores(explorer):
    text = explorer.children[1].value
    return [float(number) for number in re.findall(r"(?:Dice|IoU)</b> ([0-9.]+)", text)]


def test_explorer_is_a_box_with_slider_scores_and_picture():
    explorer = plotting.threshold_explorer(*example())
    assert isinstance(explorer, ipywidgets.VBox)
    slider, scores, picture = explorer.children
    assert isinstance(slider, ipywidgets.FloatSlider)
    assert (slider.min, slider.max, slider.value) == (0.01, 0.99, 0.5)  # the whole grid choose_threshold searches
    assert isinstance(scores, ipywidgets.HTML)
    assert isinstance(picture, ipywidgets.Image)
    assert bytes(picture.value).startswith(b"\x89PNG")


@pytest.mark.parametrize("threshold", [0.3, 0.75])
def test_moving_the_slider_updates_the_scores_and_the_picture(threshold):
    image, probability, truth = example()
    explorer = plotting.threshold_explorer(image, probability, truth)
    picture_before = bytes(explorer.children[2].value)
    explorer.children[0].value = threshold
    prediction = probability[..., 0] >= threshold
    expected = [metrics.dice_score(truth, prediction), metrics.iou_score(truth, prediction)]
    assert shown_scores(explorer) == pytest.approx(expected, abs=5e-4)
    assert bytes(explorer.children[2].value) != picture_before


def test_picture_draws_the_thresholded_overlay(monkeypatch):
    drawn = []
    monkeypatch.setattr(plotting, "overlay", lambda image, mask: drawn.append(mask.copy()) or np.zeros((2, 2, 3)))
    image, probability, truth = example()
    plotting.threshold_explorer(image, probability)
    assert len(drawn) == 1  # no truth: only the prediction panel
    np.testing.assert_array_equal(drawn[0], probability[..., 0] >= 0.5)


def test_without_truth_there_are_no_scores():
    image, probability, _ = example()
    explorer = plotting.threshold_explorer(image[..., 0], probability)
    assert "No true mask" in explorer.children[1].value


def test_errors():
    image, probability, truth = example()
    with pytest.raises(ValueError, match=r"\(16, 16\).*\(8, 8\)"):
        plotting.threshold_explorer(image, probability[:8, :8])
    with pytest.raises(ValueError, match="between 0 and 1"):
        plotting.threshold_explorer(image, probability * 3)
    with pytest.raises(ValueError, match=r"truth has shape \(16, 15\)"):
        plotting.threshold_explorer(image, probability, truth[:, :15])


def test_an_explorer_is_one_output_live_where_widgets_run_and_its_first_picture_elsewhere():
    import base64

    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    explorer = plotting.threshold_explorer(*example())
    with capture_output() as captured:
        display(explorer)
    (output,) = captured.outputs  # not a static copy above the live widget
    assert output.data["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.model_id
    assert base64.b64decode(output.data["image/png"]) == bytes(explorer.children[2].value)
    assert "Threshold explorer at 0.50" in output.data["text/plain"]
    assert explorer.children[2].layout.max_width == "100%"  # never wider than the window


def test_the_explorer_starts_at_a_given_threshold_and_reaches_the_edges_of_the_grid():
    image, probability, truth = example()
    explorer = plotting.threshold_explorer(image, probability, truth, threshold=0.97)
    assert explorer.children[0].value == pytest.approx(0.97)
    explorer.children[0].value = 0.99
    prediction = probability[..., 0] >= 0.99
    assert shown_scores(explorer)[0] == pytest.approx(metrics.dice_score(truth, prediction), abs=5e-4)
