"""Figures: the overlay's numbers, what lands in which panel, and the display rule."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers import plotting


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def batch(count=3, size=8, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random((count, size, size, 1))
    masks = (rng.random((count, size, size, 1)) < 0.3).astype(np.float32)
    predictions = rng.random((count, size, size, 1))
    return images, masks, predictions


# --- overlay ----------------------------------------------------------------------------


def test_overlay_blends_inside_the_mask_and_keeps_the_rest():
    image = np.array([[0.0, 0.5], [1.0, 0.25]])  # already spans 0..1, so no stretching
    mask = np.array([[0, 1], [0, 1]])
    result = plotting.overlay(image, mask, color=(1.0, 0.0, 0.0), alpha=0.4)
    assert result.shape == (2, 2, 3)
    np.testing.assert_allclose(result[0, 0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(result[1, 0], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(result[0, 1], [0.6 * 0.5 + 0.4, 0.6 * 0.5, 0.6 * 0.5])
    np.testing.assert_allclose(result[1, 1], [0.6 * 0.25 + 0.4, 0.6 * 0.25, 0.6 * 0.25])


def test_overlay_stretches_grey_images_and_accepts_a_channel_axis():
    image = np.array([[10, 20], [30, 50]], dtype=np.uint16)[..., None]  # (2, 2, 1)
    mask = np.zeros((2, 2, 1), dtype=bool)
    result = plotting.overlay(image, mask)
    np.testing.assert_allclose(result[..., 0], [[0.0, 0.25], [0.5, 1.0]])
    np.testing.assert_allclose(result[..., 0], result[..., 2])


def test_overlay_of_an_rgb_uint8_image():
    image = np.zeros((2, 2, 3), dtype=np.uint8)
    image[0, 0] = (255, 51, 0)
    result = plotting.overlay(image, np.array([[0, 0], [0, 1]]), color=(0.0, 0.0, 1.0), alpha=0.5)
    np.testing.assert_allclose(result[0, 0], [1.0, 0.2, 0.0])
    np.testing.assert_allclose(result[1, 1], [0.0, 0.0, 0.5])


def test_overlay_errors():
    with pytest.raises(ValueError, match=r"same height and width.*\(2, 2\).*\(3, 3\)"):
        plotting.overlay(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="binary mask of 0 and 1"):
        plotting.overlay(np.zeros((2, 2)), np.full((2, 2), 0.7))
    with pytest.raises(ValueError, match="alpha"):
        plotting.overlay(np.zeros((2, 2)), np.zeros((2, 2)), alpha=2)
    with pytest.raises(ValueError, match="color"):
        plotting.overlay(np.zeros((2, 2)), np.zeros((2, 2)), color=(255, 0, 0))


# --- show_images ------------------------------------------------------------------------


def test_show_images_columns_titles_and_data():
    images, masks, predictions = batch()
    fig = plotting.show_images(images, masks, predictions, titles=["a", "b", "c"], threshold=0.6, show=False)
    assert isinstance(fig, Figure)
    colour_bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colour_bars) == 1  # one colour bar for the probability column
    axes = np.array([ax for ax in fig.axes if ax not in colour_bars]).reshape(3, 4)
    assert [ax.get_title() for ax in axes[0]] == [
        "image",
        "true mask",
        "predicted probability",
        "prediction (≥ 0.6) on image",
    ]
    assert all(not ax.axison for ax in axes.flat)
    for row in range(3):
        np.testing.assert_array_equal(axes[row, 0].images[0].get_array(), images[row, ..., 0])
        np.testing.assert_array_equal(axes[row, 1].images[0].get_array(), masks[row, ..., 0])
        np.testing.assert_array_equal(axes[row, 2].images[0].get_array(), predictions[row, ..., 0])
        expected_overlay = plotting.overlay(images[row], predictions[row] >= 0.6)
        np.testing.assert_allclose(axes[row, 3].images[0].get_array(), expected_overlay)
        assert [text.get_text() for text in axes[row, 0].texts] == ["abc"[row]]
    assert [t.get_text() for t in axes[0, 3].get_legend().get_texts()] == ["predicted membrane"]


def test_show_images_without_prediction_overlays_the_true_mask():
    images, masks, _ = batch(count=2)
    fig = plotting.show_images(list(images), list(masks), foreground="nucleus", show=False)
    assert [ax.get_title() for ax in fig.axes] == ["image", "true mask", "true mask on image", "", "", ""]
    np.testing.assert_allclose(fig.axes[5].images[0].get_array(), plotting.overlay(images[1], masks[1]))
    assert [t.get_text() for t in fig.axes[2].get_legend().get_texts()] == ["true nucleus"]


def test_show_images_alone_and_at_most_max_rows():
    images, _, _ = batch(count=9)
    assert len(plotting.show_images(images, show=False).axes) == 6
    assert len(plotting.show_images(images[..., 0], max_rows=2, show=False).axes) == 2


def test_show_images_shows_and_returns_none():
    images, masks, _ = batch(count=1)
    assert plotting.show_images(images, masks) is None
    assert len(plt.gcf().axes) == 3


def test_show_images_errors():
    images, masks, predictions = batch()
    with pytest.raises(ValueError, match="3 images but 2 masks"):
        plotting.show_images(images, masks[:2], show=False)
    with pytest.raises(ValueError, match="3 images but 1 titles"):
        plotting.show_images(images, titles=["only one"], show=False)
    with pytest.raises(ValueError, match=r"predictions\[0\].*-0.98"):
        plotting.show_images(images, predictions=predictions * 4 - 1, show=False)
    with pytest.raises(ValueError, match=r"pass \[image\]"):
        plotting.show_images(images[0, ..., 0], show=False)


# --- show_grid --------------------------------------------------------------------------


def test_show_grid_titles_data_and_value_labels():
    image = np.arange(16).reshape(4, 4)
    kernel = np.array([[1, 0, -1]] * 3)
    result = np.array([[0.5, 2.0], [-1.0, 3.0]]).reshape(1, 2, 2, 1)  # as Keras returns it
    fig = plotting.show_grid([image, kernel, result], ["image", "kernel", "result"], value_labels=True, show=False)
    assert [ax.get_title() for ax in fig.axes] == ["image", "kernel", "result"]
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), image)
    np.testing.assert_array_equal(fig.axes[2].images[0].get_array(), result[0, ..., 0])
    assert [t.get_text() for t in fig.axes[1].texts] == ["1", "0", "-1"] * 3
    assert [t.get_text() for t in fig.axes[2].texts] == ["0.5", "2", "-1", "3"]
    assert {t.get_color() for t in fig.axes[0].texts} == {"black", "white"}


def test_show_grid_wraps_rows_and_removes_empty_panels():
    arrays = [np.eye(3)] * 5
    fig = plotting.show_grid(arrays, list("abcde"), ncols=2, show=False)
    assert len(fig.axes) == 5
    assert fig.axes[0].get_gridspec().get_geometry() == (3, 2)
    assert all(len(ax.texts) == 0 for ax in fig.axes)


def test_show_grid_errors():
    with pytest.raises(ValueError, match="2 arrays but 1 titles"):
        plotting.show_grid([np.eye(2), np.eye(2)], ["one"], show=False)
    with pytest.raises(ValueError, match=r"\(2, 3, 4\)"):
        plotting.show_grid([np.zeros((2, 3, 4))], ["cube"], show=False)


# --- show_history -----------------------------------------------------------------------

HISTORY = {"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.6], "dice": [0.2, 0.5, 0.6], "val_dice": [0.1, 0.4, 0.5]}


def test_show_history_panels_and_lines():
    fig = plotting.show_history(HISTORY, metrics=("loss", "dice"), show=False)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "dice"]
    for ax, name in zip(fig.axes, ("loss", "dice")):
        training, validation = ax.get_lines()
        np.testing.assert_array_equal(training.get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(training.get_ydata(), HISTORY[name])
        np.testing.assert_array_equal(validation.get_ydata(), HISTORY["val_" + name])
        assert ax.get_xlabel() == "epoch"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training", "validation"]


def test_show_history_from_a_keras_history_and_from_csv_rows():
    class History:  # what model.fit returns has the values in .history
        history = {"loss": [0.3, 0.2]}

    fig = plotting.show_history(History(), show=False)
    assert len(fig.axes) == 1
    assert len(fig.axes[0].get_lines()) == 1  # no validation curve without val_loss

    rows = [{"epoch": "0", "loss": "0.9", "val_loss": "1.0"}, {"epoch": "1", "loss": "0.5", "val_loss": "0.8"}]
    fig = plotting.show_history(rows, metrics="loss", show=False)
    np.testing.assert_allclose(fig.axes[0].get_lines()[1].get_ydata(), [1.0, 0.8])


def test_show_history_names_what_is_available():
    with pytest.raises(ValueError, match="iou.*dice, loss"):
        plotting.show_history(HISTORY, metrics=("loss", "iou"), show=False)
    assert plotting.show_history(HISTORY) is None
