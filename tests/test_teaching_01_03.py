"""Issue 14 for notebooks 01 and 03: receptive field, ISBI 2012 measures, error maps, and the new exercise checks."""

import keras
import matplotlib
import numpy as np
import pytest
from keras import layers
from skimage.metrics import adapted_rand_error, variation_of_information

from helpers import exercises, inference, metrics, models, plotting

matplotlib.use("Agg")


def sequential(*stack, shape=(32, 32, 1)):
    x = image = keras.Input(shape)
    for layer in stack:
        x = layer(x)
    return keras.Model(image, x)


# --- receptive_field -------------------------------------------------------------------------


def test_two_3x3_convolutions_see_5_pixels():
    model = sequential(layers.Conv2D(1, 3, padding="same"), layers.Conv2D(1, 3, padding="same"))
    assert inference.receptive_field(model) == 5


def test_conv_pool_conv_sees_8_pixels():
    # conv: 3; pool: 4 (each pooled pixel stands for 2); conv on the pooled grid: 4 + 2 * 2 = 8
    model = sequential(layers.Conv2D(1, 3, padding="same"), layers.MaxPooling2D(2), layers.Conv2D(1, 3, padding="same"))
    assert inference.receptive_field(model) == 8


def test_valid_padding_and_dilation_add_up_the_same_way():
    assert inference.receptive_field(sequential(layers.Conv2D(1, 3), layers.Conv2D(1, 5))) == 7
    assert inference.receptive_field(sequential(layers.Conv2D(1, 3, dilation_rate=2, padding="same"))) == 5


@pytest.mark.parametrize("poolings, expected", [(1, 21), (2, 53), (4, 245)])
def test_build_unet_receptive_field_by_hand(poolings, expected):
    # by hand, reach each way: down 2+4+8+16 (two convs per level), bottom 2*16; up per level:
    # upsampling (factor - 1) * new step, the 3x3 up-convolution and two convs: 4 poolings:
    # 62 + (8+8+16) + (4+4+8) + (2+2+4) + (1+1+2) = 122, field 2 * 122 + 1 = 245
    model = models.build_unet(input_shape=(None, None, 1), filters=2, n_poolings=poolings, batch_norm=True)
    assert inference.receptive_field(model) == expected


def test_receptive_field_bounds_the_measured_dependence_and_is_reached():
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    side, reach = 96, 26  # 2 poolings: field 53
    model = models.build_unet(input_shape=(side, side, 1), filters=4, n_poolings=2)
    assert inference.receptive_field(model) == 2 * reach + 1
    image = tf.Variable(np.random.default_rng(0).random((1, side, side, 1)).astype("float32"))
    lefts, rights = [], []
    for column in range(48, 52):  # every position on the 4-pixel pooling grid
        with tf.GradientTape() as tape:
            value = model(image)[0, 48, column, 0]
        used = np.nonzero(np.abs(tape.gradient(value, image).numpy()[0, :, :, 0]).sum(axis=0))[0]
        lefts.append(column - used.min())
        rights.append(used.max() - column)
    assert max(lefts) == reach and max(rights) == reach


def test_transpose_convolution_with_kernel_equal_to_stride_adds_nothing_beyond_the_copy():
    model = sequential(layers.MaxPooling2D(2), layers.Conv2DTranspose(1, 2, strides=2))
    # an output pixel depends on itself and its partner of the same 2x2 pooling block, which lies
    # 1 pixel to its left or to its right depending on where it sits: the square of 3 holds both cases
    assert inference.receptive_field(model) == 3


def test_unknown_layer_is_named():
    model = sequential(layers.Conv2D(1, 3, padding="same"), layers.Flatten())
    with pytest.raises(ValueError, match="Flatten"):
        inference.receptive_field(model)


# --- ISBI 2012 measures ----------------------------------------------------------------------


def cross_membrane():
    mask = np.zeros((9, 9), np.uint8)
    mask[4, :] = 1
    mask[:, 4] = 1
    return mask  # four cells of 4x4


def test_cells_are_4_connected_regions_of_non_membrane():
    cells = metrics.cells_from_membranes(cross_membrane())
    assert cells.max() == 4 and (cells[cross_membrane() == 1] == 0).all()
    diagonal = np.eye(4, dtype=np.uint8)  # a diagonal membrane one pixel thick separates two cells
    assert metrics.cells_from_membranes(diagonal).max() == 2


def test_perfect_prediction_has_zero_errors():
    scores = metrics.isbi_errors(cross_membrane(), cross_membrane().astype(float))
    assert scores["adapted_rand_error"] == pytest.approx(0)
    assert scores["variation_of_information"] == pytest.approx(0)


def test_a_gap_merges_two_cells_as_skimage_counts_it():
    predicted = cross_membrane()
    predicted[4, 1] = 0  # a gap joins the top-left and bottom-left cells
    truth_labels = np.array([[1] * 4 + [0] + [2] * 4] * 4 + [[0] * 9] + [[3] * 4 + [0] + [4] * 4] * 4)  # drawn by hand
    # true membrane pixels are left out, so only the cells' labels matter: cells 1 and 3 become one
    merged = truth_labels.copy()
    merged[merged == 3] = 1
    scores = metrics.isbi_errors(cross_membrane(), predicted)
    expected_rand = adapted_rand_error(truth_labels, merged, ignore_labels=(0,))[0]
    split, merge = variation_of_information(truth_labels, merged, ignore_labels=(0,))
    assert scores["adapted_rand_error"] == pytest.approx(expected_rand, abs=1e-9)
    assert scores["vi_split"] == pytest.approx(split, abs=1e-9)
    assert scores["vi_merge"] == pytest.approx(merge, abs=1e-9)
    # merging two equal cells of 16 true pixels each: H(truth | prediction) = 0.5 bit
    assert merge == pytest.approx(0.5) and split == pytest.approx(0)


def test_isbi_errors_average_over_images():
    truth = np.stack([cross_membrane(), cross_membrane()])[..., None]
    gap = cross_membrane()
    gap[4, 1] = 0
    both = metrics.isbi_errors(truth, np.stack([cross_membrane(), gap])[..., None].astype(float))
    one = metrics.isbi_errors(cross_membrane(), gap)
    assert both["adapted_rand_error"] == pytest.approx(one["adapted_rand_error"] / 2)


# --- error maps, differences, colour bar --------------------------------------------------------


def test_error_overlay_paints_false_positives_orange_and_false_negatives_blue():
    image = np.full((2, 2), 0.5)
    truth = np.array([[1, 1], [0, 0]])
    predicted = np.array([[1, 0], [1, 0]])
    painted = plotting.error_overlay(image, truth, predicted)
    assert np.allclose(painted[1, 0], [0xE6 / 255, 0x9F / 255, 0])  # predicted, not true
    assert np.allclose(painted[0, 1], [0, 0x72 / 255, 0xB2 / 255])  # true, missed
    assert np.allclose(painted[0, 0], painted[1, 1])  # right pixels stay grey


def test_error_overlay_refuses_masks_of_another_size():
    with pytest.raises(ValueError, match="prediction"):
        plotting.error_overlay(np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((3, 4)))


def test_show_errors_draws_one_panel_per_image_with_a_legend():
    figure = plotting.show_errors(np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), np.ones((2, 8, 8)), show=False)
    assert len(figure.axes) == 2 and figure.legends
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert any("false positive" in label for label in labels) and any("false negative" in label for label in labels)


def test_show_differences_uses_one_symmetric_scale_and_a_colour_bar():
    figure = plotting.show_differences(
        [np.array([[0, 1.0], [0, 0]]), np.array([[-0.25, 0], [0, 0]])], ["a", "b"], show=False
    )
    images = [ax.images[0] for ax in figure.axes if ax.images]
    assert all(image.get_clim() == (-1.0, 1.0) for image in images)
    assert len(figure.axes) == 3  # two panels and the colour bar


def test_show_images_puts_a_colour_bar_on_the_probabilities():
    figure = plotting.show_images(np.zeros((1, 8, 8)), np.zeros((1, 8, 8)), np.full((1, 8, 8), 0.3), show=False)
    assert len(figure.axes) == 5  # image, mask, probability, overlay, and the colour bar
    assert [ax.get_label() for ax in figure.axes].count("<colorbar>") == 1


# --- exercise checks -------------------------------------------------------------------------


def test_small_unet_reference_has_the_hand_counted_parameters():
    # 80 + 584 + 1168 + 2320 + 4640 + 9248 (down, bottom) + 2064 + 4624 + 2320 + 520 + 1160 + 584 (up) + 9
    reference = exercises.reference_small_unet()
    assert reference.count_params() == 29321 and reference.output_shape == (None, 64, 64, 1)
    assert exercises.check_small_unet(exercises.reference_small_unet())
    assert not exercises.check_small_unet(None)


def test_small_unet_without_a_skip_is_refused():
    image = keras.Input((64, 64, 1))
    x = layers.Conv2D(8, 3, padding="same")(image)
    assert not exercises.check_small_unet(keras.Model(image, layers.Conv2D(1, 1)(x)))


def test_threshold_prediction_follows_the_recall(capsys):
    rng = np.random.default_rng(0)
    truth = rng.random((2, 16, 16, 1)) < 0.3
    probability = np.clip(truth * 0.4 + rng.random(truth.shape) * 0.6, 0, 1)  # some true pixels below 0.6
    low = metrics.evaluate_segmentation(truth, probability, 0.2)["recall"]
    chosen = metrics.evaluate_segmentation(truth, probability, 0.6)["recall"]
    expected = "higher" if low > chosen else "lower"
    assert exercises.check_recall_prediction(expected, 0.2, truth, probability, 0.6)
    assert not exercises.check_recall_prediction(
        "lower" if expected == "higher" else "higher", 0.2, truth, probability, 0.6
    )
    assert not exercises.check_recall_prediction(None, 0.2, truth, probability, 0.6)


@pytest.mark.parametrize("gap", [1, 2, 5])
def test_gap_prediction_uses_the_real_measures(gap):
    predicted = exercises.membrane_with_gap(gap)
    assert exercises.GAP_TRUTH.sum() - predicted.sum() == gap
    dice = metrics.dice_score(exercises.GAP_TRUTH, predicted)
    rand = metrics.isbi_errors(exercises.GAP_TRUTH, predicted)["adapted_rand_error"]
    expected = "rand" if rand > 1 - dice else "dice"
    assert exercises.check_gap_prediction(expected, gap)
    assert not exercises.check_gap_prediction("dice" if expected == "rand" else "rand", gap)


def test_margin_prediction_reads_the_measured_difference():
    keras.utils.set_random_seed(0)
    model = models.build_unet(input_shape=(None, None, 1), filters=2, n_poolings=2, dropout=0.0)
    field = inference.receptive_field(model)  # 53: 26 each way
    image = np.random.default_rng(0).random((192, 192)).astype(np.float32)
    whole = model.predict(image[None, ..., None], verbose=0)[0]
    inside = (slice(32, -32), slice(32, -32))
    for margin, expected in ((32, "exact"), (8, "differs")):
        tiled = inference.predict_tiled(
            model, image, tile=32 + 2 * margin, overlap=margin, blending="overlap-tile", divisible_by=4
        )
        difference = np.abs(tiled - whole)[inside].max()
        assert (difference <= exercises.ROUND_OFF) == (expected == "exact")
        assert exercises.check_margin_prediction(expected, margin, difference, field)


def test_overlap_prediction_compares_the_two_seams():
    assert exercises.check_seam_prediction("sharper", 4, 0.2, 16, 0.1)
    assert exercises.check_seam_prediction("softer", 30, 0.05, 16, 0.1)
    assert not exercises.check_seam_prediction("softer", 4, 0.2, 16, 0.1)
    assert not exercises.check_seam_prediction("softer", 16, 0.1, 16, 0.1)


def test_every_new_exercise_has_a_hint(capsys):
    for name in ("small_unet", "threshold", "gap", "margin", "overlap"):
        exercises.hint(name)
        assert capsys.readouterr().out.startswith("Hint:")


def test_tile_figure_has_a_colour_bar_for_the_probabilities():
    figure = plotting.tile_figure(np.zeros((64, 64)), np.full((64, 64), 0.5), [(0, 0, 32, 32)], 0)
    assert [ax.get_label() for ax in figure.axes].count("<colorbar>") == 1


def test_no_two_exercise_modules_export_the_same_check():
    # exercises/__init__ star-imports every module: a second check_... of the same name would hide the first
    import collections
    import importlib

    from helpers.exercises.common import EXERCISE_MODULES

    owners = collections.defaultdict(list)
    for module in EXERCISE_MODULES:
        for name in importlib.import_module(f"helpers.exercises.{module}").__all__:
            owners[name].append(module)
    assert {name: found for name, found in owners.items() if len(found) > 1 and name != "HINTS"} == {}


def test_the_unet_written_out_in_notebook_01_is_build_unets():
    import json

    from helpers.course import course_root

    cells = json.loads((course_root() / "notebooks" / "01_intro_unet.ipynb").read_text())["cells"]
    (source,) = [
        "".join(c["source"]) for c in cells if c["cell_type"] == "code" and "def make_unet(" in "".join(c["source"])
    ]
    namespace = {"keras": keras}
    exec(source, namespace)
    written = namespace["make_unet"](filters=2, n_poolings=2)
    built = models.build_unet(input_shape=(None, None, 1), filters=2, n_poolings=2, batch_norm=True, dropout=0.0)
    assert [layer.get_config() for layer in written.layers] == [layer.get_config() for layer in built.layers]


# --- the notebooks of this brief: imports, exercise order, the retraining exercise -----------------------


def _notebook_text(name, kind):
    import json

    from helpers.course import course_root

    cells = json.loads((course_root() / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == kind)


@pytest.mark.parametrize("name", ["01_intro_unet", "03_tiling", "05_multiclass"])
def test_notebook_imports_at_most_ten_helpers_modules_and_numbers_its_exercises_in_order(name):
    import re

    code = _notebook_text(name, "code")
    modules = {m.strip() for line in re.findall(r"^from helpers import (.+)$", code, re.M) for m in line.split(",")}
    modules |= set(re.findall(r"^(?:from|import) helpers\.(\w+)", code, re.M))
    assert len(modules) <= 10, f"{name} imports {len(modules)} helpers modules: {sorted(modules)}"
    numbers = [int(n) for n in re.findall(r"^\*\*Exercise (\d+)", _notebook_text(name, "markdown"), re.M)]
    assert numbers == sorted(numbers) and numbers[0] == 1, f"{name}: exercises in the order {numbers}"


def test_notebook_01_has_an_exercise_that_changes_the_training_and_retrains():
    code = _notebook_text("01_intro_unet", "code")
    assert "Adam(my_learning_rate)" in code and ".fit(" in code.split("my_learning_rate =", 1)[1]
    assert "exercises.check_learning_rate_prediction(my_prediction, my_learning_rate" in code
