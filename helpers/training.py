"""Training that survives a disconnect, and training that fits the clock.

:func:`fit_resumable` writes into a run folder after every epoch: ``history.csv`` (``epoch``
from 0, as Keras's ``CSVLogger``) and, in ``checkpoints/``, the latest weights and optimizer
state, the best epoch's weights (``best-epoch-NNN.weights.h5``, NNN from 1) and ``state.json``,
written last. Running the same cell again resumes at the next epoch.

CPUs differ by 3x and more: :func:`measure_step_seconds` times a few steps here and
:func:`epochs_for_minutes` turns minutes into epochs.
"""

import collections
import csv
import json
import math
import os
import time
from pathlib import Path

import numpy as np

__all__ = [
    "is_better",
    "best_epoch",
    "read_history",
    "ResumableTraining",
    "fit_resumable",
    "HISTORY_FILE",
    "CHECKPOINT_FOLDER",
    "STATE_FILE",
    "LATEST_WEIGHTS",
    "LATEST_OPTIMIZER",
    "BEST_PATTERN",
    "StepTiming",
    "describe_timing",
    "measure_step_seconds",
    "epochs_for_minutes",
    "budget_epochs",
    "progress_callback",
    "fit_in_minutes",
]

#: Files and folders written into the run folder.
HISTORY_FILE = "history.csv"
CHECKPOINT_FOLDER = "checkpoints"
STATE_FILE = "state.json"
LATEST_WEIGHTS = "latest.weights.h5"
LATEST_OPTIMIZER = "latest.optimizer.npz"
BEST_PATTERN = "best-epoch-{:03d}.weights.h5"


def _replace_atomically(write, final_path):
    """Write a file through ``write(temporary_path)`` and move it into place in one step."""
    final_path = Path(final_path)
    temporary = final_path.with_name("unfinished-" + final_path.name)
    write(temporary)
    os.replace(temporary, final_path)


def _check_mode(mode):
    if mode not in ("min", "max"):
        raise ValueError(f"mode should be 'min' (for a loss) or 'max' (for Dice, IoU), got {mode!r}.")


def is_better(value, best, mode):
    """Tell whether ``value`` improves on ``best`` (``None``: nothing yet); ``mode`` "min" (loss) or "max" (Dice)."""
    _check_mode(mode)
    if value is None or not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best if mode == "min" else value > best


def best_epoch(history, monitor="val_loss", mode="min"):
    """Return ``(epoch, value)`` of the best logged ``monitor`` (first on ties; ``(None, None)`` if empty).

    ``history``: a dict of lists or the path of a ``history.csv`` (``epoch`` from 0).
    """
    if isinstance(history, (str, os.PathLike)):
        history = read_history(history)
    if not history or not history.get("epoch"):
        return None, None
    if monitor not in history:
        raise KeyError(
            f"The history has no column {monitor!r}; it has {', '.join(history)}. Pass one of "
            f"those as monitor=..., and give model.fit validation data for 'val_' columns."
        )
    best, best_value = None, None
    for epoch, value in zip(history["epoch"], history[monitor]):
        if is_better(value, best_value, mode):
            best, best_value = int(epoch), float(value)
    return best, best_value


def read_history(path):
    """Read a ``history.csv`` into ``{column: list of numbers}`` (``epoch`` as int; ``{}`` if no file)."""
    path = Path(path)
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return _rows_to_history(rows)


def _rows_to_history(rows):
    history = {}
    for row in rows:
        for key, value in row.items():
            number = int(value) if key == "epoch" else float(value)
            history.setdefault(key, []).append(number)
    return history


def _write_history_csv(rows, path):
    columns = ["epoch"] + sorted({key for row in rows for key in row} - {"epoch"})

    def write(temporary):
        with open(temporary, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({key: row.get(key, "") for key in columns})
            file.flush()
            os.fsync(file.fileno())

    _replace_atomically(write, path)


class ResumableTraining:
    """The files of one resumable training run in ``folder`` (one per model) and the callback that writes them.

    ``monitor``: the logged validation metric that chooses the best model; ``mode`` as in :func:`is_better`.
    """

    def __init__(self, folder, monitor="val_loss", mode="min"):
        _check_mode(mode)
        self.folder = Path(folder).expanduser()
        self.monitor = monitor
        self.mode = mode
        self.checkpoints = self.folder / CHECKPOINT_FOLDER
        self.history_path = self.folder / HISTORY_FILE
        self.state_path = self.checkpoints / STATE_FILE
        self._check_folder()
        self.state = self._read_state()

    def _check_folder(self):
        if self.folder.exists() and not self.folder.is_dir():
            raise FileExistsError(f"{self.folder} is a file, not a folder. Choose another run folder name.")
        if self.history_path.exists() and not self.state_path.exists():
            raise FileExistsError(
                f"{self.history_path} exists but {self.state_path} does not, so this folder was "
                f"not written by a resumable run and its files would be overwritten. Choose a "
                f"new run folder (e.g. add the date to its name) or move those files away."
            )

    def _read_state(self):
        if not self.state_path.is_file():
            return {"finished_epochs": 0, "rows": [], "best_epoch": None, "best_value": None}
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(
                f"{self.state_path} cannot be read ({error}). Choose a new run folder, or "
                f"delete the folder {self.checkpoints} to start this run again from zero."
            ) from error
        if state.get("monitor", self.monitor) != self.monitor:
            raise ValueError(
                f"This run folder chose its best model with monitor={state['monitor']!r}, not "
                f"{self.monitor!r}. Use monitor={state['monitor']!r} or a new run folder."
            )
        return state

    @property
    def finished_epochs(self):
        """Number of epochs finished and saved (the next epoch to train, 0-based)."""
        return int(self.state["finished_epochs"])

    @property
    def best_weights_path(self):
        """Path of the best model's weights, or None before the first finished epoch."""
        if self.state["best_epoch"] is None:
            return None
        # run folders written before the file names counted from 1 name the file from 0
        name = self.state.get("best_file", BEST_PATTERN.format(self.state["best_epoch"]))
        return self.checkpoints / name

    def history(self):
        """Return the history of all finished epochs, ``{column: list}``, over every session."""
        return _rows_to_history(self.state["rows"])

    def restore(self, model):
        """Load the last saved weights and optimizer state into ``model`` (compiled as before); return the next epoch.

        Also rewrites ``history.csv`` from the saved state, dropping an epoch whose checkpoint was not finished.
        """
        if self.finished_epochs == 0:
            return 0
        if model.optimizer is None:
            raise ValueError("Compile the model (model.compile(...)) before resuming its training.")
        if not model.optimizer.built:  # the weights file holds the optimizer's variables too
            model.optimizer.build(model.trainable_variables)
        try:
            model.load_weights(self.checkpoints / LATEST_WEIGHTS)
        except Exception as error:
            raise ValueError(
                f"The checkpoint in {self.checkpoints} does not fit this model ({error}). "
                f"It was written by a different model (other filters, poolings or input). "
                f"Build the same model as before, or choose a new run folder."
            ) from error
        self._restore_optimizer(model)
        _write_history_csv(self.state["rows"], self.history_path)
        self._remove_other_best_files()
        return self.finished_epochs

    def _restore_optimizer(self, model):
        optimizer = model.optimizer
        with np.load(self.checkpoints / LATEST_OPTIMIZER) as saved:
            values = [saved[f"arr_{index}"] for index in range(len(saved.files))]
        if len(values) != len(optimizer.variables):
            raise ValueError(
                f"The optimizer state in {self.checkpoints} has {len(values)} variables, this "
                f"optimizer {len(optimizer.variables)}. Compile with the same optimizer as "
                f"before, or choose a new run folder."
            )
        for variable, value in zip(optimizer.variables, values):
            variable.assign(value)

    def _remove_other_best_files(self):
        keep = self.best_weights_path
        for path in self.checkpoints.glob(BEST_PATTERN.replace("{:03d}", "*")):
            if path != keep:
                path.unlink()

    def save_epoch(self, model, epoch, logs):
        """Save weights, optimizer, best model, state and history after ``epoch`` (0-based)."""
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        row = {"epoch": int(epoch)}
        row.update({key: float(value) for key, value in (logs or {}).items()})
        if self.monitor not in row:
            raise KeyError(
                f"Training logged no {self.monitor!r} (it logged {', '.join(sorted(row))}). Give "
                f"validation data to the training, or choose monitor= from those names."
            )
        _replace_atomically(lambda path: model.save_weights(path), self.checkpoints / LATEST_WEIGHTS)
        _replace_atomically(lambda path: _save_optimizer(model, path), self.checkpoints / LATEST_OPTIMIZER)
        state = dict(self.state, rows=self.state["rows"] + [row], finished_epochs=int(epoch) + 1)
        state["monitor"] = self.monitor
        if is_better(row[self.monitor], self.state["best_value"], self.mode):
            best = self.checkpoints / BEST_PATTERN.format(int(epoch) + 1)
            _replace_atomically(lambda path: model.save_weights(path), best)
            state["best_epoch"], state["best_value"] = int(epoch), row[self.monitor]
            state["best_file"] = best.name
        text = json.dumps(state, indent=1)
        _replace_atomically(lambda path: Path(path).write_text(text, encoding="utf-8"), self.state_path)
        self.state = state  # the epoch counts as finished from here on
        _write_history_csv(state["rows"], self.history_path)
        self._remove_other_best_files()

    def callback(self):
        """Return the Keras callback that calls :meth:`save_epoch` at the end of every epoch."""
        import keras

        run = self

        class SaveEveryEpoch(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                run.save_epoch(self.model, epoch, logs)

        return SaveEveryEpoch()


def _save_optimizer(model, path):
    with open(path, "wb") as file:
        np.savez(file, *[np.asarray(variable) for variable in model.optimizer.variables])


def fit_resumable(
    model,
    training_data,
    targets=None,
    *,
    folder,
    epochs,
    validation_data=None,
    steps_per_epoch=None,
    batch_size=None,
    monitor="val_loss",
    mode="min",
    callbacks=(),
    verbose=2,
):
    """Train ``model`` for ``epochs`` epochs in all, resuming where an earlier run in ``folder`` stopped.

    ``model``: built and compiled (after a disconnect, the same way again). ``training_data, targets``:
    ``x`` and ``y`` of ``model.fit``; ``epochs`` counts those of earlier sessions; ``monitor, mode`` as in
    :func:`best_epoch`; the rest goes to ``model.fit``. Returns the :class:`ResumableTraining`.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs should be a whole number of at least 1, got {epochs!r}.")
    run = ResumableTraining(folder, monitor=monitor, mode=mode)
    run.state["steps_per_epoch"] = steps_per_epoch  # for the methods paragraph (helpers.reporting)
    start = run.restore(model)
    if start >= epochs:
        print(
            f"All {epochs} epochs are already trained in {run.folder}; nothing to do. "
            f"To train longer, raise epochs; to start again, use a new run folder."
        )
        return run
    if start:
        print(f"Resuming at epoch {start + 1} of {epochs}: {start} finished epochs found in {run.folder}.")
    else:
        print(f"Starting a new training run; checkpoints and history go to {run.folder}.")
    model.fit(
        training_data,
        targets,
        validation_data=validation_data,
        epochs=epochs,
        initial_epoch=start,
        steps_per_epoch=steps_per_epoch,
        batch_size=batch_size,
        callbacks=[*callbacks, run.callback()],
        verbose=verbose,
    )
    epoch, value = run.state["best_epoch"], run.state["best_value"]
    print(
        f"Best epoch: {epoch + 1} ({monitor} = {value:.4f}); weights in {run.best_weights_path} "
        f"(history.csv's epoch column counts from 0, as Keras's CSVLogger writes it)."
    )
    return run


#: What :func:`measure_step_seconds` measured: a training step, a validation pass, and the start
#: of a training (building the graphs and the input pipeline, once per model).
StepTiming = collections.namedtuple(
    "StepTiming", "seconds_per_step seconds_per_validation seconds_to_start", defaults=(0.0,)
)


def _batch_source(batches, batch_size):
    """Return a function giving one training batch at a time, from a dataset or (x, y) arrays."""
    if isinstance(batches, (tuple, list)):
        if batch_size is None:
            raise ValueError("Training on arrays (x, y): pass batch_size=... to time one step.")
        arrays = [np.asarray(array)[:batch_size] for array in batches]
        return lambda: arrays
    iterator = iter(batches)
    return lambda: next(iterator)


def measure_step_seconds(
    model, batches, *, loss, validation_data=None, batch_size=None, timed_steps=3, clock=time.perf_counter
):
    """Time training steps (and one validation pass) of a fresh copy of ``model`` on this machine.

    The first step and pass build the graphs, which every new training pays once: they count as
    ``seconds_to_start``. ``batches``: a dataset, or (x, y) arrays with ``batch_size``;
    ``validation_data``: (x, y) or (x, y, sample_weight); ``clock``: tests pass a fake one.
    """
    import keras

    if timed_steps < 1:
        raise ValueError(f"timed_steps must be at least 1, got {timed_steps}.")
    copy = keras.models.clone_model(model)
    copy.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    next_batch = _batch_source(batches, batch_size)
    start = clock()
    copy.train_on_batch(*next_batch())  # builds the graph and starts the input pipeline
    first_step = clock() - start
    start = clock()
    for _ in range(timed_steps):
        copy.train_on_batch(*next_batch())
    per_step = (clock() - start) / timed_steps
    to_start = max(0.0, first_step - per_step)
    per_validation = 0.0
    if validation_data is not None:
        images, targets, *weights = validation_data  # (images, masks) or (images, labels, pixel weights)
        weight = weights[0] if weights else None
        start = clock()
        copy.evaluate(images, targets, sample_weight=weight, batch_size=1, verbose=0)  # builds the graph
        first_validation = clock() - start
        start = clock()
        copy.evaluate(images, targets, sample_weight=weight, batch_size=1, verbose=0)
        per_validation = clock() - start
        to_start += max(0.0, first_validation - per_validation)
    return StepTiming(per_step, per_validation, to_start)


def describe_timing(timing):
    """Say what :func:`measure_step_seconds` measured, in the words the notebooks print.

    >>> describe_timing(StepTiming(1.114, 2.0, 8.3))
    'One training step takes 1.11 s here, and starting a training 8 s (measured)'
    """
    start = f", and starting a training {timing.seconds_to_start:.0f} s" if timing.seconds_to_start >= 0.5 else ""
    return f"One training step takes {timing.seconds_per_step:.2f} s here{start} (measured)"


def epochs_for_minutes(minutes, timing, steps_per_epoch, *, at_least=1, at_most=None):
    """Return ``(epochs, line)``: how many epochs fit in ``minutes`` here, and a line that says why.

    >>> epochs_for_minutes(1, StepTiming(0.5, 1.0), steps_per_epoch=10)[0]  # 60 s / (10 x 0.5 s + 1 s)
    10
    >>> epochs_for_minutes(1, StepTiming(0.5, 1.0, 12.0), steps_per_epoch=10)[0]  # (60 s - 12 s) / 6 s
    8
    """
    if minutes <= 0:
        raise ValueError(f"minutes must be above 0, got {minutes}.")
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}.")
    epoch_seconds = steps_per_epoch * timing.seconds_per_step + timing.seconds_per_validation
    epochs = max(at_least, int((minutes * 60 - timing.seconds_to_start) // epoch_seconds))
    capped = at_most is not None and epochs > at_most
    epochs = min(epochs, at_most) if at_most is not None else epochs
    unit = "minute" if minutes == 1 else "minutes"
    line = f"{describe_timing(timing)}, so {epochs} epochs of {steps_per_epoch} steps fit in {minutes:g} {unit}" + (
        f" (capped at {at_most})." if capped else "."
    )
    return epochs, line


def budget_epochs(
    minutes, model, batches, *, loss, steps_per_epoch, validation_data=None, batch_size=None, at_least=1, at_most=None
):
    """Time a few steps here (:func:`measure_step_seconds`) and return how many epochs fit in ``minutes``; print why."""
    timing = measure_step_seconds(model, batches, loss=loss, validation_data=validation_data, batch_size=batch_size)
    epochs, line = epochs_for_minutes(minutes, timing, steps_per_epoch, at_least=at_least, at_most=at_most)
    print(line)
    return epochs


def progress_callback(epochs, label="training", metrics=("loss", "val_loss")):
    """A Keras callback that shows ONE progress line, with the logged ``metrics``; use ``model.fit(verbose=0)``."""
    import keras

    from helpers.progress import progress_bar

    class ProgressLine(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = progress_bar(epochs, label, "epoch")

        def on_epoch_end(self, epoch, logs=None):
            self.bar.set_postfix_str(", ".join(f"{name} {logs[name]:.4f}" for name in metrics if name in (logs or {})))
            self.bar.update(epoch + 1 - self.bar.n)  # counts from the first epoch, also in a resumed run

        def on_train_end(self, logs=None):
            self.bar.close()

    return ProgressLine()


def fit_in_minutes(
    model,
    batches,
    *,
    minutes,
    at_most,
    steps_per_epoch,
    learning_rate,
    loss="binary_crossentropy",
    metrics=(),
    validation_data=None,
):
    """Compile ``model`` (Adam, learning rate falling to 0 along a cosine) and train it for ``minutes`` here.

    Notebook 01's steps in one call. ``batches``: endless training batches; ``minutes=None`` trains
    exactly ``at_most`` epochs. Returns the ``keras.callbacks.History``.
    """
    import keras

    epochs = at_most
    if minutes is not None:
        epochs = budget_epochs(
            minutes,
            model,
            batches,
            loss=loss,
            steps_per_epoch=steps_per_epoch,
            at_most=at_most,
            validation_data=validation_data,
        )
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps_per_epoch)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=list(metrics))
    shown = ["loss"]
    if validation_data is not None:
        shown += ["val_loss", *(f"val_{metric.name}" for metric in metrics)]
    return model.fit(
        batches,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=validation_data,
        shuffle=False,  # the batches are random crops already; fit cannot shuffle a tf.data pipeline
        verbose=0,
        callbacks=[progress_callback(epochs, metrics=shown)],
    )
