"""Runs that cannot mix or lie: a run folder's identity, checkpoints atomic as a set, damage and disk faults named."""

import errno
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers import imageio, losses, models, pipeline, training

STEPS = 2  # training steps per epoch


def images_and_masks():
    images = np.random.default_rng(0).random((4, 16, 16, 1)).astype(np.float32)
    return images, (images > 0.5).astype(np.float32)


def start(
    folder,
    *,
    epochs=1,
    filters=2,
    loss="binary_crossentropy",
    learning_rate=None,
    decay_steps=4,
    crop=16,
    batch=2,
    augment=False,
    steps=STEPS,
    monitor="val_loss",
    settings=None,
    images_changed=False,
    training_changed=False,
):
    """Notebook 08's training call on a tiny U-Net; the keywords change one setting each."""
    keras.utils.set_random_seed(0)
    images, masks = images_and_masks()
    if images_changed:
        images[3, 0, 0, 0] += 0.5  # one pixel of one validation image
    if training_changed:
        images[:2] = 1 - images[:2]  # other training images, as many and as large
    model = models.build_unet((None, None, 1), filters=filters, n_poolings=1, dropout=0.0)
    rate = learning_rate or keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=decay_steps)
    model.compile(optimizer=keras.optimizers.Adam(rate), loss=loss, run_eagerly=True)  # no graph to build: faster here
    batches = pipeline.training_batches(images[:2], masks[:2], crop_size=crop, batch_size=batch, augment=augment)
    settings = settings or {"rescaling": "divide by 255", "classes": ["background", "structure"]}
    return training.fit_resumable(model, batches, folder=folder, epochs=epochs, steps_per_epoch=steps,
                                  validation_data=(images[2:], masks[2:]), monitor=monitor, settings=settings,
                                  verbose=0)  # fmt: skip


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A run folder with one finished epoch."""
    folder = tmp_path_factory.mktemp("run") / "run"
    start(folder)
    return folder


CHANGES = {
    "model": (dict(filters=4), "model.parameters"),
    "loss": (dict(loss=losses.training_loss("dice")), "loss"),
    "crop": (dict(crop=8), "training data.crop_size"),
    "batch": (dict(batch=1), "training data.batch_size"),
    "augmentation": (dict(augment=True), "training data.augment"),
    "steps per epoch": (dict(steps=3), "steps_per_epoch"),
    "schedule": (dict(decay_steps=6), "optimizer.learning_rate.config.decay_steps"),
    "constant learning rate": (dict(learning_rate=0.01), "optimizer.learning_rate"),
    "classes": (dict(settings={"rescaling": "divide by 255", "classes": ["background", "cell"]}), "classes"),
    "rescaling": (dict(settings={"rescaling": "divide by 4095", "classes": ["background", "structure"]}), "rescaling"),
    "validation images": (dict(images_changed=True), "validation data"),
    "training images": (dict(training_changed=True), "training data.content"),
    "monitor": (dict(monitor="val_dice"), "monitor"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_run_refuses_other_data_or_settings_and_names_them(trained_run, change):
    keywords, name = CHANGES[change]
    before = {path: path.read_bytes() for path in trained_run.rglob("*") if path.is_file()}
    with pytest.raises(training.RunFolderError) as refused:
        start(trained_run, **keywords)  # 1 epoch: without the check it said "already trained"
    message = str(refused.value)
    assert f"- {name}: was " in message and str(trained_run) in message
    assert "new run folder" in message and "delete the folder" in message
    assert {path: path.read_bytes() for path in trained_run.rglob("*") if path.is_file()} == before


def test_the_same_settings_go_on_with_a_model_built_again(trained_run, capsys):
    assert start(trained_run).finished_epochs == 1
    assert "All 1 epochs are already trained" in capsys.readouterr().out


def differing(first, second):
    return {name for name in first.keys() | second.keys() if first.get(name) != second.get(name)}


def dense(inputs=3):
    model = keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(1)])
    model.compile("adam", loss="mse")
    return model


def test_arrays_and_finite_datasets_are_fingerprinted_by_their_content():
    model = dense()
    x, y = np.zeros((4, 3), np.float32), np.zeros((4, 1), np.float32)
    same = training.run_identity(model, x.copy(), y, validation_data=[x, y])
    assert training.run_identity(model, x, y, validation_data=[x, y]) == same
    assert differing(same, training.run_identity(model, x + 1, y, validation_data=[x, y])) == {"training data"}
    assert json.loads(json.dumps(same)) == same  # as state.json keeps it
    yours = training.run_identity(model, x, y, settings={"class weights": np.array([1.0, 2.5]), "folder": Path("a")})
    assert yours["class weights"] == [1.0, 2.5] and yours["folder"] == "a"  # your settings by value
    # images of different sizes are validated one by one from a tf.data set (pipeline.validation_data)
    images = [np.zeros((16, 16, 1), np.float32), np.zeros((24, 16, 1), np.float32)]
    masks = [np.zeros(image.shape, np.float32) for image in images]
    first = training.run_identity(model, x, y, validation_data=pipeline.validation_data(images, masks))
    masks[1][5, 5] = 1
    second = training.run_identity(model, x, y, validation_data=pipeline.validation_data(images, masks))
    assert differing(first, second) == {"validation data.content"}


def test_the_precision_is_part_of_the_identity():
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = dense()
    finally:
        keras.config.set_dtype_policy(before)
    x, y = np.zeros((4, 3), np.float32), np.zeros((4, 1), np.float32)
    assert differing(training.run_identity(dense(), x, y), training.run_identity(mixed, x, y)) == {"model.precision"}


def test_a_run_whose_every_validation_loss_is_nan_says_it_diverged(tmp_path, capsys):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", loss="mse", run_eagerly=True)
    x, y = np.zeros((4, 3), np.float32), np.zeros((4, 1), np.float32)
    run = training.fit_resumable(model, x, y, validation_data=(x, y + np.nan), batch_size=4, folder=tmp_path, epochs=1)
    assert "diverged" in capsys.readouterr().out and run.best_weights_path is None and run.finished_epochs == 1


# --- checkpoints atomic as a set: a kill at every write point -------------------------------------------


class Kill(BaseException):
    """The process ends here (as Colab's disconnect ends it, nothing after this runs)."""


MODEL = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
MODEL.compile(keras.optimizers.Adam(0.01), loss="mse")
MODEL.optimizer.build(MODEL.trainable_variables)


def weights_of(epoch):
    return [np.full(w.shape, epoch + 1.0, np.float32) for w in MODEL.get_weights()]


def fresh_model():
    """The model as after a restart: zero weights, no optimizer steps."""
    MODEL.set_weights([np.zeros_like(w) for w in MODEL.get_weights()])
    for variable in MODEL.optimizer.variables:
        variable.assign(np.zeros(variable.shape, variable.dtype))
    return MODEL


def save_epoch(folder, epoch, val_loss):
    """What one epoch of training leaves behind: weights of the epoch, STEPS more optimizer steps, a logged row."""
    model = fresh_model()
    model.set_weights(weights_of(epoch))
    model.optimizer.iterations.assign((epoch + 1) * STEPS)
    run = training.ResumableTraining(folder)
    run.check_identity({"model": "dense"})
    run.save_epoch(model, epoch, {"loss": 1.0, "val_loss": val_loss})


def count_write_points(monkeypatch, kill_at=None, fault=None):
    """Count every point of a save at which a kill can happen; raise Kill (or OSError ``fault``) at ``kill_at``."""
    points = []
    real_write, real_unlink = imageio.write_atomically, Path.unlink

    def point(name):
        points.append(name)
        if fault is None and kill_at is not None and len(points) >= kill_at:
            raise Kill(name)  # and at every later point: after a kill nothing runs, partial files stay
        if len(points) == kill_at:
            raise OSError(fault, "injected")

    def write_atomically(path, write):
        point(f"before {path.name}")

        def write_aside(partial):
            write(partial)
            point(f"{path.name} written aside")

        real_write(path, write_aside)
        point(f"{path.name} in place")
        return path

    def unlink(self, *args, **kwargs):
        point(f"removing {self.name}")
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(imageio, "write_atomically", write_atomically)
    monkeypatch.setattr(Path, "unlink", unlink)
    return points


def check_resumes_from(folder, epochs):
    """A model built again resumes from ``epochs`` finished epochs, exactly as they were saved."""
    model = fresh_model()
    run = training.ResumableTraining(folder)
    assert run.restore(model) == epochs
    assert int(model.optimizer.iterations) == epochs * STEPS
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights_of(epochs - 1)))
    assert training.read_history(folder / training.HISTORY_FILE)["epoch"] == list(range(epochs))
    model.load_weights(run.best_weights_path)
    save_epoch(folder, epochs, 0.01)  # and trains on
    names = {path.name for path in (folder / training.CHECKPOINT_FOLDER).iterdir()}
    assert names == {training.STATE_FILE, training.WEIGHTS_PATTERN.format(epochs + 1)}


@pytest.mark.parametrize("improves", [True, False])
def test_a_kill_at_every_write_point_resumes_from_the_last_complete_epoch(tmp_path, monkeypatch, improves):
    save_epoch(tmp_path / "saved", 0, 0.5)
    with monkeypatch.context() as patch:
        points = count_write_points(patch)
        save_epoch(tmp_path / "clean", 0, 0.5)
        points.clear()
        save_epoch(tmp_path / "clean", 1, 0.4 if improves else 0.6)
    assert len(points) >= 9, points  # weights, state and history: before, aside and in place each; removals
    left_partial = 0
    for kill_at in range(1, len(points) + 1):
        folder = tmp_path / f"killed-{kill_at}"
        shutil.copytree(tmp_path / "saved", folder)
        with monkeypatch.context() as patch:
            seen = count_write_points(patch, kill_at)
            with pytest.raises(Kill):
                save_epoch(folder, 1, 0.4 if improves else 0.6)
        switched = f"{training.STATE_FILE} in place" in seen
        left_partial += any(folder.rglob(".partial-*"))
        check_resumes_from(folder, 2 if switched else 1)
    assert left_partial >= 3  # a file killed while written aside stays there, as after a real kill


# --- damage named with its file and the fix -------------------------------------------------------------


@pytest.fixture
def two_epochs(tmp_path):
    """A run folder of 2 epochs: the best is epoch 1, the latest epoch 2 (two weights files)."""
    folder = tmp_path / "run"
    save_epoch(folder, 0, 0.5)
    save_epoch(folder, 1, 0.6)
    return folder


def flip_a_byte_in_an_array(path):
    data = bytearray(path.read_bytes())
    where = data.rfind(np.float32(2.0).tobytes())  # a stored weight of epoch 2 (every weight is 2.0)
    data[where + 1] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated weights": lambda path: path.write_bytes(path.read_bytes()[:100]),
    "missing weights": lambda path: path.unlink(),
    "flipped bytes": flip_a_byte_in_an_array,
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_latest_weights_are_named_with_the_fix(two_epochs, damage):
    latest = two_epochs / training.CHECKPOINT_FOLDER / training.WEIGHTS_PATTERN.format(2)
    DAMAGE[damage](latest)
    with pytest.raises(training.RunFolderError) as refused:
        training.ResumableTraining(two_epochs).restore(fresh_model())
    assert str(latest) in str(refused.value) and "delete the folder" in str(refused.value)
    assert ("missing" if damage == "missing weights" else "damaged") in str(refused.value)


def test_a_missing_best_weights_file_is_named(two_epochs):
    best = two_epochs / training.CHECKPOINT_FOLDER / training.WEIGHTS_PATTERN.format(1)
    best.unlink()
    with pytest.raises(training.RunFolderError, match="missing") as refused:
        fresh_model().load_weights(training.ResumableTraining(two_epochs).best_weights_path)  # as notebook 08
    assert str(best) in str(refused.value)


@pytest.mark.parametrize("text", ["", '{"finished_epochs": 2, "rows": [', "[]", '{"finished_epochs": 2}'])
def test_a_damaged_state_file_is_named(two_epochs, text):
    state = two_epochs / training.CHECKPOINT_FOLDER / training.STATE_FILE
    state.write_text(text)
    with pytest.raises(training.RunFolderError) as refused:
        training.ResumableTraining(two_epochs)
    assert str(state) in str(refused.value) and "new run folder" in str(refused.value)


def test_a_damaged_history_is_named_and_rewritten_on_resuming(two_epochs):
    history = two_epochs / training.HISTORY_FILE
    history.write_text("epoch,loss,val_loss\n0,1.0,0.5\n1,1.")
    with pytest.raises(training.RunFolderError) as refused:
        training.read_history(history)
    assert str(history) in str(refused.value)
    assert training.ResumableTraining(two_epochs).restore(fresh_model()) == 2
    assert training.read_history(history)["epoch"] == [0, 1]


# --- disk faults: a course message, no file left truncated under its final name -------------------------


@pytest.mark.parametrize("fault", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_folder_is_named_and_the_run_stays_whole(tmp_path, monkeypatch, fault):
    save_epoch(tmp_path / "clean", 0, 0.5)
    with monkeypatch.context() as patch:
        points = count_write_points(patch)
        save_epoch(tmp_path / "clean", 1, 0.4)
    writes = [index + 1 for index, name in enumerate(points) if "written aside" in name]
    assert len(writes) == 3  # weights, state, history
    for kill_at in writes:
        folder = tmp_path / f"fault-{kill_at}"
        save_epoch(folder, 0, 0.5)
        with monkeypatch.context() as patch:
            count_write_points(patch, kill_at, fault)
            with pytest.raises(imageio.DiskWriteError) as refused:
                save_epoch(folder, 1, 0.4)
        assert str(folder) in str(refused.value) and "Fix:" in str(refused.value)
        assert not [path for path in folder.rglob("*") if path.name.startswith(".partial")]
        check_resumes_from(folder, 2 if kill_at > writes[1] else 1)


def test_a_run_folder_that_cannot_be_created_is_named(tmp_path, monkeypatch):
    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(imageio.DiskWriteError) as refused:
        save_epoch(tmp_path / "run", 0, 0.5)
    assert str(tmp_path / "run") in str(refused.value) and "Fix:" in str(refused.value)
