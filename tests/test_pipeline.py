"""Training batches: crops of the right size, image and mask moved together, repeatable."""

import numpy as np
import pytest

from helpers.pipeline import joint_flip_and_rotate, training_batches


def _images_with_masks_that_follow_a_rule(count=3, size=48):
    """Random images whose mask is a fixed rule of the image (pixel > 0.5), so any shift shows."""
    images = np.random.default_rng(1).random((count, size, size, 1)).astype(np.float32)
    return images, (images > 0.5).astype(np.float32)


def test_batches_have_the_requested_shape():
    images, masks = _images_with_masks_that_follow_a_rule()
    x, y = next(iter(training_batches(images, masks, crop_size=16, batch_size=5)))
    assert x.shape == (5, 16, 16, 1) and y.shape == (5, 16, 16, 1)


def test_mask_stays_aligned_with_image_under_crops_flips_and_rotations():
    images, masks = _images_with_masks_that_follow_a_rule()
    for x, y in training_batches(images, masks, crop_size=16, batch_size=8).take(10):
        np.testing.assert_array_equal(y.numpy(), (x.numpy() > 0.5).astype(np.float32))


def test_crops_are_pieces_of_the_original_images():
    images, masks = _images_with_masks_that_follow_a_rule(count=1)
    x, _ = next(iter(training_batches(images, masks, crop_size=48, batch_size=4, augment=False)))
    for crop in x.numpy():
        np.testing.assert_array_equal(crop, images[0])


def test_flip_and_rotation_are_the_same_for_image_and_mask():
    import tensorflow as tf

    image = tf.reshape(tf.range(16, dtype=tf.float32), (4, 4, 1))
    for seed in range(8):
        moved_image, moved_mask = joint_flip_and_rotate(image, image * 10, tf.constant([seed, 7]))
        np.testing.assert_array_equal(moved_mask.numpy(), moved_image.numpy() * 10)
        # a flip or a rotation only moves pixels around
        assert sorted(moved_image.numpy().ravel()) == list(range(16))


def test_augmentation_shows_the_image_in_several_orientations():
    images, masks = _images_with_masks_that_follow_a_rule(count=1)
    x, _ = next(iter(training_batches(images, masks, crop_size=48, batch_size=16)))
    orientations = {crop.tobytes() for crop in x.numpy()}
    # 2 flips x 4 rotations = 8 possible orientations; 16 draws show at least 4 of them
    assert len(orientations) >= 4


def test_same_seed_gives_the_same_batches_and_another_seed_others():
    images, masks = _images_with_masks_that_follow_a_rule()
    first = next(iter(training_batches(images, masks, 16, 4, seed=3)))[0].numpy()
    again = next(iter(training_batches(images, masks, 16, 4, seed=3)))[0].numpy()
    other = next(iter(training_batches(images, masks, 16, 4, seed=4)))[0].numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_crop_larger_than_the_images_is_refused_with_the_largest_possible():
    images, masks = _images_with_masks_that_follow_a_rule(size=32)
    with pytest.raises(ValueError, match="at most 32"):
        training_batches(images, masks, crop_size=64)


def test_masks_of_another_size_are_refused():
    images, masks = _images_with_masks_that_follow_a_rule()
    with pytest.raises(ValueError, match="same size"):
        training_batches(images, masks[:, :40], crop_size=16)


def test_full_augmentation_keeps_masks_binary_and_images_in_range():
    images = np.random.default_rng(0).random((3, 40, 40, 1)).astype(np.float32)
    masks = (images > 0.5).astype(np.float32)
    batch_images, batch_masks = next(
        iter(training_batches(images, masks, crop_size=32, batch_size=4, augment="full", seed=1))
    )
    assert batch_images.shape == (4, 32, 32, 1) and batch_masks.shape == (4, 32, 32, 1)
    assert set(np.unique(batch_masks.numpy())) <= {0.0, 1.0}
    assert 0.0 <= batch_images.numpy().min() and batch_images.numpy().max() <= 1.0


def test_geometric_augmentation_moves_pixels_but_changes_no_value():
    # a constant image stays constant under any resampling; photometric changes would alter it
    images = np.full((2, 40, 40, 1), 0.5, np.float32)
    masks = np.zeros((2, 40, 40, 1), np.float32)
    masks[:, :20] = 1.0
    geometric = next(iter(training_batches(images, masks, crop_size=32, batch_size=8, augment="geometric")))
    full = next(iter(training_batches(images, masks, crop_size=32, batch_size=8, augment="full")))
    assert np.allclose(geometric[0].numpy(), 0.5)
    assert not np.allclose(full[0].numpy(), 0.5)
    # the masks moved: their half-and-half pattern points in several directions across the batch
    first_rows = geometric[1].numpy()[:, 0, :, 0].mean(axis=1)
    assert len(np.unique(np.round(first_rows, 2))) > 1


def test_unknown_augment_choice_is_refused():
    images = np.zeros((2, 16, 16, 1), np.float32)
    with pytest.raises(ValueError, match="augment must be"):
        training_batches(images, images, crop_size=16, augment="strong")
