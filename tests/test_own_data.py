"""The folder checker: a catalogue of bad inputs, each answered with the file and the fix."""

import numpy as np
import pytest
import skimage.io

from helpers import own_data


def grey(size=(64, 64), value=100):
    return np.full(size, value, np.uint8)


def binary_mask(size=(64, 64)):
    mask = np.zeros(size, np.uint8)
    mask[: size[0] // 4] = 255
    return mask


def write(folder, name, array):
    folder.mkdir(parents=True, exist_ok=True)
    skimage.io.imsave(folder / name, array, check_contrast=False)


def good_set(root, count=2):
    for index in range(count):
        write(root / "images", f"{index}.png", grey())
        write(root / "masks", f"{index}.png", binary_mask())


def snapshot(root):
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


# Each case: (what it breaks, a function that spoils a good set, file named, words of the fix, severity)
def _no_mask(root):
    write(root / "images", "extra.png", grey())


def _no_image(root):
    write(root / "masks", "orphan.png", binary_mask())


def _near_miss(root):
    write(root / "images", "cell.png", grey())
    write(root / "masks", "cell_mask.png", binary_mask())


def _double(root):
    write(root / "images", "0.tif", grey())


def _unreadable(root):
    (root / "images" / "broken.png").write_bytes(b"not really a png")
    write(root / "masks", "broken.png", binary_mask())


def _empty_file(root):
    (root / "images" / "zero.png").write_bytes(b"")
    write(root / "masks", "zero.png", binary_mask())


def _stack(root):
    skimage.io.imsave(root / "images" / "stack.tif", np.zeros((5, 64, 64), np.uint8), check_contrast=False)
    skimage.io.imsave(root / "masks" / "stack.tif", np.zeros((5, 64, 64), np.uint8), check_contrast=False)


def _size_mismatch(root):
    write(root / "images", "big.png", grey((64, 64)))
    write(root / "masks", "big.png", binary_mask((32, 32)))


def _small(root):
    write(root / "images", "tiny.png", grey((40, 40)))
    write(root / "masks", "tiny.png", binary_mask((40, 40)))


def _not_divisible(root):
    write(root / "images", "odd.png", grey((64, 70)))
    write(root / "masks", "odd.png", binary_mask((64, 70)))


def _labels(root):
    labels = np.zeros((64, 64), np.uint8)
    labels[:10, :10], labels[20:30, 20:30], labels[40:50, 40:50] = 1, 2, 3
    write(root / "images", "nuclei.png", grey())
    write(root / "masks", "nuclei.png", labels)


def _colour_mask(root):
    mask = np.zeros((64, 64, 3), np.uint8)
    mask[:10, :, 0] = 255
    write(root / "images", "red.png", grey())
    write(root / "masks", "red.png", mask)


def _jpeg_mask(root):
    write(root / "images", "photo.png", grey())
    mask = binary_mask()
    mask[20:30, 5:60] = 255
    write(root / "masks", "photo.jpg", mask)


def _empty_mask(root):
    write(root / "images", "blank.png", grey())
    write(root / "masks", "blank.png", np.zeros((64, 64), np.uint8))


def _inverted(root):
    write(root / "images", "inv.png", grey())
    write(root / "masks", "inv.png", 255 - binary_mask())


def _twelve_bit(root):
    write(root / "images", "camera.tif", np.full((64, 64), 3000, np.uint16))
    write(root / "masks", "camera.png", binary_mask())


def _float_mask(root):
    write(root / "images", "soft.png", grey())
    write(root / "masks", "soft.tif", np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64))


def _text_file(root):
    (root / "images" / "notes.txt").write_text("my notes")


def _hidden(root):
    (root / "masks" / ".DS_Store").write_bytes(b"\0")


def _subfolder(root):
    write(root / "images" / "more", "5.png", grey())


def _mixed_colour(root):
    write(root / "images", "rgb.png", np.full((64, 64, 3), 90, np.uint8))
    write(root / "masks", "rgb.png", binary_mask())


def _alpha(root):
    write(root / "images", "alpha.png", np.full((64, 64, 2), 90, np.uint8))
    write(root / "masks", "alpha.png", binary_mask())


CATALOGUE = [
    ("image without mask", _no_mask, "extra.png", "Add its mask", "error"),
    ("mask without image", _no_image, "orphan.png", "Add the image", "warning"),
    ("mask named 7_mask.png", _near_miss, "cell_mask.png", "Rename cell_mask.png to cell.png", "error"),
    ("two images, one name", _double, "0.png", "Keep one file per name", "error"),
    ("damaged file", _unreadable, "broken.png", "save it again", "error"),
    ("0-byte file", _empty_file, "zero.png", "Copy the file again", "error"),
    ("3-D stack", _stack, "stack.tif", "one file per slice", "error"),
    ("mask of another size", _size_mismatch, "big.png", "full resolution", "error"),
    ("image smaller than a crop", _small, "tiny.png", "smaller crop_size", "warning"),
    ("size not divisible by 2**depth", _not_divisible, "odd.png", "padded", "note"),
    ("label ids", _labels, "nuclei.png", "notebook 07", "warning"),
    ("colour mask", _colour_mask, "red.png", "greyscale", "error"),
    ("JPEG mask", _jpeg_mask, "photo.jpg", "never JPEG", "error"),
    ("empty mask", _empty_mask, "blank.png", "exported blank", "warning"),
    ("inverted mask", _inverted, "inv.png", "invert_masks=True", "warning"),
    ("12-bit data in 16 bits", _twelve_bit, "camera.tif", "rescaling", "warning"),
    ("probability mask", _float_mask, "soft.tif", "Threshold it", "error"),
    ("text file", _text_file, "notes.txt", "move other files", "note"),
    ("hidden file", _hidden, ".DS_Store", "skipped", "note"),
    ("sub-folder", _subfolder, "more", "Move its images", "note"),
    ("grey and colour mixed", _mixed_colour, "images", "converted to grey", "warning"),
    ("alpha channel", _alpha, "alpha.png", "dropped", "note"),
]


@pytest.mark.parametrize("spoil, file, fix, severity", [case[1:] for case in CATALOGUE],
                         ids=[case[0] for case in CATALOGUE])
def test_each_bad_input_is_reported_with_its_file_and_fix(tmp_path, spoil, file, fix, severity):
    good_set(tmp_path, count=3)
    spoil(tmp_path)
    before = snapshot(tmp_path)
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", depth=4, crop_size=48)
    matching = [p for p in report.problems if p.file.endswith(file)]
    assert matching, f"no problem names {file}:\n{report.summary()}"
    assert any(fix in f"{p.what} Fix: {p.fix}" for p in matching), report.summary()
    assert any(p.severity == severity for p in matching), report.summary()
    assert file in report.summary()
    assert snapshot(tmp_path) == before  # nothing in the folders changed
    # nothing is dropped silently: every image is either usable or left out with a reason
    used = {name for name, _, _ in report.pairs}
    assert used & set(report.left_out) == set()
    image_names = {p.stem for p in (tmp_path / "images").iterdir() if p.suffix in (".png", ".tif")}
    assert used | set(report.left_out) == image_names
    assert len(report.pairs) >= 2
    if severity == "error" and file.startswith(("extra", "broken", "zero", "stack", "big", "red", "soft")):
        assert file.split(".")[0] in report.left_out


def test_catalogue_is_at_least_fifteen_kinds():
    assert len({case[0] for case in CATALOGUE}) >= 15


@pytest.mark.parametrize("images, masks, error, words", [
    ("missing", "masks", FileNotFoundError, "does not exist"),
    ("images", "images", ValueError, "same folder"),
    ("empty", "masks", FileNotFoundError, "No image files"),
])
def test_folder_level_problems_raise_clear_errors(tmp_path, images, masks, error, words):
    good_set(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(error, match=words):
        own_data.check_folder(tmp_path / images, tmp_path / masks)


def test_clean_set_has_no_problem_and_loads_as_binary(tmp_path):
    good_set(tmp_path, count=3)
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", crop_size=32)
    assert report.ok and report.problems == [] and len(report.pairs) == 3
    loaded = own_data.load_checked(report)
    assert loaded.images.shape == (3, 64, 64, 1) and loaded.masks.shape == (3, 64, 64, 1)
    np.testing.assert_allclose(loaded.images, 100 / 255)
    assert loaded.masks.sum() == 3 * 16 * 64  # top quarter of each mask


def test_load_checked_pads_small_images_by_mirroring_and_reads_labels_as_foreground(tmp_path):
    write(tmp_path / "images", "a.png", np.arange(16, dtype=np.uint8).reshape(4, 4))
    labels = np.zeros((4, 4), np.uint8)
    labels[0, 0], labels[3, 3] = 1, 7
    write(tmp_path / "masks", "a.png", labels)
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", depth=1, crop_size=6)
    loaded = own_data.load_checked(report)
    assert loaded.images.shape == (1, 6, 6, 1)
    np.testing.assert_allclose(loaded.images[0, 4, :4, 0] * 255, [12, 13, 14, 15])  # row 3 mirrored
    np.testing.assert_allclose(loaded.images[0, 0, 4:, 0] * 255, [3, 2])  # columns 3, 2 mirrored
    assert loaded.masks[0, 0, 0, 0] == 1 and loaded.masks[0, 3, 3, 0] == 1 and loaded.masks[0, 4, 4, 0] == 1
    assert loaded.masks.sum() == 1 + 4  # the (3, 3) pixel mirrored into a 2x2 corner


def test_predict_folder_writes_a_new_folder_and_never_overwrites(tmp_path):
    import keras

    write(tmp_path / "new", "x.png", np.tile(np.array([0, 255], np.uint8), (10, 5)))  # 10x10, not divisible
    model = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Identity()])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.png").write_bytes(b"user file")
    folder = own_data.predict_folder(model, tmp_path / "new", tmp_path / "out", threshold=0.5, depth=2)
    assert folder == tmp_path / "out-2"
    assert (tmp_path / "out" / "x.png").read_bytes() == b"user file"
    written = skimage.io.imread(folder / "x.png")
    assert written.shape == (10, 10)
    np.testing.assert_array_equal(written, np.tile([0, 255], (10, 5)))


def test_methods_paragraph_names_versions_and_parameters(tmp_path):
    import keras

    data = {"description": "ISBI 2012", "n_train": 20, "n_validation": 5, "n_test": 5}
    rest = dict(model={"filters": 16, "depth": 4, "parameters": 1940817},
                training={"epochs": 10, "best_epoch": 8, "monitor": "val_loss", "crop_size": 128, "batch_size": 8,
                          "optimizer": "Adam", "learning_rate": 0.001, "loss": "BCE + Dice"},
                evaluation={"threshold": 0.45, "dice": 0.81234, "iou": 0.7})
    text = own_data.methods_paragraph(data=data, **rest)
    assert f"Keras {keras.__version__}" in text and "1,940,817 parameters" in text
    assert "epoch 8" in text and "0.812" in text and "20 images for training" in text
    assert "split" not in text
    with_split = own_data.methods_paragraph(data={**data, "split": "in stack order"}, **rest)
    assert "5 for testing (split in stack order)." in with_split
    with pytest.raises(KeyError, match="threshold"):
        own_data.methods_paragraph(data={"description": "", "n_train": 1, "n_validation": 1, "n_test": 1},
                                   model={"filters": 1, "depth": 1, "parameters": 1},
                                   training={"epochs": 1, "best_epoch": 1, "monitor": "", "crop_size": 1,
                                             "batch_size": 1, "optimizer": "", "learning_rate": 1, "loss": ""},
                                   evaluation={"dice": 1, "iou": 1})
    path = own_data.write_text_file(tmp_path, "methods.md", text)
    again = own_data.write_text_file(tmp_path, "methods.md", "other")
    assert path.read_text() == text + "\n" and again.name == "methods-2.md"


def test_exercise_answers_agree_with_the_helpers(tmp_path):
    from helpers import exercises

    class Recorder:
        def predict(self, batch, verbose=0):
            self.shape = batch.shape
            return np.zeros(batch.shape[:3] + (1,), np.float32)

    recorder = Recorder()
    height, width = exercises.PADDING_IMAGE_SIZE
    out = own_data.predict_padded(recorder, np.zeros((height, width, 1), np.float32), depth=exercises.PADDING_DEPTH)
    assert out.shape == (height, width, 1)
    assert (recorder.shape[1] - height, recorder.shape[2] - width) == (12, 4)
    assert exercises.check_padding([12, 4]) and not exercises.check_padding([512, 704])

    # the four masks of exercise 2, written as described
    good_set(tmp_path, count=1)
    labels = np.zeros((64, 64), np.uint8)
    labels[:10, :10], labels[20:30, 20:30], labels[40:50, 40:50] = 1, 2, 3
    red = np.zeros((64, 64, 3), np.uint8)
    red[::8, :, 0] = 255
    soft = binary_mask()
    soft[20:40, 10:50] = 255  # JPEG compression smears the edges of this square
    for letter, mask in {"A": binary_mask(), "B": soft, "C": labels, "D": red}.items():
        write(tmp_path / "images", f"{letter}.png", grey())
        write(tmp_path / "masks", f"{letter}.{'jpg' if letter == 'B' else 'png'}", mask)
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", crop_size=32)
    assert sorted(report.left_out) == ["B", "D"]
    assert exercises.check_left_out(["B", "D"]) and not exercises.check_left_out(["B", "C", "D"])
    assert exercises.check_resume(7, 8) and not exercises.check_resume(8, 8)


def test_predict_folder_tiles_images_larger_than_the_tile(tmp_path):
    import keras

    picture = np.zeros((40, 70), np.uint8)
    picture[::3, ::2] = 255
    write(tmp_path / "new", "big.png", picture)
    model = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Identity()])
    folder = own_data.predict_folder(model, tmp_path / "new", tmp_path / "out", threshold=0.5, depth=2, tile=16)
    np.testing.assert_array_equal(skimage.io.imread(folder / "big.png"), picture)  # stitched exactly
