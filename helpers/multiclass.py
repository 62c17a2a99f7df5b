"""From one foreground to K classes: label maps, one-hot masks, weights, per-class scores.

Two ways to store the answer for K classes:

- a **label map**: one whole number per pixel, the class id 0..K-1, shape (..., H, W) or
  (..., H, W, 1). Train with ``keras.losses.SparseCategoricalCrossentropy``;
- a **one-hot mask**: K channels, 1 in the channel of the pixel's class and 0 in the others,
  shape (..., H, W, K). Train with ``keras.losses.CategoricalCrossentropy``.

The network ends with K channels and a softmax, so each pixel gets K probabilities that add
up to 1; ``argmax`` over the channels gives the predicted label map.

Scores are pooled over all pixels of all images, as in :mod:`helpers.metrics`; a class that
is in neither the truth nor the prediction scores 1.0 (nothing to find, nothing found),
never NaN.
"""

import numpy as np

__all__ = [
    "to_one_hot",
    "to_label_map",
    "class_weights",
    "pixel_weights",
    "confusion_matrix",
    "per_class_scores",
    "multiclass_dice_loss",
    "cross_entropy_dice_loss",
    "label_colors",
    "color_labels",
    "show_label_overlays",
    "load_multiclass",
    "bundled_kidney",
    "with_pixel_weights",
    "class_explorer",
]


def _labels(labels, n_classes, name="labels"):
    """Return ``labels`` as an int64 array without a trailing channel axis of 1, checked."""
    if not (isinstance(n_classes, (int, np.integer)) and n_classes >= 2):
        raise ValueError(f"n_classes must be a whole number of at least 2, got {n_classes!r}.")
    labels = np.asarray(labels)
    if labels.ndim >= 3 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if labels.dtype == bool or not np.all(np.mod(labels, 1) == 0):
            raise ValueError(
                f"{name} must hold whole class ids 0..{n_classes - 1}, but holds values of type {labels.dtype}"
                f"{'' if labels.dtype == bool else ' that are not whole numbers'}. Is it a one-hot mask or "
                "probabilities? Use to_label_map() first."
            )
    labels = labels.astype(np.int64)
    outside = (labels < 0) | (labels >= n_classes)
    if np.any(outside):
        bad = np.unique(labels[outside])[:5].tolist()
        raise ValueError(
            f"{name} holds class ids {bad} outside 0..{n_classes - 1} (n_classes={n_classes}). Number the "
            f"classes 0, 1, ..., {n_classes - 1} (e.g. with np.searchsorted on the grey values), or raise n_classes."
        )
    return labels


def to_one_hot(labels, n_classes):
    """Turn a label map into a one-hot mask.

    Parameters
    ----------
    labels : array_like of int
        Class ids 0..n_classes-1, shape (..., H, W) or (..., H, W, 1).
    n_classes : int
        K, the number of classes (>= 2).

    Returns
    -------
    ndarray of float32, shape (..., H, W, K)

    Raises
    ------
    ValueError
        If a label lies outside 0..K-1 or is not a whole number.
    """
    labels = _labels(labels, n_classes)
    return np.eye(n_classes, dtype=np.float32)[labels]


def to_label_map(one_hot_or_probabilities):
    """Return the class with the largest value in each pixel (argmax over the last axis).

    Parameters
    ----------
    one_hot_or_probabilities : array_like, shape (..., K)
        A one-hot mask or the softmax output of a network.

    Returns
    -------
    ndarray of int64, shape (...)
    """
    array = np.asarray(one_hot_or_probabilities)
    if array.ndim < 1 or array.shape[-1] < 2:
        raise ValueError(
            f"Expected K >= 2 channels in the last axis, got shape {array.shape}. A label map is "
            "already what this function returns."
        )
    return np.argmax(array, axis=-1)


def class_weights(labels, n_classes):
    """Weights that make every class count the same in total: ``pixels / (K x pixels of class)``.

    Parameters
    ----------
    labels : array_like of int
        Label maps of the training images.
    n_classes : int

    Returns
    -------
    ndarray of float64, shape (K,)
        A class with no pixel gets weight 0 (there is nothing to weigh). With these weights
        the mean weight over all pixels is 1, so the loss keeps its usual size.
    """
    labels = _labels(labels, n_classes)
    counts = np.bincount(labels.ravel(), minlength=n_classes).astype(np.float64)
    weights = np.zeros(n_classes)
    present = counts > 0
    weights[present] = labels.size / (present.sum() * counts[present])
    return weights


def pixel_weights(labels, weights):
    """One weight per pixel, from the weight of its class: pass as ``sample_weight`` to Keras.

    ``model.fit(class_weight=...)`` does not work for segmentation (it expects one label per
    image); per-pixel ``sample_weight`` does.

    Parameters
    ----------
    labels : array_like of int
        Label maps, shape (N, H, W) or (N, H, W, 1).
    weights : sequence of float, length K

    Returns
    -------
    ndarray of float32, shape (N, H, W)
    """
    weights = np.asarray(weights, dtype=np.float32)
    if weights.ndim != 1 or np.any(weights < 0):
        raise ValueError(f"weights must be one number >= 0 per class, got {weights!r}.")
    return weights[_labels(labels, len(weights))]


def confusion_matrix(truth, prediction, n_classes):
    """Count pixels by (true class, predicted class).

    Parameters
    ----------
    truth, prediction : array_like of int
        Label maps of the same shape (a trailing channel axis of 1 is dropped).
    n_classes : int

    Returns
    -------
    ndarray of int64, shape (K, K)
        Row = true class, column = predicted class (as ``sklearn.metrics.confusion_matrix``).
    """
    truth = _labels(truth, n_classes, "truth")
    prediction = _labels(prediction, n_classes, "prediction")
    if truth.shape != prediction.shape:
        raise ValueError(f"truth and prediction must have the same shape, got {truth.shape} and {prediction.shape}.")
    pairs = truth.ravel() * n_classes + prediction.ravel()
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_scores(truth, prediction, n_classes):
    """IoU and Dice of every class, all pixels pooled.

    Parameters
    ----------
    truth, prediction : array_like of int
        Label maps of the same shape.
    n_classes : int

    Returns
    -------
    dict
        ``{"iou": array (K,), "dice": array (K,)}``. A class absent from both truth and
        prediction scores 1.0. ``keras.metrics.IoU(num_classes=K, target_class_ids=[c],
        sparse_y_true=True, sparse_y_pred=True)`` gives the same IoU for a present class.
    """
    matrix = confusion_matrix(truth, prediction, n_classes).astype(np.float64)
    true_positives = np.diag(matrix)
    false_negatives = matrix.sum(axis=1) - true_positives
    false_positives = matrix.sum(axis=0) - true_positives
    union = true_positives + false_positives + false_negatives
    empty = union == 0
    safe = np.where(empty, 1, union)
    iou = np.where(empty, 1.0, true_positives / safe)
    dice = np.where(empty, 1.0, 2 * true_positives / np.where(empty, 1, union + true_positives))
    return {"iou": iou, "dice": dice}


def multiclass_dice_loss(y_true, y_pred, smooth=1e-7):
    """Soft Dice loss of each class (over all pixels of the batch), averaged over the classes.

    Every class counts the same however few pixels it has. Equals
    ``keras.losses.Dice(axis=(0, 1, 2))`` on one-hot masks of shape (N, H, W, K).

    Parameters
    ----------
    y_true : tensor or array, shape (N, H, W, K)
        One-hot masks.
    y_pred : tensor or array, same shape
        Softmax probabilities.
    smooth : float

    Returns
    -------
    scalar tensor
    """
    from keras import ops

    y_pred = ops.convert_to_tensor(y_pred, dtype="float32")
    y_true = ops.cast(y_true, y_pred.dtype)
    axes = tuple(range(len(y_pred.shape) - 1))
    overlap = ops.sum(y_true * y_pred, axis=axes)
    total = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
    return ops.mean(1.0 - 2.0 * overlap / (total + smooth))


def cross_entropy_dice_loss(n_classes, dice_weight=1.0):
    """Return a training loss for label maps: sparse categorical cross-entropy plus multi-class Dice.

    The other remedy for rare classes, instead of per-pixel class weights: the Dice part
    counts every class the same however few pixels it has, the cross-entropy part keeps
    every pixel's gradient alive. Use it with ``model.compile(loss=...)`` and label maps of
    shape (N, H, W, 1) as the masks.

    Parameters
    ----------
    n_classes : int
    dice_weight : float
        Weight of the Dice part (cross-entropy has weight 1).

    Returns
    -------
    callable
        ``loss(label_maps, softmax_probabilities)`` -> scalar tensor.
    """
    import keras
    from keras import ops

    cross_entropy = keras.losses.SparseCategoricalCrossentropy()

    def cross_entropy_dice(y_true, y_pred):
        class_ids = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:-1]), "int32")
        one_hot = ops.one_hot(class_ids, n_classes, dtype=y_pred.dtype)
        return cross_entropy(y_true, y_pred) + dice_weight * multiclass_dice_loss(one_hot, y_pred)

    return cross_entropy_dice


def label_colors(n_classes):
    """Return K distinct RGB colours in 0..1 (matplotlib's ``tab10``), shape (K, 3)."""
    import matplotlib

    if not 1 <= n_classes <= 10:
        raise ValueError(f"label_colors has colours for 1 to 10 classes, got {n_classes}.")
    return np.asarray(matplotlib.colormaps["tab10"].colors[:n_classes])


def color_labels(labels, n_classes, image=None, alpha=0.5):
    """Paint a label map in colours, optionally blended over a grey image.

    Parameters
    ----------
    labels : array_like of int, shape (H, W) or (H, W, 1)
    n_classes : int
    image : array_like, shape (H, W) or (H, W, 1), optional
        Grey image in [0, 1] to draw under the colours.
    alpha : float
        Weight of the colours over the image.

    Returns
    -------
    ndarray of float64, shape (H, W, 3), values in 0..1
    """
    labels = _labels(labels, n_classes)
    painted = label_colors(n_classes)[labels]
    if image is None:
        return painted
    grey = np.asarray(image, dtype=np.float64)
    if grey.ndim == 3:
        grey = grey[..., 0]
    if grey.shape != labels.shape:
        raise ValueError(f"image has shape {grey.shape} but labels {labels.shape}; they must match.")
    return (1 - alpha) * np.repeat(grey[..., None], 3, axis=-1) + alpha * painted


def show_label_overlays(images, truth, prediction=None, class_names=(), *, show=True):
    """Show each image with its true (and predicted) classes in colour, and a legend.

    Parameters
    ----------
    images : array_like, shape (N, H, W, 1)
    truth : array_like of int, shape (N, H, W) or (N, H, W, 1)
    prediction : array_like of int, same shape, optional
        Without it, two columns: the image and its true classes.
    class_names : sequence of str, one per class
    show : bool
        ``True``: draw and return None; ``False``: return the Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    n_classes = len(class_names)
    if n_classes < 2:
        raise ValueError(f"class_names must name every class (at least 2), got {list(class_names)}.")
    images = np.asarray(images)
    columns = 2 if prediction is None else 3
    figure, axes = plt.subplots(len(images), columns, figsize=(3 * columns, 3 * len(images)), squeeze=False)
    for row, image in enumerate(images):
        pictures = [np.repeat(np.asarray(image, dtype=np.float64)[..., :1], 3, axis=-1),
                    color_labels(truth[row], n_classes, image)]
        if prediction is not None:
            pictures.append(color_labels(prediction[row], n_classes, image))
        for axis, picture, title in zip(axes[row], pictures, ["image", "truth", "prediction"]):
            axis.imshow(np.clip(picture, 0, 1))
            axis.set_title(title)
            axis.axis("off")
    colors = label_colors(n_classes)
    figure.legend(handles=[Patch(color=c, label=n) for c, n in zip(colors, class_names)],
                  loc="lower center", ncol=min(n_classes, 5), frameon=False)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    if show:
        plt.show()
        return None
    return figure


def load_multiclass(mode):
    """Return the images, label maps and class names of notebook 05.

    Parameters
    ----------
    mode : {"smoke", "default"}
        ``"default"``: the Drosophila VNC stack with 5 classes, shrunk 4x to 256x256
        (downloaded once; the bundled set if the download fails, with a message).
        ``"smoke"``: the bundled 4-class kidney look-alike (data/kidney).

    Returns
    -------
    dataset : helpers.data.SegmentationSet
        ``masks`` hold class ids (float32, shape (N, H, W, 1)).
    class_names : tuple of str
    """
    from helpers import data, download
    from helpers.synthetic import KIDNEY_CLASS_NAMES

    if mode == "default":
        try:
            return data.load_drosophila_vnc("classes", downscale=4), data.VNC_CLASS_NAMES
        except download.DatasetUnavailable as error:
            print(data.fallback_message("the Drosophila VNC stack", error, "kidney look-alike (data/kidney)"))
    elif mode != "smoke":
        raise ValueError(f"Unknown mode {mode!r}; use 'smoke' or 'default'.")
    return bundled_kidney(), KIDNEY_CLASS_NAMES


def bundled_kidney():
    """Read data/kidney (made by data/make_kidney_data.py): 4-class label maps, as a SegmentationSet."""
    import skimage.io

    from helpers.course import course_root
    from helpers.data import SegmentationSet

    folder = course_root() / "data" / "kidney"
    names = sorted(path.stem for path in (folder / "images").glob("*.png"))
    if not names:
        raise FileNotFoundError(f"No images in {folder / 'images'}; run python data/make_kidney_data.py.")
    images = np.stack([skimage.io.imread(folder / "images" / f"{n}.png") for n in names]) / 255
    labels = np.stack([_labels(skimage.io.imread(folder / "labels" / f"{n}.png"), 4, f"{n}.png") for n in names])
    return SegmentationSet(images[..., None].astype(np.float32), labels[..., None].astype(np.float32), names,
                           "bundled kidney look-alike (data/kidney): background, stroma, cap mesenchyme, ureteric tree")


def with_pixel_weights(batches, weights):
    """Add one weight per pixel, from its class, to every (images, labels) batch of a tf.data set.

    Parameters
    ----------
    batches : tf.data.Dataset
        Yields ``(images, labels)`` with labels of shape (batch, H, W, 1) holding class ids.
    weights : sequence of float, one per class (e.g. :func:`class_weights`)

    Returns
    -------
    tf.data.Dataset
        Yields ``(images, labels, pixel_weights)``: Keras uses the third as ``sample_weight``.
    """
    import tensorflow as tf

    table = tf.constant(np.asarray(weights, dtype=np.float32))
    return batches.map(lambda images, labels: (images, labels, tf.gather(table, tf.cast(labels[..., 0], tf.int32))))


def class_explorer(image, truth, prediction, class_names):
    """Checkboxes that show or hide each class on the image, for the truth and the prediction.

    Parameters
    ----------
    image : array_like, shape (H, W, 1)
    truth, prediction : array_like of int, shape (H, W) or (H, W, 1)
    class_names : sequence of str

    Returns
    -------
    ipywidgets.VBox
    """
    import io as _io

    import ipywidgets
    from matplotlib.figure import Figure

    n_classes = len(class_names)
    truth, prediction = _labels(truth, n_classes, "truth"), _labels(prediction, n_classes, "prediction")
    grey = np.repeat(np.asarray(image, dtype=np.float64).reshape(truth.shape)[..., None], 3, axis=-1)
    colors = label_colors(n_classes)
    boxes = [ipywidgets.Checkbox(value=True, description=name, indent=False) for name in class_names]
    picture = ipywidgets.Image(format="png")

    def redraw(change=None):
        shown = np.array([box.value for box in boxes])
        figure = Figure(figsize=(7, 3.6), layout="constrained")
        for axis, labels, title in zip(figure.subplots(1, 2), (truth, prediction), ("truth", "prediction")):
            painted = np.where(shown[labels][..., None], 0.5 * grey + 0.5 * colors[labels], grey)
            axis.imshow(np.clip(painted, 0, 1), interpolation="nearest")
            axis.set_title(title)
            axis.axis("off")
        buffer = _io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80)
        picture.value = buffer.getvalue()

    for box in boxes:
        box.observe(redraw, names="value")
    redraw()
    return ipywidgets.VBox([ipywidgets.HBox(boxes), picture])
