"""Pictures for the course: images with masks and predictions, small number grids, training curves.

How the ``show_*`` functions display (one rule for all of them): each draws a new figure,
calls ``plt.show()`` and returns ``None``. In Jupyter, a function that showed its figure
*and* returned it would print the picture twice (once from ``plt.show()``, once as the
cell's value). Pass ``show=False`` to get the ``matplotlib.figure.Figure`` back instead,
without showing it, to test it, save it (``fig.savefig(...)``) or put it on a slide.

Course convention: masks hold 0 and 1 with 1 = foreground (e.g. membrane); predictions
hold probabilities between 0 and 1.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

__all__ = ["overlay", "show_images", "show_grid", "show_history"]

#: Colour of the foreground in overlays: a light red that stands out on grey images.
OVERLAY_COLOR = (1.0, 0.2, 0.2)
#: How strongly the overlay colour covers the image (0 = invisible, 1 = opaque).
OVERLAY_ALPHA = 0.45


def _finish(fig, show):
    """Apply the display rule of this module: show and return None, or return the figure."""
    if show:
        plt.show()
        return None
    return fig


def _as_picture(array, name):
    """Return one image as (height, width) or (height, width, 3), dropping axes of size 1 around it."""
    array = np.asarray(array)
    if array.ndim == 4 and array.shape[0] == 1:  # a Keras batch holding one image
        array = array[0]
    while array.ndim > 2 and array.shape[-1] == 1:  # channel axis of a grey image
        array = array[..., 0]
    if array.ndim == 3 and array.shape[0] == 1 and array.shape[-1] != 3:
        array = array[0]
    if array.ndim == 3 and array.shape[-1] == 3:
        return array
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be one image of shape (height, width), (height, width, 1) or "
            f"(height, width, 3), but it has shape {array.shape}."
        )
    return array


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


def _as_binary(mask, name):
    """Return ``mask`` as bool, or raise if it holds anything but 0 and 1."""
    mask = np.asarray(mask)
    if mask.dtype != bool and not np.all((mask == 0) | (mask == 1)):
        raise ValueError(
            f"{name} must hold only 0 and 1, but it holds values between {mask.min():g} and {mask.max():g}. "
            "Threshold probabilities first, e.g. probabilities >= 0.5."
        )
    return mask.astype(bool)


def overlay(image, mask, color=OVERLAY_COLOR, alpha=OVERLAY_ALPHA):
    """Tint the pixels of ``mask`` on top of ``image``.

    Parameters
    ----------
    image : array_like
        Grey (height, width) or (height, width, 1), or RGB (height, width, 3). A grey image is
        stretched from its minimum (black) to its maximum (white), as ``plt.imshow`` shows it;
        an RGB image must be uint8 or floats between 0 and 1.
    mask : array_like of bool or 0/1
        (height, width) or (height, width, 1); 1 marks the pixels to tint.
    color : tuple of 3 floats
        Red, green, blue between 0 and 1.
    alpha : float
        Between 0 and 1: how much of the colour replaces the image inside the mask.

    Returns
    -------
    ndarray, shape (height, width, 3), float
        Outside the mask the image is unchanged (as RGB); inside, each pixel is
        ``(1 - alpha) * image + alpha * color``. Show it with ``plt.imshow``.

    Raises
    ------
    ValueError
        If the image and the mask differ in height and width, the mask is not 0/1, or
        ``color`` or ``alpha`` are out of range.
    """
    picture = _as_picture(image, "image")
    mask = _as_binary(_as_picture(mask, "mask"), "mask")
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
    return [_as_picture(item, f"{name}[{index}]") for index, item in enumerate(batch)]


def show_images(images, masks=None, predictions=None, titles=None, *, threshold=0.5, max_rows=6,
                foreground="membrane", show=True):
    """Show images side by side with their true masks and predictions, one row per image.

    The columns are: image | true mask | predicted probability | overlay. The overlay tints
    the thresholded prediction (``probability >= threshold``) on the image, or the true
    mask when no prediction is given. Columns without data are left out.

    Parameters
    ----------
    images : array or list
        A batch of shape (N, H, W) or (N, H, W, channels), or a list of images.
    masks : array or list, optional
        True 0/1 masks, one per image.
    predictions : array or list, optional
        Predicted probabilities (0..1), one per image, e.g. the output of ``model.predict``.
    titles : list of str, optional
        One title per image, written on the left of its row.
    threshold : float
        Probability from which a pixel counts as predicted foreground in the overlay.
    max_rows : int
        Show at most this many images (the first ones).
    foreground : str
        What the foreground is, for the overlay's legend, e.g. "membrane" or "nucleus".
    show : bool
        Show the figure and return None (default), or return it without showing.

    Returns
    -------
    None or matplotlib.figure.Figure
        See the module's display rule.

    Raises
    ------
    ValueError
        If masks, predictions or titles do not have one entry per image, a mask is not 0/1
        or a prediction lies outside 0..1.
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
    fig, axes = plt.subplots(count, len(columns), figsize=(2.6 * len(columns), 2.6 * count),
                             squeeze=False, layout="constrained")
    for row in range(count):
        panels = [(images[row], _image_style(images[row]))]
        if masks is not None:
            panels.append((_as_binary(masks[row], f"masks[{row}]"), {"cmap": "gray", "vmin": 0, "vmax": 1}))
        if predictions is not None:
            panels.append((predictions[row], {"cmap": "gray", "vmin": 0, "vmax": 1}))
            panels.append((overlay(images[row], predictions[row] >= threshold), {}))
        elif masks is not None:
            panels.append((overlay(images[row], masks[row]), {}))
        for ax, (picture, style) in zip(axes[row], panels):
            ax.imshow(picture, interpolation="nearest", **style)
            ax.axis("off")
        if titles is not None:
            axes[row, 0].text(-0.04, 0.5, str(titles[row]), transform=axes[row, 0].transAxes,
                              rotation=90, ha="right", va="center")
    for ax, column in zip(axes[0], columns):
        ax.set_title(column)
    if len(columns) > 1 and columns[-1].endswith("on image"):
        kind = "predicted" if predictions is not None else "true"
        axes[0, -1].legend(handles=[Patch(color=_legend_color(), label=f"{kind} {foreground}")],
                           loc="upper right", fontsize="small", framealpha=0.8)
    return _finish(fig, show)


def _image_style(picture):
    """imshow settings for an image: grey colormap for one channel, as-is for RGB."""
    return {"cmap": "gray"} if picture.ndim == 2 else {}


def _legend_color():
    """The colour an overlay gives a foreground pixel on a mid-grey background."""
    return tuple((1 - OVERLAY_ALPHA) * 0.5 + OVERLAY_ALPHA * np.asarray(OVERLAY_COLOR))


def show_grid(arrays, titles, *, ncols=4, cmap="gray", value_labels=False, show=True):
    """Show small 2-D arrays side by side, optionally with the number written in each cell.

    Made for the convolution and pooling examples: with ``value_labels=True`` a 4x4 image,
    a 3x3 kernel and their 2x2 result can be checked by hand.

    Parameters
    ----------
    arrays : list of array_like
        2-D arrays (axes of size 1 around them, as in Keras's (1, H, W, 1), are dropped).
    titles : list of str
        One title per array.
    ncols : int
        Panels per row; fewer if there are fewer arrays.
    cmap : str
        Matplotlib colormap. Each panel is scaled from its own minimum to its maximum.
    value_labels : bool
        Write each cell's value on it.
    show : bool
        Show the figure and return None (default), or return it without showing.

    Returns
    -------
    None or matplotlib.figure.Figure
        See the module's display rule.

    Raises
    ------
    ValueError
        If the numbers of arrays and titles differ, or an array is not 2-D.
    """
    if len(arrays) != len(titles):
        raise ValueError(f"Got {len(arrays)} arrays but {len(titles)} titles; give one title per array.")
    if not len(arrays):
        raise ValueError("arrays is empty; there is nothing to show.")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}.")
    pictures = [_as_picture(array, f"arrays[{index}]") for index, array in enumerate(arrays)]
    for index, picture in enumerate(pictures):
        if picture.ndim != 2:
            raise ValueError(f"arrays[{index}] must be 2-D, but it has shape {np.shape(arrays[index])}.")
    ncols = min(ncols, len(pictures))
    nrows = -(-len(pictures) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.6 * nrows), squeeze=False,
                             layout="constrained")
    for ax, picture, title in zip(axes.flat, pictures, titles):
        image = ax.imshow(picture, cmap=cmap, interpolation="nearest")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        if value_labels:
            _write_values(ax, picture, image)
    for ax in axes.flat[len(pictures):]:
        fig.delaxes(ax)
    return _finish(fig, show)


def _write_values(ax, picture, image):
    """Write each value of ``picture`` in its cell, dark on light cells and light on dark ones."""
    for (row, column), value in np.ndenumerate(picture):
        brightness = np.mean(image.cmap(image.norm(value))[:3])
        label = f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"
        ax.text(column, row, label, ha="center", va="center",
                color="black" if brightness > 0.5 else "white")


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

    Parameters
    ----------
    history : keras.callbacks.History, dict or list of dict
        What ``model.fit`` returns; or its ``.history`` dict ``{"loss": [...], "val_loss": [...]}``;
        or the rows of a CSV written by ``keras.callbacks.CSVLogger`` (values may be text).
    metrics : str or sequence of str
        Names to plot, e.g. ``("loss", "dice")``. The validation curve (``"val_" + name``) is
        added when present.
    show : bool
        Show the figure and return None (default), or return it without showing.

    Returns
    -------
    None or matplotlib.figure.Figure
        See the module's display rule. Epochs are numbered from 1, as Keras prints them.

    Raises
    ------
    ValueError
        If a metric is not in the history (the message lists the ones that are).
    """
    values = _history_dict(history)
    if isinstance(metrics, str):
        metrics = (metrics,)
    missing = [name for name in metrics if name not in values]
    if missing:
        available = sorted(name for name in values if not name.startswith("val_") and name != "epoch")
        raise ValueError(f"{', '.join(missing)} not in the history; it holds {', '.join(available) or 'nothing'}.")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False,
                             layout="constrained")
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
