"""Tests for helpers.instances against hand-made label images and scikit-image."""

import numpy as np
import pytest
import skimage.draw

from helpers import datasets, instances, plotting


def two_touching_discs(radius=10, gap=16, size=(40, 60)):
    """Two discs whose centres are ``gap`` pixels apart (they overlap when gap < 2 * radius)."""
    truth = np.zeros(size, np.int32)
    centre = size[0] // 2
    left = size[1] // 2 - gap // 2
    for label, column in ((1, left), (2, left + gap)):
        rr, cc = skimage.draw.disk((centre, column), radius, shape=size)
        truth[rr, cc] = np.where(truth[rr, cc] == 0, label, truth[rr, cc])
    return truth


def test_label_objects_counts_sides_and_corners():
    mask = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert instances.label_objects(mask, connectivity=1).max() == 3  # corners do not join
    assert instances.label_objects(mask, connectivity=2).max() == 1
    assert instances.label_objects(mask[..., None]).shape == (3, 3)


def test_min_area_drops_specks():
    mask = np.zeros((8, 8), int)
    mask[0:3, 0:3] = 1  # 9 pixels
    mask[6, 6] = 1  # 1 pixel
    assert instances.label_objects(mask).max() == 2
    kept = instances.label_objects(mask, min_area=2)
    assert kept.max() == 1 and kept[6, 6] == 0 and np.all(kept[0:3, 0:3] == 1)
    assert instances.separate_touching(mask, min_distance=1, min_area=2).max() == 1


def test_touching_discs_merge_as_components_and_separate_by_watershed():
    truth = two_touching_discs()
    mask = truth > 0
    assert instances.label_objects(mask).max() == 1
    separated = instances.separate_touching(mask, min_distance=5)
    assert separated.max() == 2
    result = instances.match_objects(truth, separated)
    assert result["matched"] == 2 and result["f1"] == 1.0
    assert result["mean_matched_iou"] > 0.9
    # the cut runs between the two centres: each centre keeps its own label
    assert separated[20, 22] != separated[20, 38]


def test_separate_touching_keeps_single_objects_and_background():
    mask = np.zeros((30, 30), bool)
    mask[5:15, 5:15] = True  # square: distance maximum is a 2x2 plateau
    mask[20:26, 20:26] = True
    labels = instances.separate_touching(mask, min_distance=3)
    assert labels.max() == 2
    assert np.all(labels[~mask] == 0) and np.all(labels[mask] > 0)


def test_threshold_objects_finds_bright_touching_nuclei_and_misses_a_dim_one():
    truth = two_touching_discs()
    rr, cc = skimage.draw.disk((8, 8), 5, shape=truth.shape)
    truth[rr, cc] = 3
    image = np.where(truth > 0, 0.8, 0.1) + np.random.default_rng(0).normal(0, 0.02, truth.shape)
    image[truth == 3] = 0.3  # a dim nucleus: Otsu's threshold lies between it and the bright two
    found = instances.threshold_objects(image, min_distance=5)
    scores = instances.match_objects(truth, found)
    assert found.dtype == np.int32 and scores["matched"] == 2 and scores["missed"] == 1 and scores["extra"] == 0
    assert {t for t, _, _ in scores["pairs"]} == {1, 2}
    assert instances.threshold_objects(image, threshold=0.2).max() == 3, "a lower threshold keeps the dim one"
    assert instances.threshold_objects(np.full((5, 5), 0.4)).max() == 0


def test_distance_to_background_by_hand():
    mask = np.zeros((7, 7), int)
    mask[1:6, 1:6] = 1
    distance = instances.distance_to_background(mask)
    assert distance[3, 3] == 3 and distance[1, 1] == 1 and distance[0, 0] == 0
    assert distance[2, 3] == 2


def test_match_objects_hand_made():
    truth = np.zeros((6, 8), int)
    truth[0:2, 0:2] = 1  # 4 pixels
    truth[0:2, 4:8] = 2  # 8 pixels
    truth[4:6, 0:2] = 3  # 4 pixels, missed
    prediction = np.zeros_like(truth)
    prediction[0:2, 0:3] = 7  # IoU 4/6 with object 1 -> matched
    prediction[0:2, 4:6] = 9  # IoU 4/8 = 0.5 with object 2 -> matched (>=)
    prediction[4:6, 5:8] = 4  # nothing there -> extra
    result = instances.match_objects(truth, prediction)
    assert result["pairs"] == [(1, 7, pytest.approx(4 / 6)), (2, 9, 0.5)]
    assert (result["matched"], result["missed"], result["extra"]) == (2, 1, 1)
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["f1"] == pytest.approx(2 * 2 / (3 + 3))
    stricter = instances.match_objects(truth, prediction, iou_threshold=0.6)
    assert stricter["matched"] == 1


def test_match_is_one_to_one_at_exactly_half():
    truth = np.zeros((2, 4), int)
    truth[:, :] = 1
    prediction = np.zeros_like(truth)
    prediction[:, :2] = 1
    prediction[:, 2:] = 2  # both halves have IoU exactly 0.5 with the one true object
    result = instances.match_objects(truth, prediction)
    assert result["matched"] == 1 and result["extra"] == 1


def test_iou_matrix_equals_a_direct_computation():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, (20, 20))
    prediction = rng.integers(0, 3, (20, 20))
    iou, true_ids, predicted_ids = instances.iou_matrix(truth, prediction)
    for i, t in enumerate(true_ids):
        for j, p in enumerate(predicted_ids):
            a, b = truth == t, prediction == p
            assert iou[i, j] == pytest.approx(np.sum(a & b) / np.sum(a | b))


def test_empty_images_and_match_many():
    empty = np.zeros((4, 4), int)
    assert instances.match_objects(empty, empty)["f1"] == 1.0
    one = empty.copy()
    one[1:3, 1:3] = 1
    assert instances.match_objects(one, empty)["recall"] == 0.0
    total = instances.match_many([one, one, empty], [one, empty, one])
    assert (total["true_objects"], total["predicted_objects"], total["matched"]) == (2, 2, 1)
    assert total["f1"] == pytest.approx(0.5)


def test_average_precision_is_the_dsb_2018_score_by_hand():
    truth = np.zeros((10, 12), np.int32)
    truth[1:5, 1:7] = 1  # 24 pixels
    truth[7:9, 8:11] = 2  # 6 pixels, never found
    prediction = np.zeros((10, 12), np.int32)
    prediction[1:5, 1:5] = 7  # inside nucleus 1: IoU 16/24 = 0.667
    prediction[7:9, 1:3] = 9  # a speck on background
    # thresholds 0.5, 0.55, 0.6, 0.65: TP 1, FP 1, FN 1 -> 1/3; the six above: TP 0 -> 0
    assert instances.DSB_THRESHOLDS == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    assert instances.average_precision(truth, prediction) == pytest.approx(4 / 3 / 10)
    assert instances.average_precision(truth, prediction, thresholds=[0.5]) == pytest.approx(1 / 3)
    assert instances.average_precision(truth, prediction, thresholds=[0.7, 0.9]) == 0.0
    # a perfect prediction scores 1 at every threshold, whatever the ids; nothing on both sides too
    assert instances.average_precision(truth, np.where(truth > 0, truth + 40, 0)) == 1.0
    assert instances.average_precision(np.zeros((4, 4), int), np.zeros((4, 4), int)) == 1.0
    assert instances.average_precision(truth, np.zeros_like(truth)) == 0.0


def test_average_precision_refuses_thresholds_outside_0_1():
    truth = np.ones((3, 3), int)
    for bad in ([], [0.0], [1.5]):
        with pytest.raises(ValueError, match="thresholds"):
            instances.average_precision(truth, truth, thresholds=bad)


def test_measure_objects_by_hand():
    labels = np.zeros((4, 6), int)
    labels[0:2, 0:2] = 1
    labels[1:4, 3:6] = 2
    image = np.zeros((4, 6))
    image[0:2, 0:2] = 0.5
    image[1:4, 3:6] = [[0.1, 0.2, 0.3]] * 3
    table = instances.measure_objects(labels, image[..., None])
    assert table["label"].tolist() == [1, 2]
    assert table["area"].tolist() == [4, 9]
    assert table["mean_intensity"] == pytest.approx([0.5, 0.2])
    assert table["max_intensity"] == pytest.approx([0.5, 0.3])
    assert table["centroid_row"] == pytest.approx([0.5, 2.0])
    assert table["centroid_column"] == pytest.approx([0.5, 4.0])
    assert "2 more" not in instances.format_table(table)
    assert "1 more objects" in instances.format_table(table, rows=1)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="binary mask of 0 and 1"):
        instances.label_objects(np.array([[0, 0.7]]))
    with pytest.raises(ValueError, match="2-D image"):
        instances.label_objects(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="connectivity"):
        instances.label_objects(np.zeros((3, 3)), connectivity=4)
    with pytest.raises(ValueError, match="min_distance"):
        instances.separate_touching(np.zeros((3, 3)), min_distance=0)
    with pytest.raises(ValueError, match="same image"):
        instances.match_objects(np.zeros((3, 3), int), np.zeros((3, 4), int))
    with pytest.raises(ValueError, match="label image"):
        instances.match_objects(np.zeros((3, 3)), np.zeros((3, 3), int))
    with pytest.raises(ValueError, match="iou_threshold"):
        instances.match_objects(np.zeros((3, 3), int), np.zeros((3, 3), int), iou_threshold=0)


def test_color_objects_gives_each_object_one_colour():
    labels = np.zeros((4, 4), int)
    labels[:2] = 1
    labels[2:] = 2
    picture = plotting.color_objects(labels)
    assert picture.shape == (4, 4, 3)
    assert np.allclose(picture[0, 0], picture[1, 3]) and not np.allclose(picture[0, 0], picture[3, 0])
    assert plotting.show_objects(np.zeros((4, 4)), [labels], ["truth"], show=False) is not None


# --- the nucleus data (datasets.load_nuclei) -----------------------------------------------------

from support import png_bytes, register  # noqa: E402,F401


def fake_dsb(mirror, bright_field_second=True):
    """Two DSB-like images, 260x300 RGBA, with two one-nucleus mask files each."""
    files = {}
    for number, name in enumerate(("aaaa1111", "bbbb2222")):
        dark = not (bright_field_second and number == 1)
        image = np.full((260, 300, 4), 20 if dark else 230, np.uint8)
        image[..., 3] = 255
        for mask_name, (row, col) in (("m1", (40, 40)), ("m2", (40, 52))):  # two touching nuclei
            mask = np.zeros((260, 300), np.uint8)
            rr, cc = skimage.draw.disk((row, col), 7)
            mask[rr, cc] = 255
            image[rr, cc, :3] = 200 if dark else 60
            files[f"stage1_train/{name}/masks/{mask_name}.png"] = png_bytes(mask)
        files[f"stage1_train/{name}/images/{name}.png"] = png_bytes(image)
    register(mirror, "dsb2018_subset", files)


def test_load_nuclei_default_builds_label_images(mirror, capsys):
    fake_dsb(mirror)
    nuclei = datasets.load_nuclei("default", size=256)
    assert nuclei.images.shape == (2, 256, 256, 1) and nuclei.labels.shape == (2, 256, 256)
    assert nuclei.names == ["aaaa1111", "bbbb2222"]
    for image, labels in zip(nuclei.images, nuclei.labels):
        assert sorted(np.unique(labels).tolist()) == [0, 1, 2]  # m1 -> 1, m2 -> 2 (first keeps overlaps)
        assert image[40, 40, 0] > 0.9 and image[200, 200, 0] < 0.1  # nuclei bright, also in bright-field
    assert "DSB 2018" in nuclei.source


def test_load_nuclei_falls_back_to_bundled(mirror, capsys):
    fake_dsb(mirror)
    import shutil

    shutil.rmtree(mirror.folder / "tester")  # the server has nothing: the download fails
    nuclei = datasets.load_nuclei("default")
    assert "bundled" in nuclei.source and "Could not get the DSB 2018 nuclei" in capsys.readouterr().out


def test_bundled_nuclei_touch_and_have_instance_labels():
    nuclei = datasets.load_nuclei("smoke")
    assert nuclei.images.shape == (12, 128, 128, 1) and nuclei.labels.dtype == np.int32
    merged = sum(instances.label_objects(labels > 0).max() for labels in nuclei.labels)
    assert merged < sum(labels.max() for labels in nuclei.labels)  # some nuclei touch


def test_dsb_label_image_checks_sizes(tmp_path):
    path = tmp_path / "m.png"
    path.write_bytes(png_bytes(np.zeros((5, 6), np.uint8)))
    with pytest.raises(ValueError, match="must cover the whole image"):
        datasets.dsb_label_image([path], (6, 6))
    with pytest.raises(ValueError, match="Unknown mode"):
        datasets.load_nuclei("fast")
