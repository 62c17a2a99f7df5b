"""The figures of the workshop slides, drawn by the same helpers the notebooks call.

Each ``figure_*`` function returns ``(matplotlib.figure.Figure, facts)``: ``facts`` holds the
numbers the slide states (e.g. the 2x2 result of a convolution), so ``tests/test_slides.py``
can compare them with values worked out by hand, and the slide text can never disagree with
the picture. ``FIGURES`` maps the name used in ``deck.md`` (``![...](figure:NAME)``) to its function.
"""

import numpy as np

#: The small examples, written out so that the slides can quote them (the notebooks' exercises have
#: their own, in helpers.exercises). A 5x5 image with one vertical edge:
EDGE_IMAGE = [[0, 0, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 1, 1, 1]]
#: A vertical-edge detector: responds where dark on the left meets bright on the right.
EDGE_KERNEL = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]
POOLING_IMAGE = [[1, 3, 2, 0], [4, 2, 1, 1], [0, 1, 5, 6], [2, 2, 7, 8]]
TRANSPOSE_INPUT = [[1, 2], [3, 0]]
TRANSPOSE_KERNEL = [[1, 1], [1, 0]]
PADDING_IMAGE = np.arange(1, 17).reshape(4, 4).tolist()
#: A 4x4 truth and a prediction that finds its 4 pixels plus 2 wrong ones.
TRUTH = [[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
PREDICTION = [[0, 1, 1, 1], [0, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]]


def _layers():
    """``keras.layers``, imported only when a figure needs it (importing Keras takes seconds)."""
    import keras

    return keras.layers


def figure_convolution():
    """A 3x3 edge kernel run by ``Conv2D`` over a 5x5 image with one vertical edge."""
    from helpers import models, plotting

    layers = _layers()
    result = models.run_layer(layers.Conv2D(1, 3, use_bias=False), EDGE_IMAGE, kernel=EDGE_KERNEL)
    fig = plotting.show_grid(
        [EDGE_IMAGE, EDGE_KERNEL, result], ["image 5x5", "kernel 3x3", "output 3x3"], value_labels=True, show=False
    )
    return fig, {"output": result.round(3).tolist()}


def figure_max_pooling():
    """``MaxPooling2D(2)``: each 2x2 window of a 4x4 image gives its largest value."""
    from helpers import models, plotting

    layers = _layers()
    result = models.run_layer(layers.MaxPooling2D(2), POOLING_IMAGE)
    average = models.run_layer(layers.AveragePooling2D(2), POOLING_IMAGE)
    fig = plotting.show_grid(
        [POOLING_IMAGE, result, average],
        ["input 4x4", "max pooling 2x2", "average pooling"],
        value_labels=True,
        show=False,
    )
    return fig, {"max": result.tolist(), "average": average.tolist()}


def figure_transpose_convolution():
    """``Conv2DTranspose`` with a 2x2 kernel and stride 2: each pixel stamps kernel x value."""
    from helpers import models, plotting

    layers = _layers()
    result = models.run_layer(
        layers.Conv2DTranspose(1, 2, strides=2, use_bias=False), TRANSPOSE_INPUT, kernel=TRANSPOSE_KERNEL
    )
    fig = plotting.show_grid(
        [TRANSPOSE_INPUT, TRANSPOSE_KERNEL, result],
        ["input 2x2", "kernel 2x2", "output 4x4"],
        value_labels=True,
        show=False,
    )
    return fig, {"output": result.tolist()}


def figure_padding():
    """The same 3x3 all-ones kernel on a 4x4 image with ``padding="valid"`` and ``"same"``."""
    from helpers import models, plotting

    layers = _layers()
    ones = np.ones((3, 3))
    valid = models.run_layer(layers.Conv2D(1, 3, padding="valid", use_bias=False), PADDING_IMAGE, kernel=ones)
    same = models.run_layer(layers.Conv2D(1, 3, padding="same", use_bias=False), PADDING_IMAGE, kernel=ones)
    fig = plotting.show_grid(
        [PADDING_IMAGE, valid, same],
        ["input 4x4", 'padding="valid": 2x2', 'padding="same": 4x4'],
        value_labels=True,
        show=False,
    )
    return fig, {"valid": valid.tolist(), "same": same.tolist()}


def figure_skip_connection(seed=3):
    """What pooling loses: an EM-like section pooled by 8 and scaled back up, beside the original."""
    from helpers import models, plotting, synthetic

    layers = _layers()
    image, _ = synthetic.membrane_section(seed, size=128)
    image = image / 255.0
    small = models.run_layer(layers.MaxPooling2D(8), image)
    back = models.run_layer(layers.UpSampling2D(8), small)
    fig = plotting.show_grid(
        [image, small, back],
        ["encoder input 128x128", "after 3 poolings: 16x16", "scaled back up: blurred"],
        ncols=3,
        show=False,
    )
    return fig, {"small_shape": list(small.shape), "back_shape": list(back.shape)}


def unet_levels(input_shape=(256, 256, 1), filters=64, n_poolings=4):
    """The output shape of each level of ``helpers.models.build_unet``, read from the Keras model.

    Returns
    -------
    down : list of tuple
        (height, width, channels) after the convolutions of each level going down, then the bottom.
    up : list of tuple
        The same going up, from the deepest level to the top.
    parameters : int
        The model's number of parameters.
    """
    from helpers import models

    model = models.build_unet(input_shape, filters=filters, n_poolings=n_poolings)
    concatenations = [layer for layer in model.layers if "concatenate" in type(layer).__name__.lower()]
    pools = [layer for layer in model.layers if "pooling" in type(layer).__name__.lower()]
    down = [tuple(layer.input.shape[1:]) for layer in pools]
    bottom = tuple(pools[-1].output.shape[1:3]) + (filters * 2**n_poolings,)
    up = [tuple(layer.output.shape[1:3]) + (layer.output.shape[3] // 2,) for layer in concatenations]
    return down + [bottom], up, model.count_params()


def figure_unet():
    """The U-Net of notebook 01 / seed 001 as boxes, with the shape of every level and the skips."""
    import matplotlib.pyplot as plt

    down, up, parameters = unet_levels()
    depth = len(up)
    fig, ax = plt.subplots(figsize=(11, 5.5), layout="constrained")
    width = 1.6

    def box(x, y, shape, colour):
        ax.add_patch(plt.Rectangle((x, y - 0.35), width, 0.7, color=colour, alpha=0.85))
        ax.text(x + width / 2, y, f"{shape[0]}x{shape[1]}x{shape[2]}", ha="center", va="center", fontsize=10)

    for level, shape in enumerate(down):
        x, y = level * 1.1, depth - level
        box(x, y, shape, "#9ecae1" if level < depth else "#fdae6b")
        if level < depth:
            ax.annotate(
                "",
                xy=(x + 1.1 + 0.2, y - 0.65),
                xytext=(x + 0.4, y - 0.35),
                arrowprops={"arrowstyle": "->", "color": "#d62728"},
            )
    for step, shape in enumerate(up):
        level = depth - 1 - step
        x, y = (2 * depth - level) * 1.1, depth - level
        box(x, y, shape, "#a1d99b")
        ax.annotate(
            "",
            xy=(x, y),
            xytext=(level * 1.1 + width, y),
            arrowprops={"arrowstyle": "->", "color": "grey", "linestyle": "--"},
        )
        ax.annotate(
            "",
            xy=(x + 0.4, y - 0.35),
            xytext=(x - 1.1 + 0.8, y - 0.65 - 0.3),
            arrowprops={"arrowstyle": "->", "color": "#2ca02c"},
        )
    ax.text(
        0,
        -0.6,
        "blue: two 3x3 convolutions + ReLU    red: 2x2 max pooling    green: up-sampling, "
        "3x3 convolution,\nconcatenate with the dashed skip connection, two 3x3 convolutions    "
        f"then a 1x1 convolution + sigmoid.   {parameters:,} parameters",
        fontsize=9,
    )
    ax.set_xlim(-0.2, (2 * depth + 1) * 1.1 + width)
    ax.set_ylim(-1, depth + 0.8)
    ax.axis("off")
    return fig, {"down": down, "up": up, "parameters": parameters}


def figure_semantic_vs_instance(seed=5):
    """One picture, two answers: membrane pixels (semantic) and one label per cell (instance)."""
    import matplotlib.pyplot as plt
    from skimage import measure

    from helpers import synthetic

    image, mask = synthetic.membrane_section(seed, size=128)
    cells = measure.label(mask == 0, connectivity=1)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2), layout="constrained")
    for ax, picture, title, cmap in zip(
        axes,
        [image, mask, cells],
        ["image", "semantic: membrane or not", f"instance: {cells.max()} cells"],
        ["gray", "gray", "tab20"],
    ):
        ax.imshow(picture, cmap=cmap, interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    return fig, {"cells": int(cells.max())}


def figure_augmentation(seed=1, copies=4):
    """One section and its mask changed by ``helpers.pipeline.joint_flip_and_rotate`` with four seeds."""
    import tensorflow as tf

    from helpers import pipeline, plotting, synthetic

    image, mask = synthetic.membrane_section(seed, size=96)
    image = tf.constant(image[..., None] / 255.0, tf.float32)
    mask = tf.constant(mask[..., None] / 255.0, tf.float32)
    images, masks = [image.numpy()], [mask.numpy()]
    for draw in range(copies - 1):
        new_image, new_mask = pipeline.joint_flip_and_rotate(image, mask, tf.constant([seed, draw + 1]))
        images.append(new_image.numpy())
        masks.append(new_mask.numpy())
    titles = ["original"] + [f"seed {draw + 1}" for draw in range(copies - 1)]
    fig = plotting.show_images(np.stack(images), np.stack(masks), titles=titles, show=False)
    # membranes are drawn dark: if a mask moved away from its image, its pixels would not be darker
    gaps = [float(i[m < 0.5].mean() - i[m > 0.5].mean()) for i, m in zip(images, masks)]
    return fig, {"copies": copies, "membrane_darker_by": [round(gap, 3) for gap in gaps]}


def figure_tiles(size=256, tile=128, overlap=32, seed=2):
    """Overlapping 128-pixel tiles on a 256x256 section, as a U-Net would see them."""
    import matplotlib.pyplot as plt

    from helpers import inference, synthetic

    image, _ = synthetic.membrane_section(seed, size=size)
    starts = inference.window_starts(size, tile, tile - overlap)
    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    ax.imshow(image, cmap="gray")
    colours = plt.cm.tab10.colors
    for index, (row, column) in enumerate((r, c) for r in starts for c in starts):
        offset = 2 * (index % 3)
        ax.add_patch(
            plt.Rectangle(
                (column + offset, row + offset),
                tile - 2 * offset,
                tile - 2 * offset,
                fill=False,
                lw=2,
                color=colours[index % 10],
            )
        )
    ax.set_title(f"{len(starts) ** 2} tiles of {tile}x{tile}, overlap {overlap}")
    ax.axis("off")
    return fig, {"starts": starts, "tiles": len(starts) ** 2}


def figure_dice_iou():
    """The 4x4 truth and prediction of the slide, with Dice and IoU from ``helpers.metrics``."""
    from helpers import metrics, plotting

    dice = metrics.dice_score(TRUTH, PREDICTION)
    iou = metrics.iou_score(TRUTH, PREDICTION)
    overlap = np.array(TRUTH) & np.array(PREDICTION)
    fig = plotting.show_grid(
        [TRUTH, PREDICTION, overlap],
        ["truth (4 pixels)", "prediction (6 pixels)", "overlap (4 pixels)"],
        value_labels=True,
        show=False,
    )
    return fig, {"dice": round(float(dice), 3), "iou": round(float(iou), 3)}


def figure_losses():
    """Binary cross-entropy and soft Dice loss of one membrane pixel against the predicted probability."""
    import keras
    import matplotlib.pyplot as plt

    from helpers import losses

    probability = np.linspace(0.02, 0.98, 49, dtype=np.float32)  # probability[24] is 0.5
    bce = np.array([float(keras.losses.binary_crossentropy([[1.0]], [[p]])[0]) for p in probability])
    dice = np.array([float(losses.soft_dice_loss(np.array([[1.0]]), np.array([[p]]))) for p in probability])
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    ax.plot(probability, bce, label="binary cross-entropy  -log(p)")
    ax.plot(probability, dice, label="soft Dice loss  1 - 2p/(1+p)")
    ax.set_xlabel("predicted probability of a true membrane pixel")
    ax.set_ylabel("loss")
    ax.legend()
    at_half = {"bce": round(float(bce[24]), 3), "dice": round(float(dice[24]), 3)}
    return fig, {"probability": float(probability[24]), "at_half": at_half}


FIGURES = {
    "semantic_vs_instance": figure_semantic_vs_instance,
    "convolution": figure_convolution,
    "max_pooling": figure_max_pooling,
    "transpose_convolution": figure_transpose_convolution,
    "padding": figure_padding,
    "skip_connection": figure_skip_connection,
    "unet": figure_unet,
    "augmentation": figure_augmentation,
    "tiles": figure_tiles,
    "dice_iou": figure_dice_iou,
    "losses": figure_losses,
}
