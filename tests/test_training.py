"""Resumable training: a run killed mid-epoch resumes at the next epoch with its history intact."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from helpers import metrics, training
from helpers.course import course_root

# A tiny training run in its own Python process. With KILL_AT="epoch,batch" it kills itself
# (SIGKILL, as when Colab drops the session) in the middle of that epoch.
SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    sys.path.insert(0, sys.argv[1])
    import keras, numpy as np
    from helpers import training

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), loss="mse")

    class Spy(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            first = [w.tolist() for w in self.model.get_weights()]
            with open(sys.argv[2] + "/start.json", "w") as f:
                json.dump({"weights": first, "iterations": int(self.model.optimizer.iterations)}, f)
        def on_train_batch_end(self, batch, logs=None):
            kill_at = os.environ.get("KILL_AT")
            if kill_at and [self.epoch, batch] == [int(v) for v in kill_at.split(",")]:
                os.kill(os.getpid(), signal.SIGKILL)
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_epoch_end(self, epoch, logs=None):
            with open(sys.argv[2] + f"/weights-after-epoch-{epoch}.json", "w") as f:
                json.dump([w.tolist() for w in self.model.get_weights()], f)

    training.fit_resumable(model, x, y, batch_size=2, folder=sys.argv[2] + "/run", epochs=5, validation_data=(x, y),
                           callbacks=[Spy()], verbose=0, monitor="val_loss")
    """
)


def run_training(tmp_path, kill_at=None):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env.pop("KILL_AT", None)
    if kill_at:
        env["KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, str(script), str(course_root()), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_killed_mid_epoch_resumes_at_next_epoch_with_history_intact(tmp_path):

    killed = run_training(tmp_path, kill_at="2,3")  # killed during the third epoch (index 2)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    history_before = training.read_history(tmp_path / "run" / "history.csv")
    assert history_before["epoch"] == [0, 1]  # two finished epochs were saved, the third was lost
    saved_after_epoch_1 = json.loads((tmp_path / "weights-after-epoch-1.json").read_text())

    resumed = run_training(tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming at epoch 3 of 5" in resumed.stdout
    start = json.loads((tmp_path / "start.json").read_text())
    for restored, saved in zip(start["weights"], saved_after_epoch_1):
        np.testing.assert_allclose(restored, saved)  # the weights of the last finished epoch
    assert start["iterations"] == 2 * 8  # Adam resumed too: 2 epochs x 8 steps (16 samples, batch 2)

    history = training.read_history(tmp_path / "run" / "history.csv")
    assert history["epoch"] == [0, 1, 2, 3, 4]  # no gap, no duplicate
    assert history["loss"][:2] == history_before["loss"][:2]  # the old rows are kept as they were
    state = json.loads((tmp_path / "run" / "checkpoints" / "state.json").read_text())
    assert state["finished_epochs"] == 5
    best, value = training.best_epoch(history, "val_loss", "min")
    assert value == min(history["val_loss"]) and state["best_epoch"] == best
    kept = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())  # the best and the latest epoch
    assert kept == sorted({f"epoch-{best + 1:03d}.weights.h5", "epoch-005.weights.h5", "state.json"})
    # the message and the file name count from 1, as Keras prints epochs; history.csv from 0
    assert f"Best epoch: {best + 1} " in resumed.stdout and f"epoch-{best + 1:03d}.weights.h5" in resumed.stdout
    assert "epoch column counts from 0" in resumed.stdout


def test_best_epoch_from_logged_history(tmp_path):
    history = {"epoch": [0, 1, 2, 3], "val_loss": [0.5, 0.3, 0.3, 0.4], "val_dice": [0.1, 0.6, 0.7, 0.65]}
    assert training.best_epoch(history, "val_loss", "min") == (1, 0.3)  # first of the tie
    assert training.best_epoch(history, "val_dice", "max") == (2, 0.7)
    assert training.best_epoch({}, "val_loss") == (None, None)
    with pytest.raises(KeyError, match="val_iou"):
        training.best_epoch(history, "val_iou")
    assert not training.is_better(float("nan"), None, "min")
    with pytest.raises(ValueError, match="mode"):
        training.is_better(1.0, 2.0, "lowest")


def test_refuses_a_folder_with_a_history_it_did_not_write(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,loss\n0,1.0\n")
    with pytest.raises(FileExistsError, match="new run folder"):
        training.ResumableTraining(tmp_path)
    assert (tmp_path / "history.csv").read_text() == "epoch,loss\n0,1.0\n"


def test_save_epoch_needs_the_monitored_metric(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("adam", loss="mse")
    run = training.ResumableTraining(tmp_path / "run")
    with pytest.raises(KeyError, match="validation data"):
        run.save_epoch(model, 0, {"loss": 1.0})
    assert not (tmp_path / "run" / "history.csv").exists()


# --- fitting the clock, and one progress line ----------------------------------------------


class FakeClock:
    """A clock that advances by ``step`` seconds each time it is read."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def tiny_setup():
    import keras

    from helpers import models, pipeline

    images = np.random.default_rng(0).random((3, 16, 16, 1)).astype(np.float32)
    masks = (images > 0.5).astype(np.float32)
    model = models.build_unet((None, None, 1), filters=2, n_poolings=1, dropout=0.0)
    batches = pipeline.training_batches(images, masks, crop_size=16, batch_size=2)
    return keras, model, batches, (images, masks)


def test_step_time_is_measured_with_the_clock_and_leaves_the_model_untouched():
    keras, model, batches, validation = tiny_setup()
    before = [w.copy() for w in model.get_weights()]
    # the clock is read before and after the timed steps, and before and after one validation pass
    timing = training.measure_step_seconds(
        model, batches, loss="binary_crossentropy", validation_data=validation, timed_steps=4, clock=FakeClock(2.0)
    )
    # the first step takes one tick (2 s), 1.5 s longer than a step (4 steps in one tick); the passes take one each
    assert timing == training.StepTiming(seconds_per_step=2.0 / 4, seconds_per_validation=2.0, seconds_to_start=1.5)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    arrays = training.measure_step_seconds(
        model, validation, loss="binary_crossentropy", batch_size=2, clock=FakeClock(3.0)
    )
    assert arrays.seconds_per_step == 1.0 and arrays.seconds_per_validation == 0.0
    with pytest.raises(ValueError, match="batch_size"):
        training.measure_step_seconds(model, validation, loss="binary_crossentropy")
    weighted = (*validation, np.ones(validation[1].shape[:3], np.float32))  # with pixel weights, as notebook 05
    timing = training.measure_step_seconds(
        model, batches, loss="binary_crossentropy", validation_data=weighted, clock=FakeClock(1.0)
    )
    assert timing.seconds_per_validation == 1.0


class ScriptedClock:
    """A clock whose successive intervals (between a start and an end reading) are given."""

    def __init__(self, intervals):
        self.now, self.intervals, self.reads = 0.0, list(intervals), 0

    def __call__(self):
        self.reads += 1
        if self.reads % 2 == 0:  # an end reading: one interval later than its start
            self.now += self.intervals.pop(0)
        return self.now


def test_the_start_of_a_training_is_measured_apart_from_its_steps():
    keras, model, batches, validation = tiny_setup()
    # first step 9 s, 4 steps in 2 s, first validation pass 3 s, a pass 1 s
    clock = ScriptedClock([9.0, 2.0, 3.0, 1.0])
    timing = training.measure_step_seconds(
        model, batches, loss="binary_crossentropy", validation_data=validation, timed_steps=4, clock=clock
    )
    assert timing == training.StepTiming(0.5, 1.0, seconds_to_start=(9.0 - 0.5) + (3.0 - 1.0))
    # the start is paid once: 60 s less 10.5 s, by epochs of 10 steps and one pass (6 s): 8 epochs, not 10
    epochs, line = training.epochs_for_minutes(1, timing, 10)
    assert epochs == 8
    assert line.startswith("One training step takes 0.50 s here, and starting a training 10 s (measured)")


@pytest.mark.parametrize(
    "seconds_per_step, validation, minutes, expected",
    [
        (0.5, 1.0, 1, 10),  # 60 s / (10 x 0.5 s + 1 s) = 10 epochs
        (0.27, 0.0, 3, 66),  # a fast CPU: 180 / 2.7 = 66.7
        (1.0, 0.0, 3, 18),  # a CPU four times slower trains a quarter as long, in the same time
        (30.0, 0.0, 1, 1),  # never fewer than at_least
    ],
)
def test_epochs_for_minutes_fits_the_budget(seconds_per_step, validation, minutes, expected):
    epochs, line = training.epochs_for_minutes(minutes, training.StepTiming(seconds_per_step, validation), 10)
    assert epochs == expected
    assert f"{seconds_per_step:.2f} s" in line and f"{expected} epochs of 10 steps fit in {minutes}" in line


def test_epochs_for_minutes_bounds_and_bad_budgets():
    timing = training.StepTiming(0.01, 0.0)  # 600 epochs would fit: capped
    epochs, line = training.epochs_for_minutes(1, timing, 10, at_most=50)
    assert epochs == 50 and "capped at 50" in line and "1 minute" in line
    assert training.epochs_for_minutes(1, training.StepTiming(10.0, 0.0), 10, at_least=2)[0] == 2
    with pytest.raises(ValueError, match="minutes"):
        training.epochs_for_minutes(0, timing, 10)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        training.epochs_for_minutes(1, timing, 0)


def test_progress_callback_shows_one_final_line(capsys):
    keras, model, batches, validation = tiny_setup()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(
        batches,
        epochs=3,
        steps_per_epoch=2,
        validation_data=validation,
        verbose=0,
        callbacks=[training.progress_callback(3)],
    )
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1  # one line, redrawn in place
    final = printed.split("\r")[-1]
    assert final.startswith("training") and "3/3" in final and "val_loss" in final


def test_fit_in_minutes_trains_the_epochs_that_fit_with_a_schedule_as_long_as_the_training(monkeypatch, capsys):
    keras, model, batches, validation = tiny_setup()
    # this machine, as measured: 0.5 s a step, so 6 s (0.1 minute) hold 6 epochs of 2 steps
    monkeypatch.setattr(training, "measure_step_seconds", lambda *args, **kwargs: training.StepTiming(0.5, 0.0))
    history = training.fit_in_minutes(
        model,
        batches,
        minutes=0.1,
        at_most=20,
        steps_per_epoch=2,
        learning_rate=0.01,
        metrics=[metrics.keras_dice()],
        validation_data=validation,
    )
    assert len(history.epoch) == 6
    assert int(model.optimizer.iterations) == 12
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-7)  # the cosine ends with the training
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert "6 epochs of 2 steps fit in" in lines[0]
    assert "6/6" in lines[-1] and "val_dice" in lines[-1]


def test_fit_in_minutes_without_a_budget_trains_at_most_epochs():
    keras, model, batches, validation = tiny_setup()
    history = training.fit_in_minutes(model, batches, minutes=None, at_most=3, steps_per_epoch=2, learning_rate=0.01)
    assert len(history.epoch) == 3 and int(model.optimizer.iterations) == 6
    assert "val_loss" not in history.history
