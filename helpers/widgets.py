"""Sliders for exploring a trained network's output in the notebook.

The widgets draw with matplotlib into a PNG shown by an ``ipywidgets.Image``: this works
the same in Jupyter, JupyterLab, VS Code and Colab, needs no interactive matplotlib
backend, and never shows a picture twice. Building a widget needs no display, so the
functions can be imported and tested anywhere.
"""

import io

import ipywidgets
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from helpers import metrics, plotting

__all__ = ["threshold_explorer"]


def _render(figure):
    """Return the PNG bytes of a matplotlib figure."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _draw_overlays(image, probability, truth, threshold, foreground):
    """Draw the thresholded prediction (and the true mask, if any) on the image; return PNG bytes."""
    panels = [(plotting.overlay(image, probability >= threshold), f"prediction (≥ {threshold:.2f}) on image")]
    if truth is not None:
        panels.append((plotting.overlay(image, truth), "true mask on image"))
    figure = Figure(figsize=(3.6 * len(panels), 3.8), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (picture, title) in zip(axes, panels):
        ax.imshow(picture, interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    figure.legend(handles=[Patch(color=plotting._legend_color(), label=foreground)],
                  loc="outside lower center", fontsize="small")
    return _render(figure)


def _score_html(truth, prediction):
    """Return the line of scores shown under the slider."""
    if truth is None:
        return "No true mask given, so no Dice or IoU."
    dice = metrics.dice_score(truth, prediction)
    iou = metrics.iou_score(truth, prediction)
    return f"<b>Dice</b> {dice:.3f} &nbsp;&nbsp; <b>IoU</b> {iou:.3f}"


def threshold_explorer(image, probability, truth=None, *, foreground="membrane"):
    """A slider that turns probabilities into a mask at the chosen threshold, and scores it.

    Moving the slider redraws ``probability >= threshold`` on top of the image and, when the
    true mask is given, shows the Dice and IoU of that mask at this threshold.

    Parameters
    ----------
    image : array_like
        One image, (height, width), (height, width, 1) or RGB (height, width, 3).
    probability : array_like
        The network's output for this image, (height, width) or (height, width, 1), values
        between 0 and 1.
    truth : array_like of bool or 0/1, optional
        The true mask, same height and width.
    foreground : str
        What the foreground is, for the legend.

    Returns
    -------
    ipywidgets.VBox
        Its children are, in order: the threshold ``FloatSlider`` (0.05 to 0.95, starting at
        0.5), an ``HTML`` line with the scores, and an ``Image`` with the picture. Display it
        by leaving it as the last line of a cell.

    Raises
    ------
    ValueError
        If the sizes differ, the probabilities lie outside 0..1 or the truth is not 0/1.
    """
    image = plotting._as_picture(image, "image")
    probability = plotting._as_picture(probability, "probability")
    if probability.ndim != 2 or probability.shape != image.shape[:2]:
        raise ValueError(
            f"probability must be one value per pixel of the image, but image has shape {image.shape} "
            f"and probability has shape {probability.shape}."
        )
    probability = metrics._as_probabilities(probability, "probability")
    if truth is not None:
        truth = metrics._as_mask(plotting._as_picture(truth, "truth"), "truth")
        if truth.shape != probability.shape:
            raise ValueError(
                f"truth must have the same height and width as probability, but truth has shape "
                f"{truth.shape} and probability has shape {probability.shape}."
            )

    slider = ipywidgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05, description="threshold",
                                    readout_format=".2f", continuous_update=True)
    scores = ipywidgets.HTML()
    picture = ipywidgets.Image(format="png")

    def redraw(change=None):
        threshold = slider.value
        scores.value = _score_html(truth, probability >= threshold)
        picture.value = _draw_overlays(image, probability, truth, threshold, foreground)

    slider.observe(redraw, names="value")
    redraw()
    return ipywidgets.VBox([slider, scores, picture])
