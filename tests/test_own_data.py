"""The folder checker: a catalogue of bad inputs, each answered with the file and the fix."""

import numpy as np
import pytest
import skimage.io
from support import write_tif

from helpers import folder_checks, inference, own_data


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


def _grey_as_rgb(root):
    write(root / "images", "rgb.png", np.full((64, 64, 3), 90, np.uint8))
    write(root / "masks", "rgb.png", binary_mask())


def _mixed_colour(root):
    colour = np.zeros((64, 64, 3), np.uint8)
    colour[..., 0] = 200
    write(root / "images", "rgb.png", colour)
    write(root / "masks", "rgb.png", binary_mask())


def _alpha(root):
    write(root / "images", "alpha.png", np.dstack([np.full((64, 64), 90, np.uint8), np.full((64, 64), 255, np.uint8)]))
    write(root / "masks", "alpha.png", binary_mask())


def _two_channels(root):  # grey and a transparency that varies: two channels, kept
    write(root / "images", "two.png", np.dstack([grey(), np.arange(64 * 64).reshape(64, 64) % 200]).astype(np.uint8))
    write(root / "masks", "two.png", binary_mask())


CATALOGUE = [
    ("image without mask", _no_mask, "extra.png", "Add its mask", "error"),
    ("mask without image", _no_image, "orphan.png", "Add the image", "warning"),
    ("mask named 7_mask.png", _near_miss, "cell_mask.png", "paired", "note"),
    ("two images, one name", _double, "0.png", "Keep one file per name", "error"),
    ("damaged file", _unreadable, "broken.png", "save it again", "error"),
    ("0-byte file", _empty_file, "zero.png", "Copy the file again", "error"),
    ("3-D stack", _stack, "stack.tif", "notebook 06 (its IMAGE_FOLDER, MASK_FOLDER and NEW_IMAGE_FOLDER", "error"),
    ("mask of another size", _size_mismatch, "big.png", "full resolution", "error"),
    ("image smaller than a crop", _small, "tiny.png", "smaller crop_size", "warning"),
    ("size not divisible by 2**n_poolings", _not_divisible, "odd.png", "padded", "note"),
    ("label ids among 0/255 masks", _labels, "nuclei.png", "export it as 0/255", "warning"),
    ("colour mask", _colour_mask, "red.png", "greyscale", "error"),
    ("JPEG mask", _jpeg_mask, "photo.jpg", "never JPEG", "error"),
    ("empty mask", _empty_mask, "blank.png", "exported blank", "warning"),
    ("inverted mask", _inverted, "inv.png", "invert_masks=True", "warning"),
    ("16-bit image among 8-bit ones", _twelve_bit, "camera.tif", "Image > Type", "error"),
    ("probability mask", _float_mask, "soft.tif", "Threshold it", "error"),
    ("text file", _text_file, "notes.txt", "move other files", "note"),
    ("hidden file", _hidden, ".DS_Store", "skipped", "note"),
    ("sub-folder", _subfolder, "more", "Move its images", "note"),
    ("grey saved as RGB", _grey_as_rgb, "rgb.png", "read as grey", "note"),
    ("grey and colour mixed", _mixed_colour, "images", "converted to colour", "warning"),
    ("opaque alpha channel", _alpha, "alpha.png", "dropped", "note"),
    ("2 channels among grey images", _two_channels, "two.png", "same channels", "error"),
]


@pytest.mark.parametrize(
    "spoil, file, fix, severity", [case[1:] for case in CATALOGUE], ids=[case[0] for case in CATALOGUE]
)
def test_each_bad_input_is_reported_with_its_file_and_fix(tmp_path, spoil, file, fix, severity):
    good_set(tmp_path, count=3)
    spoil(tmp_path)
    before = snapshot(tmp_path)
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", n_poolings=4, crop_size=48)
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
    if severity == "error" and file.startswith(
        ("extra", "broken", "zero", "stack", "big", "red", "soft", "camera", "two")
    ):
        assert file.split(".")[0] in report.left_out


@pytest.mark.parametrize(
    "images, masks, error, words",
    [
        ("missing", "masks", FileNotFoundError, "does not exist"),
        ("images", "images", ValueError, "same folder"),
        ("empty", "masks", FileNotFoundError, "No image files"),
    ],
)
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
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", n_poolings=1, crop_size=6)
    loaded = own_data.load_checked(report)
    assert loaded.images.shape == (1, 6, 6, 1)
    np.testing.assert_allclose(loaded.images[0, 4, :4, 0] * 255, [12, 13, 14, 15])  # row 3 mirrored
    np.testing.assert_allclose(loaded.images[0, 0, 4:, 0] * 255, [3, 2])  # columns 3, 2 mirrored
    assert loaded.masks[0, 0, 0, 0] == 1 and loaded.masks[0, 3, 3, 0] == 1  # ids 1 and 7: foreground
    assert (loaded.masks[0, :4, :4, 0] == 1).sum() == 2
    assert (loaded.masks[0, 4:, :, 0] == loaded.ignore_value).all()  # the mask's padding is not annotated


def test_predict_folder_writes_a_new_folder_and_never_overwrites(tmp_path):
    import keras

    write(tmp_path / "new", "x.png", np.tile(np.array([0, 255], np.uint8), (10, 5)))  # 10x10, not divisible
    model = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Identity()])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.png").write_bytes(b"user file")
    folder = own_data.predict_folder(model, tmp_path / "new", tmp_path / "out", threshold=0.5, n_poolings=2)
    assert folder == tmp_path / "out-2"
    assert (tmp_path / "out" / "x.png").read_bytes() == b"user file"
    written = skimage.io.imread(folder / "x.png")
    assert written.shape == (10, 10)
    np.testing.assert_array_equal(written, np.tile([0, 255], (10, 5)))


def test_exercise_answers_agree_with_the_helpers(tmp_path):
    from helpers import exercises

    class Recorder:
        def predict(self, batch, verbose=0):
            self.shape = batch.shape
            return np.zeros(batch.shape[:3] + (1,), np.float32)

    recorder = Recorder()
    height, width = exercises.PADDING_IMAGE_SIZE
    out = inference.predict_padded(
        recorder, np.zeros((height, width, 1), np.float32), n_poolings=exercises.PADDING_POOLINGS
    )
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
    folder = own_data.predict_folder(model, tmp_path / "new", tmp_path / "out", threshold=0.5, n_poolings=2, tile=16)
    np.testing.assert_array_equal(skimage.io.imread(folder / "big.png"), picture)  # stitched exactly


# --- mask kinds (issue 12): each recognised per folder, reported once ----------------------------


def write_palette(folder, name, indices, colours):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(np.asarray(indices, np.uint8), mode="P")
    picture.putpalette([value for colour in colours for value in colour])
    picture.save(folder / name)


def class_masks(count=3, size=(32, 32)):
    """Masks with ids 0, 1, 2: id 1 in two separate squares (so not one object per id)."""
    masks = []
    for index in range(count):
        mask = np.zeros(size, np.uint8)
        mask[2:6, 2:6] = mask[20:24, 20:24] = 1
        mask[10:14, 2 + index : 6 + index] = 2
        masks.append(mask)
    return masks


def check(root, **options):
    return own_data.check_folder(root / "images", root / "masks", n_poolings=2, crop_size=16, **options)


def test_palette_binary_masks_are_binary(tmp_path):
    indices = np.zeros((32, 32), np.uint8)
    indices[:8] = 1
    for index in range(3):
        write(tmp_path / "images", f"{index}.png", grey((32, 32)))
        write_palette(tmp_path / "masks", f"{index}.png", indices, [(255, 255, 255), (255, 0, 0)])
    report = check(tmp_path)
    assert report.ok and report.mask_kind == "binary" and "automatically" in report.kind_reason
    loaded = own_data.load_checked(report)
    np.testing.assert_array_equal(loaded.masks[0, ..., 0], indices)  # the index, not the white colour


def test_palette_class_masks_keep_their_indices_as_classes(tmp_path):
    indices = np.zeros((32, 32), np.uint8)
    indices[:8], indices[8:16], indices[16:20] = 1, 2, 3  # one region each: still classes (palette)
    for index in range(2):
        write(tmp_path / "images", f"{index}.png", grey((32, 32)))
        write_palette(tmp_path / "masks", f"{index}.png", indices, [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)])
    report = check(tmp_path, class_names=["bg", "tree", "cap", "stroma"])
    assert report.mask_kind == "classes" and report.n_classes == 4 and "palette" in report.kind_reason
    shares = [entry["pixel_share"] for entry in report.classes]
    np.testing.assert_allclose(shares, [12 / 32, 8 / 32, 8 / 32, 4 / 32])
    assert [e["images"] for e in report.classes] == [2, 2, 2, 2]
    assert report.class_names == ["bg", "tree", "cap", "stroma"] and "stroma" in report.summary()
    loaded = own_data.load_checked(report)
    np.testing.assert_array_equal(loaded.masks[1, ..., 0], indices)
    assert loaded.class_names == ["bg", "tree", "cap", "stroma"]


def test_16bit_class_ids(tmp_path):
    for index, mask in enumerate(class_masks()):
        write(tmp_path / "images", f"{index}.png", grey((32, 32)))
        write(tmp_path / "masks", f"{index}.tif", mask.astype(np.uint16))
    report = check(tmp_path)
    assert report.mask_kind == "classes" and report.n_classes == 3
    assert "several separate regions" in report.kind_reason
    loaded = own_data.load_checked(report)
    np.testing.assert_array_equal(loaded.masks[..., 0], np.stack(class_masks()))
    assert "class ids 0-2" in report.summary() and "3 files" in report.summary()  # one line for three masks
    assert report.stored_values() == {0: "class 0", 1: "class 1", 2: "class 2"}


def test_colour_coded_masks_become_classes_with_a_saved_colour_map(tmp_path):
    colours = {(0, 0, 0): 0, (0, 0, 255): 1, (255, 0, 0): 2}  # sorted by (r, g, b): black first
    for index, ids in enumerate(class_masks()):
        write(tmp_path / "images", f"{index}.png", np.full((32, 32, 3), (10, 80, 160), np.uint8))
        rgb = np.zeros((32, 32, 3), np.uint8)
        rgb[ids == 1], rgb[ids == 2] = (0, 0, 255), (255, 0, 0)
        write(tmp_path / "masks", f"{index}.png", rgb)
    report = check(tmp_path, results_folder=tmp_path / "results")
    assert report.mask_kind == "colours" and report.colour_to_id == colours
    loaded = own_data.load_checked(report)
    np.testing.assert_array_equal(loaded.masks[..., 0], np.stack(class_masks()))
    assert loaded.images.shape == (3, 32, 32, 3)  # colour stays colour
    table = (tmp_path / "results" / "classes.csv").read_text().splitlines()
    assert table[0] == "id,name,red,green,blue,pixel_share,images"
    assert table[2].startswith("1,class 1,0,0,255,") and table[3].startswith("2,class 2,255,0,0,")
    assert "(255, 0, 0)" in report.summary()
    assert report.stored_values() == {(0, 0, 0): "class 0", (0, 0, 255): "class 1", (255, 0, 0): "class 2"}


def test_off_palette_colours_are_an_error_naming_file_and_pixel_count(tmp_path):
    test_colour_coded_masks_become_classes_with_a_saved_colour_map(tmp_path)
    (tmp_path / "results").rename(tmp_path / "old-results")
    mask = skimage.io.imread(tmp_path / "masks" / "1.png")
    mask[0, :3] = (128, 0, 128)  # three antialiased pixels
    write(tmp_path / "masks", "1.png", mask)
    report = check(tmp_path)
    errors = [p for p in report.problems if p.severity == "error"]
    assert len(errors) == 1 and errors[0].file.endswith("1.png") and "3 pixels" in errors[0].what
    assert "antialiasing" in errors[0].fix and "1" in report.left_out and report.n_classes == 3


def test_ignore_value_is_left_out_of_the_classes_and_kept_in_the_masks(tmp_path):
    masks = class_masks()
    masks[0][28:, :] = 255  # 4 rows of 32 not annotated
    for index, mask in enumerate(masks):
        write(tmp_path / "images", f"{index}.png", grey((32, 32)))
        write(tmp_path / "masks", f"{index}.png", mask)
    report = check(tmp_path, ignore_value=255)
    assert report.mask_kind == "classes" and report.n_classes == 3
    assert report.annotated == {"0": 1 - 4 / 32, "1": 1.0, "2": 1.0}
    assert "87.5%" in report.summary()
    loaded = own_data.load_checked(report)
    assert loaded.ignore_value == 255 and (loaded.masks[0, 28:, :, 0] == 255).all()
    without = check(tmp_path)  # without the ignore value, 255 is an id and K = 256, with a warning
    assert without.n_classes == 256 and "ignore_value=255" in without.summary()


def test_k_from_the_whole_folder_when_masks_disagree(tmp_path):
    masks = class_masks(4)
    masks[3][0, 0] = 5
    for index, mask in enumerate(masks):
        write(tmp_path / "images", f"{index}.png", grey((32, 32)))
        write(tmp_path / "masks", f"{index}.png", mask)
    report = check(tmp_path)
    assert report.n_classes == 6
    warnings = [p for p in report.problems if p.severity == "warning"]
    assert any("3-4" in p.what or "3, 4" in p.what for p in warnings)
    assert any(p.file.endswith("3.png") and "class 5" in p.what for p in warnings)


def test_instance_labels_are_told_apart_and_mask_kind_overrides(tmp_path):
    for index in range(3):
        labels = np.zeros((32, 32), np.uint8)
        for number in range(1, 4 + index):
            labels[number * 6 : number * 6 + 4, 2:6] = number  # one square per object
        write(tmp_path / "images", f"{index}.png", grey((32, 32)))
        write(tmp_path / "masks", f"{index}.png", labels)
    report = check(tmp_path)
    assert report.mask_kind == "instances" and "one connected region" in report.kind_reason
    loaded = own_data.load_checked(report)
    assert set(np.unique(loaded.masks).tolist()) == {0.0, 1.0}
    forced = check(tmp_path, mask_kind="classes")
    assert forced.mask_kind == "classes" and forced.n_classes == 6 and "mask_kind='classes'" in forced.kind_reason
    with pytest.raises(ValueError, match="mask_kind"):
        check(tmp_path, mask_kind="labels")


def test_sixty_files_of_one_kind_make_a_short_report_and_a_full_csv(tmp_path):
    for index in range(60):
        write(tmp_path / "images", f"img{index}.png", grey((12, 14)))  # smaller than a crop, not divisible
        write(tmp_path / "masks", f"img{index}.png", np.zeros((12, 14), np.uint8))  # empty
    report = check(tmp_path, results_folder=tmp_path / "results")
    text = report.summary()
    assert len(text.splitlines()) <= 15, text
    assert "60 files" in text and "img0.png" in text
    rows = (tmp_path / "results" / "check_folder.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * 60  # header + three findings per file
    with pytest.raises(ValueError, match="inside your folder"):
        report.save(tmp_path / "masks" / "results")


def test_partial_binary_masks_report_the_annotated_share(tmp_path):
    for index in range(3):
        mask = np.full((32, 32), 255, np.uint8)  # not annotated
        mask[: 4 * (index + 1), :8] = 0  # background strokes
        mask[20:22, :16] = 1  # a structure stroke
        write(tmp_path / "images", f"{index}.png", grey((32, 32)))
        write(tmp_path / "masks", f"{index}.png", mask)
    report = check(tmp_path, ignore_value=255)
    assert report.mask_kind == "binary"
    expected = {str(i): (32 * (i + 1) + 32) / 1024 for i in range(3)}
    assert report.annotated == pytest.approx(expected)
    assert report.stored_values() == {0: "background", 1: "structure"}  # 255 is not annotated, not a class
    loaded = own_data.load_checked(report)
    assert set(np.unique(loaded.masks).tolist()) == {0.0, 1.0, 255.0}
    assert loaded.masks[0, 20, 0, 0] == 1 and loaded.masks[0, 0, 0, 0] == 0 and loaded.masks[0, 30, 30, 0] == 255


def test_class_names_from_a_csv(tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("id,name\n0,background\n2,nucleus\n1,cytoplasm\n")
    assert folder_checks.read_class_names(names) == ["background", "cytoplasm", "nucleus"]
    colours = tmp_path / "colours.csv"
    colours.write_text("red,green,blue,name\n255,0,0,membrane\n")
    assert folder_checks.read_class_names(colours) == {(255, 0, 0): "membrane"}


def test_class_names_from_notebook_08s_text_field(tmp_path):
    assert folder_checks.read_class_names(" background,cytoplasm , nucleus") == ["background", "cytoplasm", "nucleus"]
    assert folder_checks.read_class_names("") == [] and folder_checks.read_class_names("  ") == []
    with pytest.raises(FileNotFoundError, match="separated by commas"):
        folder_checks.read_class_names(str(tmp_path / "missing.csv"))  # one word: a file that is not there


class OneHotOfBrightestChannel:
    """A stand-in model: class = the brightest of the three colour channels, one-hot."""

    def predict(self, batch, verbose=0):
        return np.eye(3, dtype=np.float32)[np.argmax(batch, axis=-1)]


def test_colour_multiclass_folder_end_to_end(tmp_path):
    rng = np.random.default_rng(0)
    all_ids = []
    for index in range(4):
        ids = rng.integers(0, 3, (32, 32))
        all_ids.append(ids)
        write(tmp_path / "images", f"{index}.png", (np.eye(3)[ids] * 200).astype(np.uint8))
        rgb = np.zeros((32, 32, 3), np.uint8)
        rgb[ids == 1], rgb[ids == 2] = (0, 0, 255), (0, 255, 0)  # sorted (r, g, b) order = ids
        write(tmp_path / "masks", f"{index}.png", rgb)
    sizes = [(20, 36), (33, 17)]
    for index, (height, width) in enumerate(sizes):
        write(
            tmp_path / "new", f"new{index}.png", (np.eye(3)[rng.integers(0, 3, (height, width))] * 255).astype(np.uint8)
        )
    before = snapshot(tmp_path)
    report = check(tmp_path, results_folder=tmp_path.parent / f"{tmp_path.name}-results")
    assert report.ok and report.mask_kind == "colours" and report.n_classes == 3
    loaded = own_data.load_checked(report)
    assert loaded.images.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(loaded.masks[..., 0], np.stack(all_ids))
    folder = own_data.predict_folder(
        OneHotOfBrightestChannel(),
        tmp_path / "new",
        tmp_path.parent / "predictions",
        n_poolings=2,
        channels=3,
        classes=report,
    )
    for index, (height, width) in enumerate(sizes):
        image = skimage.io.imread(tmp_path / "new" / f"new{index}.png")
        written = skimage.io.imread(folder / f"new{index}.png")
        assert written.shape == (height, width) and written.dtype == np.uint8
        np.testing.assert_array_equal(written, np.argmax(image, axis=-1))  # ids 0..K-1
        preview = skimage.io.imread(folder / "previews" / f"new{index}.png")
        np.testing.assert_array_equal(preview[written == 2], [[0, 255, 0]] * int((written == 2).sum()))
    legend = (folder / "legend.csv").read_text().splitlines()
    assert legend == ["id,name,red,green,blue", "0,class 0,0,0,0", "1,class 1,0,0,255", "2,class 2,0,255,0"]
    assert snapshot(tmp_path) == before  # the input folders are byte-identical


def test_predict_folder_with_a_keras_softmax_model_writes_ids_of_each_input_size(tmp_path):
    import keras

    rng = np.random.default_rng(1)
    write(tmp_path / "new", "big.png", rng.integers(0, 255, (40, 70, 3), dtype=np.uint8))  # tiled (tile=16)
    write(tmp_path / "new", "small.png", rng.integers(0, 255, (9, 13, 3), dtype=np.uint8))  # whole
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(4, 1, activation="softmax")])
    before = snapshot(tmp_path / "new")
    folder = own_data.predict_folder(model, tmp_path / "new", tmp_path / "out", n_poolings=2, channels=3, tile=16)
    for name, shape in (("big.png", (40, 70)), ("small.png", (9, 13))):
        written = skimage.io.imread(folder / name)
        assert written.shape == shape and written.dtype == np.uint8 and written.max() <= 3
        assert skimage.io.imread(folder / "previews" / name).shape == shape + (3,)
    assert len((folder / "legend.csv").read_text().splitlines()) == 1 + 4
    assert snapshot(tmp_path / "new") == before


# --- mask kinds decided across the folder (issue 20) ---------------------------------------------


def write_masks(root, masks):
    for index, mask in enumerate(masks):
        write(root / "images", f"{index}.png", grey(mask.shape))
        write(root / "masks", f"{index}.png", mask)


def cell_and_nucleus(shift):
    mask = np.zeros((32, 32), np.uint8)
    mask[4 + shift : 24 + shift, 4:24] = 1  # one cell per image ...
    mask[10 + shift : 16 + shift, 10:16] = 2  # ... with its nucleus inside
    return mask


def test_one_region_per_value_is_classes_when_every_mask_holds_the_same_touching_ids(tmp_path):
    write_masks(tmp_path / "cells", [cell_and_nucleus(shift) for shift in range(3)])
    cells = check(tmp_path / "cells")
    assert cells.mask_kind == "classes" and cells.n_classes == 3, cells.summary()
    layers = [np.repeat(np.arange(4, dtype=np.uint8), 8 + shift)[:32, None].repeat(32, 1) for shift in range(3)]
    write_masks(tmp_path / "layers", layers)  # tissue layers 0-3, bands of different heights
    report = check(tmp_path / "layers")
    assert report.mask_kind == "classes" and report.n_classes == 4, report.summary()
    loaded = own_data.load_checked(report)
    assert set(np.unique(loaded.masks[loaded.masks >= 0]).tolist()) == {0, 1, 2, 3}


def test_a_stray_0_1_2_mask_among_0_255_masks_is_named_not_256_classes(tmp_path):
    stray = class_masks(1)[0]
    write_masks(tmp_path, [binary_mask((32, 32)) for _ in range(4)] + [stray])
    report = check(tmp_path)
    assert report.mask_kind == "binary" and report.n_classes == 2
    (found,) = [p for p in report.problems if p.file.endswith("4.png")]
    assert found.severity == "warning" and "0/255" in found.fix and "ignore_value" not in report.summary()
    assert len(report.summary().splitlines()) < 12


def test_a_stray_0_255_mask_among_class_masks_is_left_out_and_named(tmp_path):
    write_masks(tmp_path, class_masks(3) + [binary_mask((32, 32))])
    report = check(tmp_path)
    assert report.mask_kind == "classes" and report.n_classes == 3
    (found,) = [p for p in report.problems if p.file.endswith("3.png")]
    assert found.severity == "error" and "class ids of the others" in found.fix and "3" in report.left_out


def test_all_empty_masks_are_refused_before_training(tmp_path):
    write_masks(tmp_path, [np.zeros((32, 32), np.uint8) for _ in range(3)])
    report = check(tmp_path)
    assert not report.ok and report.pairs == [] and len(report.left_out) == 3
    (found,) = [entry for entry in report.grouped() if entry[0] == "error"]
    assert len(found[1]) == 3 and "structure as 255" in found[3]
    with pytest.raises(ValueError, match="No usable"):
        own_data.load_checked(report)


# --- one rescaling rule per folder (issue 20, item 3) and memory known from headers (item 6) ----------


def twelve_bit_folder(root, tops=(300, 3000, 4000)):
    """One camera: dim and bright 16-bit images whose values all stay below 4096."""
    for index, top in enumerate(tops):
        write_tif(root / "images" / f"{index}.tif", np.linspace(0, top, 64 * 64).reshape(64, 64).astype(np.uint16))
        write(root / "masks", f"{index}.png", binary_mask())
    write_tif(root / "new" / "new.tif", np.full((20, 20), 4095, np.uint16))
    return root / "images", root / "masks"


def test_one_rescaling_rule_for_the_folder_said_once_and_applied_at_load_and_prediction(tmp_path):
    import keras

    report = own_data.check_folder(*twelve_bit_folder(tmp_path), crop_size=32)
    assert report.rescaling == "12-bit in 16 bits / 4095" and report.ok
    summary = report.summary()
    assert summary.count("4095") == 1 and "RESCALING" in summary and "2.tif" in summary  # the brightest named
    loaded = own_data.load_checked(report)
    np.testing.assert_allclose(loaded.images[:, -1, -1, 0], [300 / 4095, 3000 / 4095, 4000 / 4095], rtol=1e-6)
    model = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Identity()])
    folder = own_data.predict_folder(
        model, tmp_path / "new", tmp_path / "out", threshold=1.0, n_poolings=2, rescaling=report.rescaling
    )
    assert (skimage.io.imread(folder / "new.png") == 255).all()  # 4095 / 4095 = 1.0, the threshold
    wide = own_data.check_folder(tmp_path / "images", tmp_path / "masks", crop_size=32, rescaling="16-bit / 65535")
    assert wide.rescaling == "16-bit / 65535" and "rescaling='16-bit / 65535'" in wide.summary()
    np.testing.assert_allclose(own_data.load_checked(wide).images[2, -1, -1, 0], 4000 / 65535, rtol=1e-6)
    with pytest.raises(ValueError, match="RESCALING"):
        own_data.check_folder(tmp_path / "images", tmp_path / "masks", rescaling="divide by 7")


def test_a_folder_too_large_for_memory_is_refused_from_headers_with_the_fix(tmp_path, monkeypatch):
    assert own_data.machine_memory() > 2**20  # this machine says (Linux)
    good_set(tmp_path, count=3)
    need = 3 * 4 * 2 * 3 * 64 * 64  # 3 copies of 4-byte values, image + mask, 3 images of 64x64
    monkeypatch.setattr(own_data, "machine_memory", lambda: 2 * need - 2)  # half of it is 1 byte too little
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", crop_size=32)
    found = [p for p in report.problems if "GB of memory" in p.what]
    assert len(found) == 1 and "tile by tile" in found[0].fix and "smaller images" in found[0].fix
    assert found[0].file == str(tmp_path / "images")
    with pytest.raises(MemoryError, match="smaller images"):
        own_data.load_checked(report)
    monkeypatch.setattr(own_data, "machine_memory", lambda: 2 * need)
    assert own_data.check_folder(tmp_path / "images", tmp_path / "masks", crop_size=32).ok


def test_reports_and_predictions_name_the_users_classes_or_structure(tmp_path, capsys):
    import keras

    good_set(tmp_path, count=2)
    plain = own_data.check_folder(tmp_path / "images", tmp_path / "masks", crop_size=32)
    assert plain.class_names == ["background", "structure"] and "the other value = structure" in plain.summary()
    named = own_data.check_folder(
        tmp_path / "images", tmp_path / "masks", crop_size=32, class_names="cytoplasm, nucleus"
    )
    assert "nucleus" in named.describe_classes() and "nucleus" in named.summary()
    assert named.stored_values() == {0: "cytoplasm", 255: "nucleus"}  # the masks are 0/255
    write(tmp_path / "new", "n.png", grey((8, 8)))
    model = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Identity()])
    own_data.predict_folder(model, tmp_path / "new", tmp_path / "out", threshold=0.5, n_poolings=2, classes=named)
    assert "0 = cytoplasm, 255 = nucleus" in capsys.readouterr().out


def test_predict_folder_refuses_new_images_of_another_pixel_type_than_the_rule(tmp_path):
    import keras

    write(tmp_path / "new", "8bit.png", grey((8, 8)))
    model = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Identity()])
    with pytest.raises(ValueError, match="8bit.png.*uint8.*16-bit / 65535.*Image > Type"):
        own_data.predict_folder(model, tmp_path / "new", tmp_path / "out", n_poolings=2, rescaling="16-bit / 65535")


def test_the_check_holds_no_more_than_a_few_images_pixels_at_a_time(tmp_path):
    import tracemalloc

    for index in range(30):  # 30 pairs of 256 x 256: 30 x 64 KiB of 8-bit masks, 30 x 128 KiB of 16-bit images
        write_tif(tmp_path / "images" / f"{index}.tif", np.full((256, 256), 1000 + index, np.uint16))
        mask = np.zeros((256, 256), np.uint8)
        mask[index : index + 50, 10:90] = 255
        write(tmp_path / "masks", f"{index}.png", mask)
    tracemalloc.start()
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", crop_size=64)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.ok and len(report.pairs) == 30
    assert peak < 12 * 256 * 256 * 2  # a few images' pixels (each image 128 KiB), not 30


def test_mask_kind_asks_for_the_regions_of_binary_masks_only_when_the_folder_needs_them(tmp_path):
    summary = folder_checks.MaskSummary
    masks = {
        "one": summary(False, False, {0: 10, 1: 5}, False, False, None, None),  # binary: regions not summarised
        "two": summary(False, False, {0: 5, 1: 5, 2: 5}, False, False, True, False),  # two objects
    }
    paths = {name: tmp_path / f"{name}.tif" for name in masks}  # not on disk: a stack folder's own reader answers
    asked = []
    report = own_data.FolderReport(tmp_path, tmp_path / "masks", 2, 16)
    facts = lambda name: asked.append(name) or (True, False)  # noqa: E731
    folder_checks.read_masks_by_kind(masks, paths, "auto", None, [], 0.001, report, region_facts=facts)
    assert report.mask_kind == "instances" and asked == ["one"]
    binary_only = {"one": masks["one"]}
    folder_checks.read_masks_by_kind(binary_only, paths, "auto", None, [], 0.001, report, region_facts=facts)
    assert report.mask_kind == "binary" and asked == ["one"]  # an all-binary folder needs no regions


def test_an_imagej_two_channel_tiff_has_two_channels_whatever_its_axis_order(tmp_path):
    import tifffile

    (tmp_path / "images").mkdir()
    channels_first = np.stack([grey(value=50), grey(value=200)])  # ImageJ stores channels first: CYX
    tifffile.imwrite(tmp_path / "images" / "cell.tif", channels_first, imagej=True, metadata={"axes": "CYX"})
    write(tmp_path / "masks", "cell.png", binary_mask())
    report = own_data.check_folder(tmp_path / "images", tmp_path / "masks", crop_size=32)
    assert report.channels == {"cell": 2} and report.image_channels == 2
    assert own_data.load_checked(report).images.shape == (1, 64, 64, 2)
