"""The explorer widgets of the course: sliders and checkboxes over a trained network's output.

Each explorer draws with :mod:`helpers.plotting` into a PNG in an ``ipywidgets.Image`` (the same
in Jupyter, VS Code and Colab, ipywidgets 7.7 and 8), and in a notebook also shows a plain
picture of its first position beside the widget, which GitHub, a PDF or a saved notebook keep.
"""

import ipywidgets
import numpy as np

from helpers import metrics, plotting
from helpers._checks import as_mask, as_picture, as_probabilities, as_volume
from helpers._checks import foreground as foreground_mask
from helpers.inference import tile_grid

__all__ = ["threshold_explorer", "tile_explorer", "slice_explorer", "class_explorer"]


def show_static(png, caption):
    """Show the PNG of a widget's first position, under a one-line ``caption``, in a notebook (nowhere else)."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, Markdown, display
    except ImportError:
        return
    if get_ipython() is None:  # a plain script or the unit tests: no notebook to show it in
        return
    display(Markdown(f"*{caption}*"), Image(data=png, format="png"))


def _explorer(controls, picture, redraw, caption):
    """Draw the first position, show it as a static picture, and return the widget box."""
    redraw()
    show_static(bytes(picture.value), caption)
    return ipywidgets.VBox([*controls, picture])


def _score_html(truth, prediction, bold=("<b>", "</b>"), space=" &nbsp;&nbsp; "):
    """Return the line of scores shown under the threshold slider (plain text with bold=("", ""))."""
    if truth is None:
        return "No true mask given, so no Dice or IoU."
    dice = metrics.dice_score(truth, prediction)
    iou = metrics.iou_score(truth, prediction)
    return f"{bold[0]}Dice{bold[1]} {dice:.3f}{space}{bold[0]}IoU{bold[1]} {iou:.3f}"


def threshold_explorer(image, probability, truth=None, *, foreground="membrane"):
    """A slider that turns probabilities into a mask at the chosen threshold, and scores it.

    Moving the slider redraws ``probability >= threshold`` on top of the image and, when the
    true mask is given, shows the Dice and IoU of that mask at this threshold.

    ``image``: One image, (height, width), (height, width, 1) or RGB (height, width, 3).
    ``probability``: The network's output for this image, (height, width) or (height, width, 1), values between 0
    and 1.
    ``truth``: The true mask, same height and width.
    ``foreground``: What the foreground is, for the legend.
    Returns: Its children are, in order: the threshold ``FloatSlider`` (0.05 to 0.95, starting at 0.5), an ``HTML``
    line with the scores, and an ``Image`` with the picture. Display it by leaving it as the last line of a cell.
    """
    image = as_picture(image, "image")
    probability = as_picture(probability, "probability")
    if probability.ndim != 2 or probability.shape != image.shape[:2]:
        raise ValueError(
            f"probability must be one value per pixel of the image, but image has shape {image.shape} "
            f"and probability has shape {probability.shape}."
        )
    probability = as_probabilities(probability, "probability")
    if truth is not None:
        truth = as_mask(as_picture(truth, "truth"), "truth")
        if truth.shape != probability.shape:
            raise ValueError(
                f"truth must have the same height and width as probability, but truth has shape "
                f"{truth.shape} and probability has shape {probability.shape}."
            )
    slider = ipywidgets.FloatSlider(
        value=0.5, min=0.05, max=0.95, step=0.05, description="threshold", readout_format=".2f", continuous_update=True
    )
    scores = ipywidgets.HTML()
    picture = ipywidgets.Image(format="png")

    def redraw(change=None):
        threshold = slider.value
        scores.value = _score_html(truth, foreground_mask(probability, threshold))
        figure = plotting.threshold_figure(image, probability, truth, threshold, foreground)
        picture.value = plotting.figure_png(figure)

    slider.observe(redraw, names="value")
    first = _score_html(truth, foreground_mask(probability, slider.value), bold=("", ""), space=", ")
    return _explorer([slider, scores], picture, redraw, f"Threshold explorer at {slider.value:.2f}: {first}")


def tile_explorer(image, prediction, tile=256, overlap=64, blending="gaussian"):
    """A slider that walks through the tiles: the grid over the image, and the prediction in one tile.

    ``tile, overlap, blending``: As given to :func:`helpers.inference.predict_tiled`.
    Returns: A ``IntSlider`` "tile" (1 .. number of tiles) and an ``Image``.
    """
    picture_array = np.asarray(image, dtype=np.float32)
    if np.squeeze(prediction).shape != picture_array.shape[:2]:
        raise ValueError(
            f"prediction {np.shape(prediction)} must have the image's height and width {picture_array.shape[:2]}."
        )
    boxes = tile_grid(picture_array.shape[0], picture_array.shape[1], tile, overlap, blending)
    slider = ipywidgets.IntSlider(value=1, min=1, max=len(boxes), description="tile")
    picture = ipywidgets.Image(format="png")

    def redraw(change=None):
        figure = plotting.tile_figure(picture_array, prediction, boxes, slider.value - 1)
        picture.value = plotting.figure_png(figure)

    slider.observe(redraw, names="value")
    return _explorer([slider], picture, redraw, f"Tile explorer at tile 1 of {len(boxes)}")


def slice_explorer(volume, probability, truth=None, *, threshold=0.5, channel=0, foreground="membrane"):
    """A z slider that walks through a volume, drawing prediction and truth over each section.

    ``probability``: The prediction for the volume (e.g. from :func:`helpers.inference.predict_volume`).
    ``threshold``: Probabilities at or above it are drawn as foreground.
    ``channel``: The channel of ``volume`` shown in grey.
    ``foreground``: What the foreground is, for the titles.
    Returns: An ``IntSlider`` "section" (0 .. D-1, starting in the middle), an ``HTML`` line with the Dice of that
    section, and an ``Image``.
    """
    volume = as_volume(volume, "volume")
    probability = as_volume(probability, "probability")[..., 0]
    if probability.shape != volume.shape[:3]:
        raise ValueError(f"probability is {probability.shape} but volume is {volume.shape[:3]}; predict this volume.")
    if truth is not None:
        truth = as_volume(truth, "truth")[..., 0]
        if truth.shape != probability.shape:
            raise ValueError(f"truth is {truth.shape} but probability is {probability.shape}; they must match.")
    if not 0 <= channel < volume.shape[-1]:
        raise ValueError(f"channel must be between 0 and {volume.shape[-1] - 1}; got {channel!r}.")
    slider = ipywidgets.IntSlider(value=volume.shape[0] // 2, min=0, max=volume.shape[0] - 1, description="section")
    scores = ipywidgets.HTML()
    picture = ipywidgets.Image(format="png")

    def redraw(change=None):
        z = slider.value
        section_truth = None if truth is None else truth[z]
        if section_truth is not None:
            dice = metrics.dice_score(section_truth, foreground_mask(probability[z], threshold))
            scores.value = f"section {z}: <b>Dice</b> {dice:.3f}"
        figure = plotting.slice_figure(volume[z, ..., channel], probability[z], section_truth, threshold, foreground)
        picture.value = plotting.figure_png(figure)

    slider.observe(redraw, names="value")
    return _explorer([slider, scores], picture, redraw, f"Slice explorer at section {slider.value}")


def class_explorer(image, truth, prediction, class_names):
    """Checkboxes that show or hide each class on the image, for the truth and the prediction.

    Returns: An ``HBox`` of one ``Checkbox`` per class, and an ``Image``.
    """
    boxes = [ipywidgets.Checkbox(value=True, description=name, indent=False) for name in class_names]
    picture = ipywidgets.Image(format="png")

    def redraw(change=None):
        figure = plotting.class_figure(image, truth, prediction, class_names, [box.value for box in boxes])
        picture.value = plotting.figure_png(figure)

    for box in boxes:
        box.observe(redraw, names="value")
    return _explorer([ipywidgets.HBox(boxes)], picture, redraw, "Class explorer with every class shown")
