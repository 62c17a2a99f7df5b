"""The fair-comparison runner: same seed gives the same run; scores come from the test split."""

import numpy as np
import pytest

from helpers import comparison, datasets, losses, metrics
from helpers.synthetic import membrane_section


@pytest.fixture(scope="module")
def tiny_set():
    pairs = [membrane_section(seed, size=32) for seed in range(5)]
    images = np.stack([image for image, _ in pairs])[..., None].astype(np.float32) / 255
    masks = (np.stack([mask for _, mask in pairs])[..., None] > 0).astype(np.float32)
    return images, masks, (np.array([0, 1, 2]), np.array([3]), np.array([4]))


def run(tiny_set, **options):
    images, masks, split = tiny_set
    settings = dict(steps=2, epochs=1, crop_size=32, batch_size=2, filters=2, n_poolings=1, seed=0)
    return comparison.train_and_score(losses.training_loss("bce"), images, masks, split, **{**settings, **options})


def test_same_seed_same_result_and_scores_from_the_test_split(tiny_set):
    first, second = run(tiny_set), run(tiny_set)
    np.testing.assert_allclose(first["probabilities"], second["probabilities"], atol=1e-5)
    images, masks, (_, _, test) = tiny_set
    expected = metrics.evaluate_segmentation(masks[test], first["probabilities"], first["threshold"])
    assert first["dice"] == pytest.approx(expected["dice"])
    assert first["recall"] == pytest.approx(expected["recall"])
    assert len(first["history"].history["loss"]) == 1


def test_bad_settings_are_named(tiny_set):
    with pytest.raises(ValueError, match=r"Unknown setting\(s\) \['crop'\]; use .*'crop_size'"):
        run(tiny_set, crop=32)
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd'"):
        run(tiny_set, optimizer="rmsprop")
    with pytest.raises(ValueError, match=r"steps \(1\).*epochs \(2\)"):
        run(tiny_set, steps=1, epochs=2)


def test_small_foreground_smoke_set_is_the_bundled_one():
    assert datasets.load_small_foreground("smoke").source == "bundled synthetic mitochondria (data/mitochondria)"
    with pytest.raises(ValueError, match="Unknown mode 'fast'"):
        datasets.load_small_foreground("fast")


@pytest.mark.parametrize(
    "minutes, n_choices, n_seeds, start, expected",
    [
        (1, 2, 1, 0.0, 240),  # (30 s - 6 passes of 1 s) / 0.1 s = 240 steps
        (1, 2, 1, 10.0, 140),  # each choice also pays 10 s to start: 100 steps fewer
        (1, 6, 1, 10.0, 4),  # the budget does not cover the starts: the minimum, one step per epoch
        (1, 1, 2, 10.0, 188),  # two seeds of one choice pay one start: (60 - 10) / 2 - 6 = 19 s, 190 -> 188
    ],
)
def test_shared_budget_pays_each_choices_start_and_each_runs_passes(minutes, n_choices, n_seeds, start, expected):
    from helpers.training import StepTiming

    timing = StepTiming(0.1, 1.0, start)
    steps = comparison.steps_for_minutes(minutes, n_choices, timing, epochs=4, n_seeds=n_seeds)
    assert steps == expected and steps % 4 == 0


def test_thresholds_reach_closer_to_0_and_1_than_the_course_grid():
    grid = metrics.THRESHOLD_GRID
    assert set(grid) <= set(comparison.THRESHOLDS)
    assert comparison.THRESHOLDS.min() < grid.min() and comparison.THRESHOLDS.max() > grid.max()
    assert np.all(np.diff(comparison.THRESHOLDS) > 0) and comparison.THRESHOLDS.max() < 1


def test_separated_pairs_ranks_only_ranges_that_do_not_overlap():
    def runs(*dice):
        return [{"dice": value} for value in dice]

    arms = {"a": runs(0.80, 0.82, 0.81), "b": runs(0.70, 0.75, 0.79), "c": runs(0.74, 0.81, 0.76)}
    lines = comparison.separated_pairs(arms)
    assert lines == ["a above b: dice 0.800-0.820 against 0.700-0.790 over 3 and 3 seeds"]
    assert comparison.separated_pairs({"a": runs(0.8, 0.9), "b": runs(0.85, 0.86)}) == []
