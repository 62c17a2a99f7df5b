"""All the pictures of the course: images with masks and predictions, number grids, training curves,
classes and objects in colour, and the explorers (sliders and checkboxes over a network's output).

Each explorer draws into a PNG in an ``ipywidgets.Image`` (the same in Jupyter, VS Code and Colab,
ipywidgets 7.7 and 8), and in a notebook also shows a plain picture of its first position beside the
widget, which GitHub, a PDF or a saved notebook keep.

Every ``show_*`` function draws a new figure, calls ``plt.show()`` and returns ``None`` (a
returned figure would show twice in Jupyter); ``show=False`` returns the figure instead, unshown,
to test, save or put on a slide. Masks hold 0 and 1 (1 = foreground), predictions probabilities.
:func:`show_results` shows a run's key numbers and stores them in the notebook's output, where
``benchmarks/quote_results.py`` reads the few that the README quotes.
"""

import io

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
    "threshold_explorer",
    "tile_explorer",
    "slice_explorer",
    "class_explorer",
]

#: Colour of the foreground in overlays: a light red that stands out on grey images.
OVERLAY_COLOR = (1.0, 0.2, 0.2)
#: How strongly the overlay colour covers the image (0 = invisible, 1 = opaque).
OVERLAY_ALPHA = 0.45
#: Resolution of the figures turned into PNG (widgets, slides): sharp enough, small files.
FIGURE_DPI = 80


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


def _as_list_of_pictures(batch, name):
    """Split a batch (N, H, W[, C]) or a list of images into a list of single images."""
    if batch is None:
        return None
    if isinstance(batch, np.ndarray) or hasattr(batch, "shape"):
        batch = np.asarray(batch)
        if batch.ndim not in (3, 4):
            raise ValueError(
                f"{name} must be a batch of shape (images, height, width) or (images, height, width, "
                f"channels), or a list of images, but it has shape {batch.shape}. "
                f"For a single image, pass [image]."
            )
    return [as_picture(item, f"{name}[{index}]") for index, item in enumerate(batch)]


def show_images(
    images, masks=None, predictions=None, titles=None, *, threshold=0.5, max_rows=6, foreground="membrane", show=True
):
    """Show images side by side with their true masks and predictions, one row per image.

    The columns are: image | true mask | predicted probability (with a colour bar) | overlay. The overlay tints
    the thresholded prediction (``probability >= threshold``) on the image, or the true
    mask when no prediction is given. Columns without data are left out.

    ``predictions``: Predicted probabilities (0..1), one per image, e.g. the output of ``model.predict``.
    ``threshold``: Probability from which a pixel counts as predicted foreground in the overlay.
    ``foreground``: What the foreground is, for the overlay's legend, e.g. "membrane" or "nucleus".
    """
    images = _as_list_of_pictures(images, "images")
    masks = _as_list_of_pictures(masks, "masks")
    predictions = _as_list_of_pictures(predictions, "predictions")
    for name, values in (("masks", masks), ("predictions", predictions), ("titles", titles)):
        if values is not None and len(values) != len(images):
            raise ValueError(f"Got {len(images)} images but {len(values)} {name}; give one per image.")
    if not images:
        raise ValueError("images is empty; there is nothing to show.")
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}.")
    if predictions is not None:
        for index, prediction in enumerate(predictions):
            if np.nanmin(prediction) < 0 or np.nanmax(prediction) > 1:
                raise ValueError(
                    f"predictions[{index}] must be probabilities between 0 and 1, but range from "
                    f"{np.nanmin(prediction):g} to {np.nanmax(prediction):g}."
                )

    columns = ["image"]
    if masks is not None:
        columns.append("true mask")
    if predictions is not None:
        columns += ["predicted probability", f"prediction (≥ {threshold:g}) on image"]
    elif masks is not None:
        columns.append("true mask on image")

    count = min(len(images), max_rows)
    fig, axes = plt.subplots(
        count, len(columns), figsize=(2.6 * len(columns), 2.6 * count), squeeze=False, layout="constrained"
    )
    for row in range(count):
        panels = [(images[row], _image_style(images[row]))]
        if masks is not None:
            panels.append((as_mask(masks[row], f"masks[{row}]"), {"cmap": "gray", "vmin": 0, "vmax": 1}))
        if predictions is not None:
            panels.append((predictions[row], {"cmap": "gray", "vmin": 0, "vmax": 1}))
            panels.append((overlay(images[row], foreground_mask(predictions[row], threshold)), {}))
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
        axes[0, -1].legend(
            handles=[Patch(color=legend_color(), label=f"{kind} {foreground}")],
            loc="upper right",
            fontsize="small",
            framealpha=0.8,
        )
    return _finish(fig, show)


def _image_style(picture):
    """imshow settings for an image: grey colormap for one channel, as-is for RGB."""
    return {"cmap": "gray"} if picture.ndim == 2 else {}


def legend_color():
    """The colour an overlay gives a foreground pixel on a mid-grey background."""
    return tuple((1 - OVERLAY_ALPHA) * 0.5 + OVERLAY_ALPHA * np.asarray(OVERLAY_COLOR))


def show_grid(arrays, titles, *, ncols=4, cmap="gray", value_labels=False, show=True):
    """Show small 2-D arrays side by side, optionally with the number written in each cell.

    Made for the convolution and pooling examples: with ``value_labels=True`` a 4x4 image,
    a 3x3 kernel and their 2x2 result can be checked by hand.

    ``arrays``: 2-D arrays (axes of size 1 around them, as in Keras's (1, H, W, 1), are dropped).
    ``cmap``: Matplotlib colormap. Each panel is scaled from its own minimum to its maximum.
    """
    if len(arrays) != len(titles):
        raise ValueError(f"Got {len(arrays)} arrays but {len(titles)} titles; give one title per array.")
    if not len(arrays):
        raise ValueError("arrays is empty; there is nothing to show.")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}.")
    pictures = [as_picture(array, f"arrays[{index}]") for index, array in enumerate(arrays)]
    for index, picture in enumerate(pictures):
        if picture.ndim != 2:
            raise ValueError(f"arrays[{index}] must be 2-D, but it has shape {np.shape(arrays[index])}.")
    ncols = min(ncols, len(pictures))
    nrows = -(-len(pictures) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.6 * nrows), squeeze=False, layout="constrained")
    for ax, picture, title in zip(axes.flat, pictures, titles):
        image = ax.imshow(picture, cmap=cmap, interpolation="nearest")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        if value_labels:
            _write_values(ax, picture, image)
    for ax in axes.flat[len(pictures) :]:
        fig.delaxes(ax)
    return _finish(fig, show)


def _write_values(ax, picture, image):
    """Write each value of ``picture`` in its cell, dark on light cells and light on dark ones."""
    for (row, column), value in np.ndenumerate(picture):
        brightness = np.mean(image.cmap(image.norm(value))[:3])
        label = f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"
        ax.text(column, row, label, ha="center", va="center", color="black" if brightness > 0.5 else "white")


def _history_dict(history):
    """Return ``{name: list of floats}`` from a Keras History, a dict of lists or CSV rows."""
    if hasattr(history, "history"):  # keras.callbacks.History
        history = history.history
    if isinstance(history, (list, tuple)):  # rows, e.g. from csv.DictReader
        if not all(hasattr(row, "keys") for row in history):
            raise ValueError("history given as a list must be a list of rows, each a dict {name: value}.")
        names = list(history[0].keys()) if history else []
        history = {name: [row[name] for row in history] for name in names}
    if not hasattr(history, "keys"):
        raise ValueError(
            f"history must be what model.fit returns, a dict {{name: list of values}} or a list of "
            f"rows, but got {type(history).__name__}."
        )
    return {name: [float(value) for value in history[name]] for name in history.keys()}


def show_history(history, metrics=("loss",), *, show=True):
    """Plot training curves: one panel per metric, training and validation values per epoch.

    ``history``: What ``model.fit`` returns; or its ``.history`` dict ``{"loss": [...], "val_loss": [...]}``; or the
    rows of a CSV written by ``keras.callbacks.CSVLogger`` (values may be text).
    ``metrics``: Names to plot, e.g. ``("loss", "dice")``. The validation curve (``"val_" + name``) is added when
    present.
    """
    values = _history_dict(history)
    if isinstance(metrics, str):
        metrics = (metrics,)
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
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    return _finish(fig, show)


# ---------------------------------------------------------------------------------------
# K classes (notebook 05) and objects (notebook 07)
# ---------------------------------------------------------------------------------------


def show_label_overlays(images, truth, prediction=None, class_names=(), *, show=True):
    """Show each image with its true (and predicted) classes in colour, and a legend.

    ``prediction``: Without it, two columns: the image and its true classes.
    """
    n_classes = len(class_names)
    if n_classes < 2:
        raise ValueError(f"class_names must name every class (at least 2), got {list(class_names)}.")
    images = np.asarray(images)
    columns = 2 if prediction is None else 3
    figure, axes = plt.subplots(len(images), columns, figsize=(3 * columns, 3 * len(images)), squeeze=False)
    for row, image in enumerate(images):
        pictures = [
            np.repeat(np.asarray(image, dtype=np.float64)[..., :1], 3, axis=-1),
            color_labels(truth[row], n_classes, image),
        ]
        if prediction is not None:
            pictures.append(color_labels(prediction[row], n_classes, image))
        for axis, picture, title in zip(axes[row], pictures, ["image", "truth", "prediction"]):
            axis.imshow(np.clip(picture, 0, 1))
            axis.set_title(title)
            axis.axis("off")
    colors = label_colors(n_classes)
    figure.legend(
        handles=[Patch(color=c, label=n) for c, n in zip(colors, class_names)],
        loc="lower center",
        ncol=min(n_classes, 5),
        frameon=False,
    )
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(figure, show)


def color_objects(labels, image=None):
    """Return an RGB picture with one colour per object (over the grey image, if given).

    ``image``: Values in [0, 1].
    """
    labels = as_label_image(labels, "labels")
    grey = None if image is None else as_2d(image, "image")
    import skimage.color

    return skimage.color.label2rgb(
        labels, image=grey, bg_label=0, alpha=0.35 if grey is not None else 1.0, image_alpha=1.0
    )


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


# ---------------------------------------------------------------------------------------
# The figures of the explorer widgets (helpers.plotting), one position each
# ---------------------------------------------------------------------------------------


def _panels(panels, figsize, legend=None):
    """Draw (picture, title, imshow settings) panels side by side in a new Figure (no pyplot)."""
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
    legend = [Patch(color=legend_color(), label=foreground)]
    return _panels(panels, (3.6 * len(panels), 3.8), legend)


def tile_figure(image, prediction, boxes, index):
    """The tile grid on the image with tile ``index`` highlighted, and the prediction in that tile."""
    figure = Figure(figsize=(8, 4), layout="constrained")
    left_axes, right_axes = figure.subplots(1, 2)
    left_axes.imshow(np.squeeze(image), cmap="gray")
    for number, (top, left, height, width) in enumerate(boxes):
        left_axes.add_patch(
            Rectangle(
                (left - 0.5, top - 0.5),
                width,
                height,
                fill=False,
                edgecolor="yellow" if number == index else "cyan",
                linewidth=2.5 if number == index else 0.6,
            )
        )
    top, left, height, width = boxes[index]
    left_axes.set_title(
        f"tile {index + 1} of {len(boxes)}: rows {top}-{top + height - 1}, columns {left}-{left + width - 1}",
        fontsize="small",
    )
    drawn = right_axes.imshow(
        np.squeeze(prediction)[top : top + height, left : left + width], cmap="magma", vmin=0, vmax=1
    )
    right_axes.set_title("stitched prediction in this tile", fontsize="small")
    figure.colorbar(drawn, ax=right_axes, shrink=0.8, ticks=[0, 0.5, 1], label="probability")
    for axes in (left_axes, right_axes):
        axes.axis("off")
    return figure


def slice_figure(section, probability, truth, threshold, foreground="membrane"):
    """One section of a volume: the image, the thresholded prediction and (if given) the truth on it."""
    predicted = foreground_mask(probability, threshold)
    panels = [(section, "image", {"cmap": "gray"}), (overlay(section, predicted), f"predicted {foreground}", {})]
    if truth is not None:
        panels.append((overlay(section, truth), f"true {foreground}", {}))
    return _panels(panels, (3.4 * len(panels), 3.6))


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
    return _panels(panels, (7, 3.6))


#: False positives (predicted, not true) in error maps: Okabe-Ito orange, told apart from blue
#: by every common kind of colour blindness.
FALSE_POSITIVE_COLOR = (0xE6 / 255, 0x9F / 255, 0x00 / 255)
#: False negatives (true, missed) in error maps: Okabe-Ito blue.
FALSE_NEGATIVE_COLOR = (0x00 / 255, 0x72 / 255, 0xB2 / 255)


def error_overlay(image, truth, prediction):
    """Paint a prediction's mistakes on the image: false positives orange, false negatives blue.

    Returns the image in grey (values in 0..1), each mistake painted opaque in :data:`FALSE_POSITIVE_COLOR`
    or :data:`FALSE_NEGATIVE_COLOR`, so the colours stay exact.
    """
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
    """Show where a segmentation is wrong: false positives in orange, false negatives in blue.

    ``probabilities``: Predicted probabilities (or 0/1 masks), one per image.
    ``threshold``: A pixel is predicted foreground when its probability is ``>= threshold``.
    """
    images = _as_list_of_pictures(images, "images")
    truth = _as_list_of_pictures(truth, "truth")
    probabilities = _as_list_of_pictures(probabilities, "probabilities")
    if not images or len(truth) != len(images) or len(probabilities) != len(images):
        raise ValueError(
            f"Give one true mask and one prediction per image: got {len(images)} images, {len(truth)} masks "
            f"and {len(probabilities)} predictions."
        )
    count = min(len(images), max_rows)
    fig, axes = plt.subplots(1, count, figsize=(3.6 * count, 3.9), squeeze=False, layout="constrained")
    for ax, image, mask, probability in zip(axes[0], images, truth, probabilities):
        ax.imshow(error_overlay(image, mask, foreground_mask(probability, threshold)), interpolation="nearest")
        ax.axis("off")
    fig.legend(
        handles=[
            Patch(color=FALSE_POSITIVE_COLOR, label=f"false positive (predicted {foreground}, is not)"),
            Patch(color=FALSE_NEGATIVE_COLOR, label=f"false negative (true {foreground}, missed)"),
        ],
        loc="outside lower center",
        ncols=2,
        fontsize="small",
    )
    return _finish(fig, show)


def show_differences(differences, titles, *, ncols=3, cmap="PuOr_r", show=True):
    """Show signed differences (e.g. tiled minus whole-image prediction) on one shared, symmetric scale.

    A diverging colour map keeps 0 white, positive one colour and negative the other; all
    panels share one scale (from -largest to +largest absolute difference) and one colour bar,
    so a panel that looks pale really differs less.

    ``differences``: 2-D arrays (axes of size 1 are dropped).
    ``cmap``: A diverging matplotlib colour map ("PuOr_r": orange and purple, colour-blind safe).
    """
    if len(differences) != len(titles) or not len(differences):
        raise ValueError(f"Got {len(differences)} arrays and {len(titles)} titles; give one title per array.")
    pictures = [np.squeeze(np.asarray(array, dtype=np.float64)) for array in differences]
    for index, picture in enumerate(pictures):
        if picture.ndim != 2:
            raise ValueError(f"differences[{index}] must be 2-D, but it has shape {np.shape(differences[index])}.")
    largest = max(float(np.nanmax(np.abs(picture))) for picture in pictures) or 1.0
    ncols = min(ncols, len(pictures))
    nrows = -(-len(pictures) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 3.2 * nrows), squeeze=False, layout="constrained")
    for ax, picture, title in zip(axes.flat, pictures, titles):
        drawn = ax.imshow(picture, cmap=cmap, vmin=-largest, vmax=largest, interpolation="nearest")
        ax.set_title(f"{title}\nlargest |difference| {np.nanmax(np.abs(picture)):.2g}", fontsize="small")
        ax.axis("off")
    for ax in axes.flat[len(pictures) :]:
        fig.delaxes(ax)
    fig.colorbar(drawn, ax=axes.ravel().tolist(), shrink=0.8, label="difference")
    return _finish(fig, show)


#: The output type that carries a notebook's recorded numbers (a notebook shows only the text).
RESULTS_MIMETYPE = "application/vnd.unet-course.results+json"


def show_results(values, title="Recorded results"):
    """Show a run's key numbers, ``{"unet_dice": number, ...}``; in a notebook also store them (``RESULTS_MIMETYPE``)."""
    import re

    bad = [key for key in values if not re.fullmatch(r"[a-z0-9_]+", key)]
    if bad:
        raise ValueError(f"Result keys must be lower case letters, digits and _, like 'unet_dice'; got {bad}.")
    numbers = {key: float(value) for key, value in values.items()}
    width = max(len(key) for key in numbers) + 2
    text = "\n".join([title] + [f"  {key:{width}}{value:.4g}" for key, value in numbers.items()])
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(text)
        return
    display({"text/plain": text, RESULTS_MIMETYPE: numbers}, raw=True)


# ---- The explorers: sliders and checkboxes over a trained network's output, each with a static picture


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
        figure = threshold_figure(image, probability, truth, threshold, foreground)
        picture.value = figure_png(figure)

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
        figure = tile_figure(picture_array, prediction, boxes, slider.value - 1)
        picture.value = figure_png(figure)

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
        figure = slice_figure(volume[z, ..., channel], probability[z], section_truth, threshold, foreground)
        picture.value = figure_png(figure)

    slider.observe(redraw, names="value")
    return _explorer([slider, scores], picture, redraw, f"Slice explorer at section {slider.value}")


def class_explorer(image, truth, prediction, class_names):
    """Checkboxes that show or hide each class on the image, for the truth and the prediction.

    Returns: An ``HBox`` of one ``Checkbox`` per class, and an ``Image``.
    """
    boxes = [ipywidgets.Checkbox(value=True, description=name, indent=False) for name in class_names]
    picture = ipywidgets.Image(format="png")

    def redraw(change=None):
        figure = class_figure(image, truth, prediction, class_names, [box.value for box in boxes])
        picture.value = figure_png(figure)

    for box in boxes:
        box.observe(redraw, names="value")
    return _explorer([ipywidgets.HBox(boxes)], picture, redraw, "Class explorer with every class shown")
