"""Training that survives a disconnect, and training that fits the clock.

:func:`fit_resumable` writes into a run folder after every epoch: ``history.csv`` (``epoch`` from 0,
as Keras's ``CSVLogger``) and, in ``checkpoints/``, the epoch's weights with the optimizer's state
(``epoch-NNN.weights.h5``, NNN from 1; the best epoch's file is kept too), then ``state.json``: the
switch. It names the files of the last finished epoch with their sha256, so a kill at any instant
resumes from that epoch and damaged files are named. ``state.json`` also holds the run's identity
(:func:`run_identity`): resuming with other data or settings is refused, so runs never mix.

CPUs differ by 3x and more: :func:`measure_step_seconds` times a few steps here and
:func:`epochs_for_minutes` turns minutes into epochs.
"""

import collections
import csv
import hashlib
import json
import math
import os
import time
from pathlib import Path

import numpy as np

from helpers import imageio
from helpers.download import file_sha256

__all__ = [
    "is_better",
    "best_epoch",
    "read_history",
    "RunFolderError",
    "run_identity",
    "describe_data",
    "ResumableTraining",
    "fit_resumable",
    "HISTORY_FILE",
    "CHECKPOINT_FOLDER",
    "STATE_FILE",
    "WEIGHTS_PATTERN",
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
WEIGHTS_PATTERN = "epoch-{:03d}.weights.h5"


class RunFolderError(ValueError):
    """A run folder that cannot be resumed as it is; the message names the file and the fix."""


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
    try:
        with open(path, newline="", encoding="utf-8") as file:
            return _rows_to_history(csv.DictReader(file))
    except (ValueError, TypeError, UnicodeDecodeError) as error:
        raise RunFolderError(
            f"{path} is damaged ({error}). Fix: run the training cell again (it rewrites it)."
        ) from error


def _rows_to_history(rows):
    history = {}
    for row in rows:
        for key, value in row.items():
            number = int(value) if key == "epoch" else float(value)
            history.setdefault(key, []).append(number)
    return history


def _write_history_csv(rows, path):
    columns = ["epoch"] + sorted({key for row in rows for key in row} - {"epoch"})

    def write(partial):
        with open(partial, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows({key: row.get(key, "") for key in columns} for row in rows)

    imageio.write_atomically(path, write)


def _plain(value):
    """``value`` as ``state.json`` keeps it; objects by name (a function's address changes every session)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (np.ndarray, np.generic)):
        return _plain(value.tolist())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return getattr(value, "__name__", type(value).__name__)


def _flatten(value, prefix=""):
    """``{"a": {"b": 1}}`` as ``{"a.b": 1}``: each setting under a name a message can give."""
    if not isinstance(value, dict):
        return {prefix: _plain(value)}
    flat = {}
    for key, item in value.items():
        flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def describe_data(data):
    """Shapes and sha256 of arrays or a tuple of them; of a ``tf.data`` set, its ``settings`` and content (all of a
    finite set; of endless random crops their first batch, a sample the same each time on one TensorFlow version)."""
    if data is None:
        return None
    described = {}
    if hasattr(data, "element_spec"):
        described = {"batches": str(data.element_spec), **getattr(data, "settings", {})}
        elements = [next(data.as_numpy_iterator())] if int(data.cardinality()) < 0 else data.as_numpy_iterator()
        data = [array for element in elements for array in element]
    arrays = [np.ascontiguousarray(item) for item in (data if isinstance(data, (list, tuple)) else [data])]
    if any(array.dtype == object for array in arrays):  # e.g. a Python generator: no fingerprint
        return type(data).__name__
    digest = hashlib.sha256(str([(array.shape, array.dtype.str) for array in arrays]).encode())
    for array in arrays:
        digest.update(array)
    shapes = ", ".join(str(array.shape) for array in arrays[:3]) + (", ..." if len(arrays) > 3 else "")
    content = f"{shapes}; sha256 {digest.hexdigest()[:16]}"
    return {**described, "content": content} if described else content


def run_identity(model, training_data, targets=None, *, validation_data=None, settings=None, **fit_settings):
    """Return what makes a run itself, ``{name: value}``: the compiled model's layers (not their names), loss,
    optimizer and learning-rate schedule; the data's shapes and sha256 (of batches from
    :func:`helpers.pipeline.training_batches`, their ``settings``); ``fit_settings`` (steps_per_epoch, batch_size,
    monitor, mode) and your ``settings`` (e.g. the rescaling rule, the class names) as given."""
    if model.optimizer is None:
        raise ValueError("Compile the model (model.compile(...)) before training it.")
    layers = [(type(layer).__name__, {**layer.get_config(), "name": "", "dtype": ""}) for layer in model.layers]
    loss, optimizer = model.loss, {**model.optimizer.get_config(), "name": ""}  # names differ between builds
    identity = {
        "model": {
            "input": model.input_shape,
            "output": model.output_shape,
            "parameters": model.count_params(),
            "precision": model.dtype_policy.name,
            "layers sha256": hashlib.sha256(json.dumps(_plain(layers), sort_keys=True).encode()).hexdigest()[:16],
        },
        "loss": {"class": type(loss).__name__, **loss.get_config()} if hasattr(loss, "get_config") else loss,
        "optimizer": {"class": type(model.optimizer).__name__, **optimizer},
        "training data": describe_data(training_data),
        "training targets": describe_data(targets),
        "validation data": describe_data(validation_data),
        **fit_settings,
        **(settings or {}),
    }
    return _flatten(identity)


def _differences(saved, now):
    """Lines naming each setting that differs: ``name: was ..., now ...``."""
    return [
        f"{name}: was {saved.get(name, 'not set')!r}, now {now.get(name, 'not set')!r}"
        for name in sorted(set(saved) | set(now))
        if json.dumps(saved.get(name)) != json.dumps(now.get(name))
    ]


class ResumableTraining:
    """The files of one resumable training run in ``folder``; ``monitor``, ``mode``: how its best epoch is chosen."""

    def __init__(self, folder, monitor="val_loss", mode="min"):
        _check_mode(mode)
        self.folder = Path(folder).expanduser()
        self.monitor, self.mode = monitor, mode
        self.checkpoints = self.folder / CHECKPOINT_FOLDER
        self.history_path = self.folder / HISTORY_FILE
        self.state_path = self.checkpoints / STATE_FILE
        self._fix = f"Fix: choose a new run folder (RUN_NAME), or delete the folder {self.folder} to train from zero."
        if self.folder.exists() and not self.folder.is_dir():
            raise FileExistsError(f"{self.folder} is a file, not a folder. Choose another run folder name.")
        if self.history_path.exists() and not self.state_path.exists():
            raise FileExistsError(
                f"{self.history_path} exists but {self.state_path} does not: a folder not written by "
                f"fit_resumable, whose files would be overwritten. Choose a new run folder (RUN_NAME)."
            )
        self.state = self._read_state()

    def _read_state(self):
        if not self.state_path.exists():
            return {"finished_epochs": 0, "rows": [], "best_epoch": None, "best_value": None, "sha256": {}}
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            if not {"latest", "sha256", "identity", "rows"} <= set(state):
                raise KeyError("latest, sha256, identity or rows")
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise RunFolderError(
                f"{self.state_path} cannot be read as the state of a run (damaged, or written by an "
                f"earlier version of the course: {error!r}). {self._fix}"
            ) from error
        return state

    @property
    def finished_epochs(self):
        """Number of epochs finished and saved (the next epoch to train, 0-based)."""
        return int(self.state["finished_epochs"])

    @property
    def identity(self):
        """The run's identity (:func:`run_identity`) as saved, ``{}`` before its first epoch."""
        return self.state.get("identity", {})

    def _checked(self, name):
        """The path of checkpoint file ``name``, after checking it is there with the bytes it was written with."""
        path = self.checkpoints / name
        if not path.is_file():
            raise RunFolderError(f"{path} is missing; {self.state_path} needs it. {self._fix}")
        if file_sha256(path) != self.state["sha256"].get(name):
            message = f"{path} is damaged: its bytes differ from those written (sha256 in {self.state_path})."
            raise RunFolderError(f"{message} If you copied the run folder, copy it again. {self._fix}")
        return path

    @property
    def best_weights_path(self):
        """Path of the best epoch's weights (checked), or None before the first finished epoch."""
        return None if self.state["best_epoch"] is None else self._checked(self.state["best"])

    def history(self):
        """Return the history of all finished epochs, ``{column: list}``, over every session."""
        return _rows_to_history(self.state["rows"])

    def check_identity(self, identity):
        """Refuse to go on with a run whose saved identity differs from ``identity``; name what differs."""
        differences = _differences(self.identity, identity) if self.finished_epochs else []
        if differences:
            raise RunFolderError(
                f"The run in {self.folder} was trained with other data or settings, and runs must not mix:\n- "
                + "\n- ".join(differences)
                + f"\nFix: choose a new run folder (RUN_NAME) for these settings, or set them back to continue "
                f"this run, or delete the folder {self.folder} to train it again from zero."
            )
        self.state["identity"] = identity

    def restore(self, model):
        """Load the last finished epoch's weights and optimizer into ``model``, rewrite ``history.csv``; return the next epoch."""
        if self.finished_epochs == 0:
            return 0
        if model.optimizer is None:
            raise ValueError("Compile the model (model.compile(...)) before resuming its training.")
        if not model.optimizer.built:  # the weights file holds the optimizer's variables too
            model.optimizer.build(model.trainable_variables)
        path = self._checked(self.state["latest"])
        try:
            model.load_weights(path)
        except Exception as error:
            raise RunFolderError(f"{path} does not fit this model ({error}). {self._fix}") from error
        if int(model.optimizer.iterations) != self.state["iterations"]:
            raise RunFolderError(
                f"The optimizer's state in {path} was not restored ({int(model.optimizer.iterations)} steps, not "
                f"{self.state['iterations']}). Compile with the same optimizer as before. {self._fix}"
            )
        _write_history_csv(self.state["rows"], self.history_path)
        self._remove_other_checkpoints()
        return self.finished_epochs

    def _remove_other_checkpoints(self):
        keep = {self.state.get("latest"), self.state.get("best"), STATE_FILE}
        for path in self.checkpoints.iterdir():
            if path.is_file() and path.name not in keep:
                path.unlink()

    def save_epoch(self, model, epoch, logs):
        """Save weights and optimizer, then the state that makes them the latest (and best), then the history."""
        row = {"epoch": int(epoch), **{key: float(value) for key, value in (logs or {}).items()}}
        if self.monitor not in row:
            raise KeyError(
                f"Training logged no {self.monitor!r} (it logged {', '.join(sorted(row))}). Give "
                f"validation data to the training, or choose monitor= from those names."
            )
        try:
            self.checkpoints.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise imageio.DiskWriteError(f"Could not create {self.checkpoints} ({error}). {self._fix}") from error
        name = WEIGHTS_PATTERN.format(int(epoch) + 1)
        imageio.write_atomically(self.checkpoints / name, model.save_weights)
        state = dict(self.state, rows=self.state["rows"] + [row], finished_epochs=int(epoch) + 1, latest=name)
        state.update(monitor=self.monitor, iterations=int(model.optimizer.iterations))
        state["sha256"] = {name: file_sha256(self.checkpoints / name)}
        if is_better(row[self.monitor], self.state["best_value"], self.mode):
            state.update(best_epoch=int(epoch), best_value=row[self.monitor], best=name)
        elif state.get("best"):
            state["sha256"][state["best"]] = self.state["sha256"][state["best"]]
        text = json.dumps(state, indent=1)
        imageio.write_atomically(self.state_path, lambda path: Path(path).write_text(text, encoding="utf-8"))
        self.state = state  # the epoch counts as finished from here on
        _write_history_csv(state["rows"], self.history_path)
        self._remove_other_checkpoints()


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
    settings=None,
    callbacks=(),
    verbose=2,
):
    """Train ``model`` for ``epochs`` epochs in all, resuming where an earlier run in ``folder`` stopped.

    ``model``: built and compiled (after a disconnect, the same way again). ``training_data, targets``:
    ``x`` and ``y`` of ``model.fit``; ``epochs`` counts those of earlier sessions; ``monitor, mode`` as in
    :func:`best_epoch`; ``settings``: what else shapes this run (e.g. the rescaling rule), a dict. A run
    folder whose data or settings (:func:`run_identity`) differ is refused, naming what differs: use a
    new run folder for them. The rest goes to ``model.fit``. Returns the :class:`ResumableTraining`.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs should be a whole number of at least 1, got {epochs!r}.")
    run = ResumableTraining(folder, monitor=monitor, mode=mode)
    fit = dict(validation_data=validation_data, steps_per_epoch=steps_per_epoch, batch_size=batch_size)
    run.check_identity(
        run_identity(model, training_data, targets, settings=settings, monitor=monitor, mode=mode, **fit)
    )
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
    import keras

    save = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: run.save_epoch(model, epoch, logs))
    callbacks = [*callbacks, save]  # each epoch saved as it ends
    model.fit(training_data, targets, epochs=epochs, initial_epoch=start, callbacks=callbacks, verbose=verbose, **fit)
    epoch, value = run.state["best_epoch"], run.state["best_value"]
    if epoch is None:
        print(f"Every {monitor} was NaN or infinite: training diverged. Use a lower learning rate, a new run folder.")
        return run
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
        if not isinstance(validation_data, (tuple, list)):  # a tf.data set (pipeline.validation_data)
            validation_data = (validation_data, None)
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
        fitting = dict(loss=loss, steps_per_epoch=steps_per_epoch, at_most=at_most, validation_data=validation_data)
        epochs = budget_epochs(minutes, model, batches, **fitting)
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
