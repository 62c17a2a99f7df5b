"""The classical pixel classifier (random forest on per-pixel features)."""

import numpy as np
import pytest

from helpers.metrics import dice_score
from helpers.models import pixel_features, predict_pixel_classifier, train_pixel_classifier
from helpers.synthetic import membrane_section


def _sections(seeds, size=64):
    pairs = [membrane_section(seed, size=size) for seed in seeds]
    images = np.stack([p[0] for p in pairs])[..., None] / 255.0
    masks = np.stack([p[1] for p in pairs])[..., None] / 255.0
    return images.astype(np.float32), masks.astype(np.float32)


def test_features_describe_every_pixel():
    features = pixel_features(np.random.default_rng(0).random((20, 30, 1)))
    assert features.shape[:2] == (20, 30) and features.shape[2] >= 10


def test_features_need_one_grey_image():
    with pytest.raises(ValueError, match="one grey image"):
        pixel_features(np.zeros((2, 20, 30, 1)))


def test_forest_learns_membranes_on_unseen_sections():
    train_images, train_masks = _sections([0, 1, 2])
    test_images, test_masks = _sections([10, 11])
    forest = train_pixel_classifier(train_images, train_masks, pixels_per_image=3000)
    probability = predict_pixel_classifier(forest, test_images)
    assert probability.shape == test_images.shape
    assert dice_score(test_masks > 0.5, probability > 0.5) > 0.6


def test_forest_needs_one_mask_per_image():
    images, masks = _sections([0, 1])
    with pytest.raises(ValueError, match="one mask per image"):
        train_pixel_classifier(images, masks[:1])
