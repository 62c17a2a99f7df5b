"""A fair comparison of training choices (losses, optimisers): same model, seed and budget.

Each run of :func:`train_and_score` builds the same small U-Net from the same seed, trains
it for the same number of steps on the same random crops, chooses its threshold on the
validation images and scores it once on the test images, which no choice ever saw. Only
the thing being compared changes. :func:`results_table` prints the rows side by side.
"""

import time

import keras

from helpers import metrics, models, pipeline, training

__all__ = ["train_and_score", "results_table", "budget_steps"]


def train_and_score(
    loss,
    images,
    masks,
    split,
    *,
    optimizer="adam",
    learning_rate=1e-3,
    steps=100,
    epochs=4,
    crop_size=128,
    batch_size=4,
    filters=8,
    n_poolings=3,
    seed=0,
):
    """Train one small U-Net with ``loss`` and ``optimizer``, then score it on the test split.

    Parameters
    ----------
    loss : keras loss or callable
        What to train with, e.g. ``helpers.losses.training_loss("dice")``.
    images, masks : ndarray
        ``(N, H, W, 1)`` images in [0, 1] and 0/1 masks.
    split : tuple of three index arrays
        ``(train, validation, test)`` from :func:`helpers.splits.split_consecutive` or
        :func:`helpers.splits.split_indices`.
    optimizer : {"adam", "sgd"}
        Adam, or SGD with Nesterov momentum 0.9.
    learning_rate : float
        Starting learning rate; it falls to 0 along a cosine over the run.
    steps, epochs : int
        ``steps`` training batches in all, shown as ``epochs`` points of the learning curve.
    crop_size, batch_size, filters, n_poolings : int
        Crops, batch and the size of the U-Net (:func:`helpers.models.build_unet`).
    seed : int
        The same seed gives the same initial weights and the same crops for every run.

    Returns
    -------
    dict
        ``threshold`` (chosen on validation), ``dice``, ``iou``, ``precision``, ``recall``
        (on test), ``seconds`` (training time), ``history`` (``keras.callbacks.History``)
        and ``probabilities`` (the test predictions).
    """
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}.")
    if steps < epochs or epochs < 1:
        raise ValueError(f"steps ({steps}) must be at least epochs ({epochs}), and epochs at least 1.")
    train, validation, test = split
    keras.utils.set_random_seed(seed)
    model = models.build_unet(
        input_shape=(None, None, images.shape[-1]), filters=filters, n_poolings=n_poolings, batch_norm=True, dropout=0.0
    )
    steps_per_epoch = steps // epochs
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps_per_epoch * epochs)
    if optimizer == "adam":
        chosen = keras.optimizers.Adam(schedule)
    else:
        chosen = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True)
    model.compile(optimizer=chosen, loss=loss)
    batches = pipeline.training_batches(
        images[train], masks[train], crop_size=crop_size, batch_size=batch_size, seed=seed
    )
    start = time.perf_counter()
    history = model.fit(
        batches,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=(images[validation], masks[validation]),
        verbose=0,
    )
    seconds = time.perf_counter() - start
    validation_probabilities = model.predict(images[validation], batch_size=1, verbose=0)
    threshold, _ = metrics.choose_threshold(masks[validation], validation_probabilities)
    probabilities = model.predict(images[test], batch_size=1, verbose=0)
    scores = metrics.evaluate_segmentation(masks[test], probabilities, threshold)
    return {
        "threshold": threshold,
        "dice": scores["dice"],
        "iou": scores["iou"],
        "precision": scores["precision"],
        "recall": scores["recall"],
        "seconds": seconds,
        "history": history,
        "probabilities": probabilities,
    }


def results_table(results):
    """Return the results of several runs as an aligned text table.

    Parameters
    ----------
    results : dict
        ``{name: result of train_and_score}``.

    Returns
    -------
    str
        One line per run: threshold, Dice, IoU, precision, recall, seconds.
    """
    if not results:
        raise ValueError("results is empty; train at least one model first.")
    width = max(len("run"), *(len(name) for name in results)) + 2
    lines = [f"{'run':{width}}{'threshold':>10}{'Dice':>7}{'IoU':>7}{'precision':>10}{'recall':>8}{'seconds':>9}"]
    for name, result in results.items():
        lines.append(
            f"{name:{width}}{result['threshold']:>10.2f}{result['dice']:>7.3f}{result['iou']:>7.3f}"
            f"{result['precision']:>10.3f}{result['recall']:>8.3f}{result['seconds']:>9.1f}"
        )
    return "\n".join(lines)


def budget_steps(
    minutes,
    n_runs,
    images,
    masks,
    split,
    *,
    epochs=4,
    crop_size=128,
    batch_size=4,
    filters=8,
    n_poolings=3,
    steps=None,
    seed=0,
):
    """How many training steps each of ``n_runs`` runs of :func:`train_and_score` gets in ``minutes`` here.

    Times a few steps (and one validation pass) of the same model on the same crops on this
    machine (:func:`helpers.training.measure_step_seconds`), then shares the budget among the
    runs: a slow CPU trains every model less, a fast CPU or a GPU more, and the comparison
    stays fair (every run gets the same steps). Prints the measurement.

    Parameters
    ----------
    minutes : float
        Time for all the runs together.
    n_runs : int
    images, masks, split, epochs, crop_size, batch_size, filters, n_poolings, seed
        As for :func:`train_and_score` (``steps`` is ignored: it is what this computes).

    Returns
    -------
    int
        Steps per run, a multiple of ``epochs`` and at least ``epochs``.
    """
    train, validation, _ = split
    model = models.build_unet(
        input_shape=(None, None, images.shape[-1]), filters=filters, n_poolings=n_poolings, batch_norm=True, dropout=0.0
    )
    batches = pipeline.training_batches(
        images[train], masks[train], crop_size=crop_size, batch_size=batch_size, seed=seed
    )
    timing = training.measure_step_seconds(
        model, batches, loss="binary_crossentropy", validation_data=(images[validation], masks[validation])
    )
    per_run = minutes * 60 / n_runs - epochs * timing.seconds_per_validation
    steps = max(epochs, int(per_run / timing.seconds_per_step) // epochs * epochs)
    print(
        f"One training step takes {timing.seconds_per_step:.2f} s here (measured), so each of the {n_runs} "
        f"trainings gets {steps} steps to fit {minutes:g} minutes."
    )
    return steps
