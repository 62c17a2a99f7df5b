"""Every figure of the course: images with masks and predictions, number grids, training curves, classes and
objects in colour, and the explorers (sliders and checkboxes over a network's output).

Every ``show_*`` function draws a new figure, shows it and returns ``None`` (a returned figure would show twice
in Jupyter); ``show=False`` returns it unshown, to test, save or put on a slide. Masks hold 0 and 1
(1 = foreground), predictions probabilities. An explorer draws PNGs into an ``ipywidgets.Image`` and is shown
once: live where widgets run (Jupyter, VS Code, Colab; ipywidgets 7.7 and 8), elsewhere (GitHub, a PDF) as the
picture of its first position. :func:`show_results` stores a run's key numbers in the notebook's output, where
``benchmarks/quote_results.py`` reads the few that the README quotes.
"""

import base64
import io
import re

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from helpers import metrics
from helpers._checks import as_2d, as_class_ids, as_label_image, as_mask, as_picture, as_probabilities, as_volume
from helpers._checks import foreground as foreground_mask
from helpers.inference import tile_grid
from helpers.label_maps import color_labels, label_colors

__all__ = [
    "show_results",
    "RESULTS_MIMETYPE",
    "figure_png",
    "overlay",
    "show_images",
    "show_grid",
    "show_history",
    "show_label_overlays",
    "color_objects",
    "show_objects",
    "threshold_figure",
    "tile_figure",
    "slice_figure",
    "class_figure",
    "show_errors",
    "show_differences",
    "Explorer",
    "threshold_explorer",
    "tile_explorer",
    "slice_explorer",
    "class_explorer",
]

#: Colour of the foreground in overlays: a light red that stands out on grey images.
OVERLAY_COLOR = (1.0, 0.2, 0.2)
#: How strongly the overlay colour covers the image (0 = invisible, 1 = opaque).
OVERLAY_ALPHA = 0.45
#: The colour an overlay gives a foreground pixel on a mid-grey background, for legends.
LEGEND_COLOR = tuple((1 - OVERLAY_ALPHA) * 0.5 + OVERLAY_ALPHA * np.asarray(OVERLAY_COLOR))
#: Resolution of the figures turned into PNG (widgets, slides): sharp enough, small files.
FIGURE_DPI = 80
#: Mistakes in error maps, in Okabe-Ito colours that every common colour blindness tells apart:
#: false positives (predicted, not true) orange, false negatives (true, missed) blue.
FALSE_POSITIVE_COLOR = (0xE6 / 255, 0x9F / 255, 0x00 / 255)
FALSE_NEGATIVE_COLOR = (0x00 / 255, 0x72 / 255, 0xB2 / 255)
#: The output type that carries a notebook's recorded numbers (a notebook shows only the text).
RESULTS_MIMETYPE = "application/vnd.unet-course.results+json"


def figure_png(figure, dpi=FIGURE_DPI):
    """Return the PNG bytes of a matplotlib figure: the one renderer of widgets and slides."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _finish(fig, show):
    """Apply the display rule of this module: show and return None, or return the figure."""
    if show:
        plt.show()
        return None
    return fig


def _grid(count, ncols, panel_size):
    """A figure of ``count`` panels in rows of ``ncols``; returns (figure, the panels' axes), empty places removed."""
    ncols = min(ncols, count)
    nrows = -(-count // ncols)
    width, height = panel_size
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, layout="constrained")
    for ax in axes.flat[count:]:
        fig.delaxes(ax)
    return fig, axes.flat[:count]


def _grey_or_rgb_to_rgb(image):
    """Return ``image`` as a (height, width, 3) float array with values in 0..1."""
    if image.ndim == 2:
        image = image.astype(np.float64)
        low, high = np.nanmin(image), np.nanmax(image)
        scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
        return np.repeat(scaled[..., None], 3, axis=-1)
    if image.dtype == np.uint8:
        return image / 255.0
    image = image.astype(np.float64)
    if image.min() < 0 or image.max() > 1:
        raise ValueError(
            f"An RGB image must be uint8 (0..255) or float between 0 and 1, but this one is "
            f"{image.dtype} ranging from {image.min():g} to {image.max():g}."
        )
    return image


def overlay(image, mask, color=OVERLAY_COLOR, alpha=OVERLAY_ALPHA):
    """Return ``image`` as RGB with the pixels of ``mask`` tinted: ``(1 - alpha) * image + alpha * color``.

    A grey image is stretched from its minimum (black) to its maximum (white), as ``plt.imshow``
    shows it; an RGB image must be uint8 or floats between 0 and 1.
    """
    picture = as_picture(image, "image")
    mask = as_mask(as_picture(mask, "mask"), "mask")
    if mask.ndim != 2 or mask.shape != picture.shape[:2]:
        raise ValueError(
            f"image and mask must have the same height and width, but image has shape "
            f"{np.shape(image)} and mask has shape {np.shape(mask)}."
        )
    color = np.asarray(color, dtype=np.float64)
    if color.shape != (3,) or color.min() < 0 or color.max() > 1:
        raise ValueError(f"color must be 3 numbers (red, green, blue) between 0 and 1, got {color.tolist()}.")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}.")
    rgb = _grey_or_rgb_to_rgb(picture).copy()
    rgb[mask] = (1 - alpha) * rgb[mask] + alpha * color
    return rgb


def _as_list_of_pictures(batch, name, count=None):
    """Split a batch (N, H, W[, C]) or a list of images into single images; ``count``: how many there must be."""
    if batch is None:
        return None
    if isinstance(batch, np.ndarray) or hasattr(batch, "shape"):
        batch = np.asarray(batch)
        if batch.ndim not in (3, 4):
            raise ValueError(
                f"{name} must be a batch of shape (images, height, width) or (images, height, width, "
                f"channels), or a list of images, but it has shape {batch.shape}. For a single image, pass [image]."
            )
    if count is not None and len(batch) != count:
        raise ValueError(f"Got {count} images but {len(batch)} {name}; give one per image.")
    return [as_picture(item, f"{name}[{index}]") for index, item in enumerate(batch)]


def show_images(
    images, masks=None, predictions=None, titles=None, *, threshold=0.5, max_rows=6, foreground="membrane", show=True
):
    """Show images side by side with their true masks and predictions, one row per image.

    The columns: image | true mask | predicted probability (with a colour bar) | overlay, which tints the
    thresholded prediction (``probability >= threshold``), or the true mask when no prediction is given, on the
    image. Columns without data are left out.

    ``predictions``: Predicted probabilities (0..1), one per image, e.g. the output of ``model.predict``.
    ``foreground``: What the foreground is, for the overlay's legend, e.g. "membrane" or "nucleus".
    """
    images = _as_list_of_pictures(images, "images")
    if not images:
        raise ValueError("images is empty; there is nothing to show.")
    masks = _as_list_of_pictures(masks, "masks", len(images))
    predictions = _as_list_of_pictures(predictions, "predictions", len(images))
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(titles)} titles; give one per image.")
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}.")
    probability = {"cmap": "gray", "vmin": 0, "vmax": 1}
    columns = ["image"] + ["true mask"] * (masks is not None)
    if predictions is not None:
        columns += ["predicted probability", f"prediction (≥ {threshold:g}) on image"]
    elif masks is not None:
        columns.append("true mask on image")
    count = min(len(images), max_rows)
    fig, axes = plt.subplots(
        count, len(columns), figsize=(2.6 * len(columns), 2.6 * count), squeeze=False, layout="constrained"
    )
    for row in range(count):
        panels = [(images[row], {"cmap": "gray"} if images[row].ndim == 2 else {})]
        if masks is not None:
            panels.append((as_mask(masks[row], f"masks[{row}]"), probability))
        if predictions is not None:
            chance = as_probabilities(predictions[row], f"predictions[{row}]")
            panels += [(chance, probability), (overlay(images[row], foreground_mask(chance, threshold)), {})]
        elif masks is not None:
            panels.append((overlay(images[row], masks[row]), {}))
        for ax, (picture, style) in zip(axes[row], panels):
            ax.imshow(picture, interpolation="nearest", **style)
            ax.axis("off")
        if titles is not None:
            axes[row, 0].text(
                -0.04, 0.5, str(titles[row]), transform=axes[row, 0].transAxes, rotation=90, ha="right", va="center"
            )
    for ax, column in zip(axes[0], columns):
        ax.set_title(column)
    if predictions is not None:  # one colour bar for the probability column: 0 black, 1 white
        column = columns.index("predicted probability")
        fig.colorbar(axes[0, column].images[0], ax=axes[:, column], shrink=0.8, ticks=[0, 0.5, 1], label="probability")
    if len(columns) > 1 and columns[-1].endswith("on image"):
        kind = "predicted" if predictions is not None else "true"
        legend = [Patch(color=LEGEND_COLOR, label=f"{kind} {foreground}")]
        axes[0, -1].legend(handles=legend, loc="upper right", fontsize="small", framealpha=0.8)
    return _finish(fig, show)


def show_grid(arrays, titles, *, ncols=4, cmap="gray", value_labels=False, show=True):
    """Show small 2-D arrays side by side, optionally with the number written in each cell.

    Made for the convolution and pooling examples: with ``value_labels=True`` a 4x4 image, a 3x3 kernel and
    their 2x2 result can be checked by hand. Axes of size 1 (Keras's (1, H, W, 1)) are dropped; each panel is
    scaled from its own minimum to its maximum.
    """
    if len(arrays) != len(titles) or not len(arrays):
        raise ValueError(f"Got {len(arrays)} arrays but {len(titles)} titles; give one title per array.")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}.")
    pictures = [as_picture(array, f"arrays[{index}]") for index, array in enumerate(arrays)]
    for index, picture in enumerate(pictures):
        if picture.ndim != 2:
            raise ValueError(f"arrays[{index}] must be 2-D, but it has shape {np.shape(arrays[index])}.")
    fig, axes = _grid(len(pictures), ncols, (2.6, 2.6))
    for ax, picture, title in zip(axes, pictures, titles):
        image = ax.imshow(picture, cmap=cmap, interpolation="nearest")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        for (row, column), value in np.ndenumerate(picture if value_labels else []):
            dark = np.mean(image.cmap(image.norm(value))[:3]) <= 0.5  # light text on dark cells
            label = f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"
            ax.text(column, row, label, ha="center", va="center", color="white" if dark else "black")
    return _finish(fig, show)


def _history_dict(history):
    """Return ``{name: list of floats}`` from a Keras History, a dict of lists or CSV rows."""
    history = getattr(history, "history", history)  # keras.callbacks.History keeps the values in .history
    if isinstance(history, (list, tuple)):  # rows, e.g. from csv.DictReader
        if not all(hasattr(row, "keys") for row in history):
            raise ValueError("history given as a list must be a list of rows, each a dict {name: value}.")
        history = {name: [row[name] for row in history] for name in (history[0].keys() if history else [])}
    if not hasattr(history, "keys"):
        raise ValueError(
            f"history must be what model.fit returns, a dict {{name: list of values}} or a list of "
            f"rows, but got {type(history).__name__}."
        )
    return {name: [float(value) for value in history[name]] for name in history.keys()}


def show_history(history, metrics=("loss",), *, show=True):
    """Plot training curves: one panel per metric (e.g. ``("loss", "dice")``), training and validation per epoch.

    ``history``: What ``model.fit`` returns, its ``.history`` dict, or the rows of a ``CSVLogger`` file.
    """
    values = _history_dict(history)
    metrics = (metrics,) if isinstance(metrics, str) else metrics
    missing = [name for name in metrics if name not in values]
    if missing:
        available = sorted(name for name in values if not name.startswith("val_") and name != "epoch")
        raise ValueError(f"{', '.join(missing)} not in the history; it holds {', '.join(available) or 'nothing'}.")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], metrics):
        for key, label in ((name, "training"), (f"val_{name}", "validation")):
            if key in values:
                epochs = np.arange(1, len(values[key]) + 1)
                ax.plot(epochs, values[key], marker="o" if len(epochs) < 30 else None, label=label)
        ax.set(title=name, xlabel="epoch", ylabel=name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    return _finish(fig, show)


# --- K classes (notebook 05) and objects (notebook 07) ---------------------------------------------------


def show_label_overlays(images, truth, prediction=None, class_names=(), *, show=True):
    """Show each image with its true (and, if given, predicted) classes in colour, and a legend."""
    n_classes = len(class_names)
    if n_classes < 2:
        raise ValueError(f"class_names must name every class (at least 2), got {list(class_names)}.")
    images = list(images)  # images may differ in size
    columns = 2 if prediction is None else 3
    figure, axes = plt.subplots(len(images), columns, figsize=(3 * columns, 3 * len(images)), squeeze=False)
    for row, image in enumerate(images):
        pictures = [np.repeat(np.asarray(image, dtype=np.float64)[..., :1], 3, axis=-1)]
        pictures += [color_labels(labels[row], n_classes, image) for labels in (truth, prediction)[: columns - 1]]
        for axis, picture, title in zip(axes[row], pictures, ["image", "truth", "prediction"]):
            axis.imshow(np.clip(picture, 0, 1))
            axis.set_title(title)
            axis.axis("off")
    legend = [Patch(color=c, label=n) for c, n in zip(label_colors(n_classes), class_names)]
    figure.legend(handles=legend, loc="lower center", ncol=min(n_classes, 5), frameon=False)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(figure, show)


def color_objects(labels, image=None):
    """Return an RGB picture with one colour per object (over the grey ``image`` in [0, 1], if given)."""
    import skimage.color

    labels = as_label_image(labels, "labels")
    grey = None if image is None else as_2d(image, "image")
    return skimage.color.label2rgb(labels, image=grey, bg_label=0, alpha=1.0 if grey is None else 0.35, image_alpha=1)


def show_objects(image, label_images, titles, *, show=True):
    """Show an image, then each label image in colour over it, with its object count in the title."""
    if len(label_images) != len(titles):
        raise ValueError(f"Got {len(label_images)} label images but {len(titles)} titles; give one title each.")
    grey = as_2d(image, "image")
    fig, axes = plt.subplots(1, len(label_images) + 1, figsize=(3.2 * (len(label_images) + 1), 3.4))
    axes[0].imshow(grey, cmap="gray")
    axes[0].set_title("image")
    for ax, labels, title in zip(axes[1:], label_images, titles):
        labels = as_label_image(labels, "label_images")
        ax.imshow(color_objects(labels, grey))
        ax.set_title(f"{title}: {len(np.unique(labels[labels > 0]))} objects")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return _finish(fig, show)


def error_overlay(image, truth, prediction):
    """Paint a prediction's mistakes opaque on the grey image (0..1): false positives orange, false negatives blue."""
    truth = as_mask(as_picture(truth, "truth"), "truth").astype(bool)
    prediction = as_mask(as_picture(prediction, "prediction"), "prediction").astype(bool)
    if truth.shape != prediction.shape:
        raise ValueError(f"truth has shape {truth.shape} but prediction {prediction.shape}; give masks of one image.")
    rgb = _grey_or_rgb_to_rgb(as_picture(image, "image"))
    if rgb.shape[:2] != truth.shape:
        raise ValueError(f"image is {rgb.shape[:2]} pixels but the masks {truth.shape}; give the image of the masks.")
    grey = np.repeat(rgb.mean(axis=-1, keepdims=True), 3, axis=-1)
    grey[prediction & ~truth] = FALSE_POSITIVE_COLOR
    grey[truth & ~prediction] = FALSE_NEGATIVE_COLOR
    return grey


def show_errors(images, truth, probabilities, threshold=0.5, *, max_rows=3, foreground="membrane", show=True):
    """Show where a segmentation is wrong (``probability >= threshold``): false positives orange, false negatives blue.

    ``probabilities``: Predicted probabilities (or 0/1 masks), one per image.
    """
    images = _as_list_of_pictures(images, "images")
    truth = _as_list_of_pictures(truth, "masks", len(images))
    probabilities = _as_list_of_pictures(probabilities, "predictions", len(images))
    fig, axes = _grid(min(len(images), max_rows), max_rows, (3.6, 3.9))
    for ax, image, mask, probability in zip(axes, images, truth, probabilities):
        ax.imshow(error_overlay(image, mask, foreground_mask(probability, threshold)), interpolation="nearest")
        ax.axis("off")
    legend = [
        Patch(color=FALSE_POSITIVE_COLOR, label=f"false positive (predicted {foreground}, is not)"),
        Patch(color=FALSE_NEGATIVE_COLOR, label=f"false negative (true {foreground}, missed)"),
    ]
    fig.legend(handles=legend, loc="outside lower center", ncols=2, fontsize="small")
    return _finish(fig, show)


def show_differences(differences, titles, *, ncols=3, cmap="PuOr_r", show=True):
    """Show signed differences (e.g. tiled minus whole-image prediction) on one shared, symmetric scale.

    0 stays white, positive one colour and negative the other ("PuOr_r", colour-blind safe); all panels share one
    scale and one colour bar, so a panel that looks pale really differs less.
    """
    if len(differences) != len(titles) or not len(differences):
        raise ValueError(f"Got {len(differences)} arrays and {len(titles)} titles; give one title per array.")
    pictures = [np.squeeze(np.asarray(array, dtype=np.float64)) for array in differences]
    for index, picture in enumerate(pictures):
        if picture.ndim != 2:
            raise ValueError(f"differences[{index}] must be 2-D, but it has shape {np.shape(differences[index])}.")
    largest = max(float(np.nanmax(np.abs(picture))) for picture in pictures) or 1.0
    fig, axes = _grid(len(pictures), ncols, (3.4, 3.2))
    for ax, picture, title in zip(axes, pictures, titles):
        drawn = ax.imshow(picture, cmap=cmap, vmin=-largest, vmax=largest, interpolation="nearest")
        ax.set_title(f"{title}\nlargest |difference| {np.nanmax(np.abs(picture)):.2g}", fontsize="small")
        ax.axis("off")
    fig.colorbar(drawn, ax=list(axes), shrink=0.8, label="difference")
    return _finish(fig, show)


def show_results(values, title="Recorded results"):
    """Show a run's key numbers, ``{"unet_dice": number, ...}``; in a notebook also store them (``RESULTS_MIMETYPE``)."""
    bad = [key for key in values if not re.fullmatch(r"[a-z0-9_]+", key)]
    if bad:
        raise ValueError(f"Result keys must be lower case letters, digits and _, like 'unet_dice'; got {bad}.")
    numbers = {key: float(value) for key, value in values.items()}
    width = max(len(key) for key in numbers) + 2
    text = "\n".join([title] + [f"  {key:{width}}{value:.4g}" for key, value in numbers.items()])
    if not _in_notebook():
        print(text)
        return
    from IPython.display import display

    display({"text/plain": text, RESULTS_MIMETYPE: numbers}, raw=True)


def _in_notebook():
    """True inside IPython or Jupyter, False in a plain script or the unit tests."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


# --- The figures of the explorers, one position each (no pyplot: they are turned into PNGs) ---------------


def _panels(panels, figsize, legend=None):
    """Draw (picture, title, imshow settings) panels side by side in a new Figure."""
    figure = Figure(figsize=figsize, layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (picture, title, style) in zip(axes, panels):
        ax.imshow(picture, interpolation="nearest", **style)
        ax.set_title(title, fontsize="small")
        ax.axis("off")
    if legend:
        figure.legend(handles=legend, loc="outside lower center", fontsize="small")
    return figure


def threshold_figure(image, probability, truth, threshold, foreground="membrane"):
    """The thresholded prediction (and the true mask, if given) drawn on the image; a Figure."""
    panels = [(overlay(image, foreground_mask(probability, threshold)), f"prediction (≥ {threshold:.2f}) on image", {})]
    if truth is not None:
        panels.append((overlay(image, truth), "true mask on image", {}))
    return _panels(panels, (3.4 * len(panels), 3.6), [Patch(color=LEGEND_COLOR, label=foreground)])


def tile_figure(image, prediction, boxes, index):
    """The tile grid on the image with tile ``index`` highlighted, and the prediction in that tile."""
    figure = Figure(figsize=(8, 4), layout="constrained")
    grid_axes, tile_axes = figure.subplots(1, 2)
    grid_axes.imshow(np.squeeze(image), cmap="gray")
    for number, (top, left, height, width) in enumerate(boxes):
        chosen = number == index
        edge = {"edgecolor": "yellow" if chosen else "cyan", "linewidth": 2.5 if chosen else 0.6}
        grid_axes.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False, **edge))
    top, left, height, width = boxes[index]
    where = f"rows {top}-{top + height - 1}, columns {left}-{left + width - 1}"
    grid_axes.set_title(f"tile {index + 1} of {len(boxes)}: {where}", fontsize="small")
    tile = np.squeeze(prediction)[top : top + height, left : left + width]
    drawn = tile_axes.imshow(tile, cmap="magma", vmin=0, vmax=1)
    tile_axes.set_title("stitched prediction in this tile", fontsize="small")
    figure.colorbar(drawn, ax=tile_axes, shrink=0.8, ticks=[0, 0.5, 1], label="probability")
    grid_axes.axis("off")
    tile_axes.axis("off")
    return figure


def slice_figure(section, probability, truth, threshold, foreground="membrane"):
    """One section of a volume: the image, the thresholded prediction and (if given) the truth on it."""
    predicted = foreground_mask(probability, threshold)
    panels = [(section, "image", {"cmap": "gray"}), (overlay(section, predicted), f"predicted {foreground}", {})]
    if truth is not None:
        panels.append((overlay(section, truth), f"true {foreground}", {}))
    return _panels(panels, (3 * len(panels), 3.3))


def class_figure(image, truth, prediction, class_names, shown):
    """True and predicted classes on a grey image, only the classes where ``shown`` is True."""
    n_classes = len(class_names)
    truth, prediction = as_class_ids(truth, n_classes, "truth"), as_class_ids(prediction, n_classes, "prediction")
    grey = np.repeat(np.asarray(image, dtype=np.float64).reshape(truth.shape)[..., None], 3, axis=-1)
    colors, shown = label_colors(n_classes), np.asarray(shown, bool)
    panels = []
    for labels, title in ((truth, "truth"), (prediction, "prediction")):
        painted = np.where(shown[labels][..., None], 0.5 * grey + 0.5 * colors[labels], grey)
        panels.append((np.clip(painted, 0, 1), title, {}))
    return _panels(panels, (6.4, 3.4))


# --- The explorers: sliders and checkboxes over a trained network's output ---------------------------------


class Explorer(ipywidgets.VBox):
    """An explorer's widget box, shown once: live where widgets run, else as the picture of its first position.

    A notebook gets one output holding both: Jupyter, VS Code and Colab draw the live widget, GitHub, a PDF or
    a saved copy the PNG (``still``) with its one-line ``caption``.
    """

    def __init__(self, children, still, caption):
        super().__init__(children, layout=ipywidgets.Layout(max_width="100%"))
        self.still, self.caption = still, caption

    def _ipython_display_(self):
        from IPython.display import display

        view = {"version_major": 2, "version_minor": 0, "model_id": self.model_id}
        still = base64.b64encode(self.still).decode("ascii")
        display(
            {"text/plain": self.caption, "image/png": still, "application/vnd.jupyter.widget-view+json": view}, raw=True
        )


def _explorer(rows, inputs, redraw, caption):
    """Draw the first position with ``redraw(picture)``, again whenever an input changes; ``rows`` go above."""
    picture = ipywidgets.Image(format="png", layout=ipywidgets.Layout(max_width="100%", height="auto"))
    redraw(picture)
    for widget in inputs:
        widget.observe(lambda change: redraw(picture), names="value")
    return Explorer([*rows, picture], bytes(picture.value), caption)


def _score_html(truth, prediction, bold=("<b>", "</b>"), space=" &nbsp;&nbsp; "):
    """Return the line of scores shown under the threshold slider (plain text with bold=("", ""))."""
    if truth is None:
        return "No true mask given, so no Dice or IoU."
    dice, iou = metrics.dice_score(truth, prediction), metrics.iou_score(truth, prediction)
    return f"{bold[0]}Dice{bold[1]} {dice:.3f}{space}{bold[0]}IoU{bold[1]} {iou:.3f}"


def threshold_explorer(image, probability, truth=None, *, threshold=0.5, foreground="membrane"):
    """A slider that turns probabilities into a mask at the chosen threshold, and scores it.

    ``image``: One image, grey or RGB. ``probability``: The network's output for it, one value in 0..1 per pixel.
    ``truth``: The true mask; with it, the Dice and IoU at each threshold are shown.
    Returns: An :class:`Explorer` of the threshold ``FloatSlider`` (over ``metrics.THRESHOLD_GRID``, the grid
    ``choose_threshold`` searches, starting at ``threshold``), an ``HTML`` line with the scores, and an ``Image``.
    """
    image, probability = as_picture(image, "image"), as_picture(probability, "probability")
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
                f"truth has shape {truth.shape} but probability {probability.shape}; give this image's mask."
            )
    grid = metrics.THRESHOLD_GRID
    slider = ipywidgets.FloatSlider(value=threshold, min=grid[0], max=grid[-1], step=0.01, description="threshold")
    scores = ipywidgets.HTML()

    def redraw(picture):
        scores.value = _score_html(truth, foreground_mask(probability, slider.value))
        picture.value = figure_png(threshold_figure(image, probability, truth, slider.value, foreground))

    first = _score_html(truth, foreground_mask(probability, slider.value), bold=("", ""), space=", ")
    return _explorer([slider, scores], [slider], redraw, f"Threshold explorer at {slider.value:.2f}: {first}")


def tile_explorer(image, prediction, tile=256, overlap=64, blending="gaussian"):
    """A slider "tile" that walks through the tiles of :func:`helpers.inference.predict_tiled` with ``tile, overlap,
    blending``: the grid over the image, and the prediction in one tile. Returns: An :class:`Explorer`."""
    image = np.asarray(image, dtype=np.float32)
    if np.squeeze(prediction).shape != image.shape[:2]:
        raise ValueError(f"prediction {np.shape(prediction)} must have the image's height and width {image.shape[:2]}.")
    boxes = tile_grid(image.shape[0], image.shape[1], tile, overlap, blending)
    slider = ipywidgets.IntSlider(value=1, min=1, max=len(boxes), description="tile")

    def redraw(picture):
        picture.value = figure_png(tile_figure(image, prediction, boxes, slider.value - 1))

    return _explorer([slider], [slider], redraw, f"Tile explorer at tile 1 of {len(boxes)}")


def slice_explorer(volume, probability, truth=None, *, threshold=0.5, channel=0, foreground="membrane"):
    """A z slider that walks through a volume, drawing prediction and truth over each section.

    ``probability``: The prediction for the volume (e.g. from :func:`helpers.inference.predict_volume`).
    ``threshold``: Probabilities at or above it are drawn as foreground. ``channel``: The channel shown in grey.
    Returns: An :class:`Explorer` of an ``IntSlider`` "section" (0 .. D-1, starting in the middle), an ``HTML``
    line with the Dice of that section, and an ``Image``.
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

    def redraw(picture):
        z = slider.value
        section_truth = None if truth is None else truth[z]
        if section_truth is not None:
            dice = metrics.dice_score(section_truth, foreground_mask(probability[z], threshold))
            scores.value = f"section {z}: <b>Dice</b> {dice:.3f}"
        section = volume[z, ..., channel]
        picture.value = figure_png(slice_figure(section, probability[z], section_truth, threshold, foreground))

    return _explorer([slider, scores], [slider], redraw, f"Slice explorer at section {slider.value}")


def class_explorer(image, truth, prediction, class_names):
    """Checkboxes that show or hide each class on the image, for the truth and the prediction.

    Returns: An :class:`Explorer` of an ``HBox`` of one ``Checkbox`` per class, and an ``Image``.
    """
    boxes = [ipywidgets.Checkbox(value=True, description=name, indent=False) for name in class_names]

    def redraw(picture):
        shown = [box.value for box in boxes]
        picture.value = figure_png(class_figure(image, truth, prediction, class_names, shown))

    return _explorer([ipywidgets.HBox(boxes)], boxes, redraw, "Class explorer with every class shown")
