"""A fair comparison of training choices (losses, optimisers): same model, seed, crops and steps.

Each run chooses its threshold on the validation images and scores the test images once. One run
is one sample: :func:`train_and_score_seeds` repeats it with several seeds, :func:`spread_table`
shows the spread.
"""

import time

import keras
import numpy as np

from helpers import metrics, models, pipeline, training

__all__ = [
    "train_and_score",
    "train_and_score_seeds",
    "seed_spread",
    "spread_table",
    "separated_pairs",
    "THRESHOLDS",
    "add_training_images",
    "RUN_SETTINGS",
    "budget_steps",
]


#: Thresholds tried on the validation images: the course's grid (0.01-0.99) and finer steps towards 0
#: and 1, where weighted and overlap losses, whose probabilities are not calibrated, put their best cut.
THRESHOLDS = np.unique(np.concatenate([[0.001, 0.003, 0.005], metrics.THRESHOLD_GRID, [0.995, 0.997, 0.999]]))


#: The settings of every run, unless given: optimizer "adam" or "sgd" (Nesterov momentum 0.9), its starting
#: learning rate (falling to 0 along a cosine), ``steps`` batches in all as ``epochs`` points of the
#: learning curve, the crops, the U-Net (batch normalisation, no dropout) and ``augment`` (as ``training_batches``).
RUN_SETTINGS = {"optimizer": "adam", "learning_rate": 1e-3, "steps": 100, "epochs": 4, "augment": True}
RUN_SETTINGS.update(crop_size=128, batch_size=4, filters=8, n_poolings=3)


def _settings(settings):
    """Return :data:`RUN_SETTINGS` updated with ``settings``; refuse names it does not know and impossible values."""
    unknown = sorted(set(settings) - set(RUN_SETTINGS))
    if unknown:
        raise ValueError(f"Unknown setting(s) {unknown}; use {sorted(RUN_SETTINGS)} (or seed / seeds).")
    settings = {**RUN_SETTINGS, **settings}
    if settings["optimizer"] not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {settings['optimizer']!r}.")
    if settings["steps"] < settings["epochs"] or settings["epochs"] < 1:
        raise ValueError(
            f"steps ({settings['steps']}) must be at least epochs ({settings['epochs']}), epochs at least 1."
        )
    return settings


def train_and_score(loss, images, masks, split, *, seed=0, **settings):
    """Train one small U-Net with ``loss`` from ``seed``, then score it on the test split.

    ``split``: (train, validation, test); ``**settings``: as :data:`RUN_SETTINGS`. Returns ``seed``,
    ``threshold`` (chosen on validation), ``dice``, ``iou``, ``precision``, ``recall`` (on test),
    ``seconds``, ``history`` and ``probabilities`` (the test predictions).
    """
    if "seeds" in settings:
        raise ValueError("Give one seed with seed=...; for several, use train_and_score_seeds(seeds=...).")
    return train_and_score_seeds(loss, images, masks, split, seeds=(seed,), **settings)[0]


def train_and_score_seeds(loss, images, masks, split, *, seeds=(0, 1, 2), label=None, **settings):
    """Train and score the same choice once per seed (:func:`train_and_score`'s result each).

    The model is compiled once (its first step costs seconds on a CPU); each seed restarts it with the
    weights a new U-Net from that seed has and a fresh optimizer state. ``label``: print a line per training.
    """
    seeds, settings = [int(seed) for seed in seeds], _settings(settings)
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed, e.g. seeds=(0, 1, 2).")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds {seeds} repeat a seed; a repeated seed only repeats the same training.")
    train, validation, _ = split
    steps_per_epoch = settings["steps"] // settings["epochs"]
    model = _unet(images.shape[-1], settings)
    schedule = keras.optimizers.schedules.CosineDecay(
        settings["learning_rate"], decay_steps=steps_per_epoch * settings["epochs"]
    )
    if settings["optimizer"] == "adam":
        chosen = keras.optimizers.Adam(schedule)
    else:
        chosen = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True)
    model.compile(optimizer=chosen, loss=loss)
    chosen.build(model.trainable_variables)  # its moments, so that their start can be restored
    optimizer_start = [variable.numpy() for variable in chosen.variables]
    fit_settings = {"epochs": settings["epochs"], "steps_per_epoch": steps_per_epoch, "verbose": 0}
    runs = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)  # the starting weights of a new U-Net built from this seed
        model.set_weights(_unet(images.shape[-1], settings).get_weights())
        for variable, value in zip(chosen.variables, optimizer_start):
            variable.assign(value)
        start = time.perf_counter()
        batches = _batches(images, masks, train, settings, seed)
        history = model.fit(batches, validation_data=(images[validation], masks[validation]), **fit_settings)
        seconds = time.perf_counter() - start
        runs.append(_score(model, images, masks, split, seed, seconds, history))
        if label is not None:
            print(f"{label}: seed {seed}, trained in {seconds:.0f} s", flush=True)
    return runs


def _batches(images, masks, train, settings, seed):
    return pipeline.training_batches(
        images[train], masks[train], settings["crop_size"], settings["batch_size"], settings["augment"], seed
    )


def _unet(channels, settings):
    return models.build_unet(
        (None, None, channels), settings["filters"], settings["n_poolings"], dropout=0.0, batch_norm=True
    )


def _score(model, images, masks, split, seed, seconds, history):
    """Choose the threshold on the validation images, then score the test images once."""
    _, validation, test = split
    validation_probabilities = model.predict(images[validation], batch_size=1, verbose=0)
    threshold, _ = metrics.choose_threshold(masks[validation], validation_probabilities, THRESHOLDS)
    probabilities = model.predict(images[test], batch_size=1, verbose=0)
    scores = metrics.evaluate_segmentation(masks[test], probabilities, threshold)
    scores = {name: scores[name] for name in ("dice", "iou", "precision", "recall")}
    return dict(seed=seed, threshold=threshold, **scores, seconds=seconds, history=history, probabilities=probabilities)


def budget_steps(minutes, n_choices, images, masks, split, *, n_seeds=1, seed=0, **settings):
    """Return the training steps each of ``n_choices`` x ``n_seeds`` runs gets in ``minutes`` here; print why.

    Times a few steps here (:func:`helpers.training.measure_step_seconds`) and shares the budget: every
    run gets the same steps. ``**settings``: as :data:`RUN_SETTINGS` (``steps`` is what this decides).
    """
    settings = _settings({**settings, "steps": settings.get("epochs", RUN_SETTINGS["epochs"])})  # steps: decided here
    train, validation, _ = split
    timing = training.measure_step_seconds(
        _unet(images.shape[-1], settings),
        _batches(images, masks, train, settings, seed),
        loss="binary_crossentropy",
        validation_data=(images[validation], masks[validation]),
    )
    steps = steps_for_minutes(minutes, n_choices, timing, settings["epochs"], n_seeds=n_seeds)
    runs = f"{n_choices * n_seeds} trainings" + (f" ({n_choices} choices x {n_seeds} seeds)" if n_seeds > 1 else "")
    print(f"{training.describe_timing(timing)}, so each of the {runs} gets {steps} steps to fit {minutes:g} minutes.")
    return steps


def steps_for_minutes(minutes, n_choices, timing, epochs, *, n_seeds=1):
    """Training steps per run (a multiple of ``epochs``) when ``n_choices`` x ``n_seeds`` runs share ``minutes``.

    Each choice pays one start; each run one validation pass per epoch and two prediction passes
    (``tests/test_comparison.py`` works examples by hand).
    """
    seconds_per_run = (minutes * 60 - n_choices * timing.seconds_to_start) / (n_choices * n_seeds)
    per_run = seconds_per_run - (epochs + 2) * timing.seconds_per_validation
    return max(epochs, int(per_run / timing.seconds_per_step) // epochs * epochs)


def seed_spread(runs, score="dice"):
    """Return ``mean``, ``min``, ``max`` and ``n`` of one ``score`` over the runs of :func:`train_and_score_seeds`."""
    if not runs:
        raise ValueError("runs is empty; train at least one model first.")
    if score not in runs[0]:
        raise ValueError(f"score {score!r} is not in the results; use one of dice, iou, precision, recall, threshold.")
    values = np.array([run[score] for run in runs], dtype=np.float64)
    return {"mean": float(values.mean()), "min": float(values.min()), "max": float(values.max()), "n": len(values)}


def _last(run, key):
    values = run["history"].history.get(key)
    return float(values[-1]) if values else float("nan")


def spread_table(arms):
    """Return ``{name: results of train_and_score_seeds}`` as a table: mean losses, IoU, Dice and its spread."""
    if not arms:
        raise ValueError("arms is empty; train at least one model first.")
    width = max(len("run"), *(len(name) for name in arms)) + 2
    lines = [
        f"{'run':{width}}{'seeds':>6}{'train loss':>11}{'val loss':>9}{'IoU':>7}{'Dice mean':>10}{'Dice min-max':>14}"
    ]
    for name, runs in arms.items():
        dice, iou = seed_spread(runs, "dice"), seed_spread(runs, "iou")
        train_loss = np.mean([_last(run, "loss") for run in runs])
        validation_loss = np.mean([_last(run, "val_loss") for run in runs])
        lines.append(
            f"{name:{width}}{len(runs):>6}{train_loss:>11.3f}{validation_loss:>9.3f}{iou['mean']:>7.3f}{dice['mean']:>10.3f}{dice['min']:>8.3f}-{dice['max']:.3f}"
        )
    return "\n".join(lines)


def separated_pairs(arms, score="dice"):
    """Return "A above B" for every two arms (as :func:`spread_table`'s) whose ``score`` ranges do not overlap.

    An empty list means these runs rank nothing.
    """
    spread = {name: seed_spread(runs, score) for name, runs in arms.items()}
    return [
        f"{high} above {low}: {score} {spread[high]['min']:.3f}-{spread[high]['max']:.3f} against "
        f"{spread[low]['min']:.3f}-{spread[low]['max']:.3f} over {spread[high]['n']} and {spread[low]['n']} seeds"
        for high in arms
        for low in arms
        if spread[high]["min"] > spread[low]["max"]
    ]


def add_training_images(images, masks, split, extra_images, extra_masks):
    """Return images, masks and split with the extra images (made from training images only) added to training only."""
    images, masks = np.asarray(images), np.asarray(masks)
    extra_images, extra_masks = np.asarray(extra_images, images.dtype), np.asarray(extra_masks, masks.dtype)
    if extra_images.shape[1:] != images.shape[1:] or extra_masks.shape[1:] != masks.shape[1:]:
        raise ValueError(
            f"extra images {extra_images.shape[1:]} and masks {extra_masks.shape[1:]} must have the shape of one "
            f"image {images.shape[1:]} and mask {masks.shape[1:]}."
        )
    if len(extra_images) != len(extra_masks):
        raise ValueError(f"{len(extra_images)} extra images but {len(extra_masks)} extra masks: give one mask each.")
    train, validation, test = split
    train = np.concatenate([np.asarray(train), np.arange(len(images), len(images) + len(extra_images))])
    return np.concatenate([images, extra_images]), np.concatenate([masks, extra_masks]), (train, validation, test)
