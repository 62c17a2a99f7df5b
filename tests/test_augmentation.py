"""Joint augmentation keeps image and mask aligned; photometric changes never touch the mask."""

import numpy as np
import pytest
import tensorflow as tf

from helpers import augmentation, keras_unet


def _image_and_rule_mask(shape=(48, 64, 1), seed=0):
    image = np.random.default_rng(seed).random(shape).astype(np.float32)
    return image, (image > 0.5).astype(np.float32)


@pytest.mark.parametrize("seed", range(6))
def test_mask_derived_from_image_still_matches_after_every_joint_change(seed):
    image, mask = _image_and_rule_mask()
    out_image, out_mask = augmentation.joint_augment(
        image, mask, tf.constant([seed, 3]), rotation=30, shear=0.2, zoom=0.2, shift=0.1, image_interpolation="NEAREST"
    )
    out_image, out_mask = out_image.numpy(), out_mask.numpy()
    np.testing.assert_array_equal(out_mask, (out_image > 0.5).astype(np.float32))
    assert not np.array_equal(out_image, image)  # something did move


def test_flips_and_quarter_turns_are_exact_rearrangements_with_bilinear_image():
    image, mask = _image_and_rule_mask((40, 40, 1))
    seen = set()
    for seed in range(12):
        out_image, out_mask = augmentation.joint_augment(
            image, mask, tf.constant([seed, 0]), rotation=0, shear=0, zoom=0, shift=0
        )
        out_image = out_image.numpy()[..., 0]
        matches = [
            k
            for k in range(4)
            for flip in (False, True)
            if np.allclose(out_image, np.rot90(np.fliplr(image[..., 0]) if flip else image[..., 0], k), atol=1e-5)
        ]
        assert matches, "a flip/quarter turn should only rearrange pixels"
        np.testing.assert_array_equal(out_mask.numpy(), (out_image > 0.5)[..., None].astype(np.float32))
        seen.add(out_image.tobytes())
    assert len(seen) >= 4


def test_mask_stays_binary_with_bilinear_image_and_same_seed_same_change():
    image, mask = _image_and_rule_mask()
    first = augmentation.joint_augment(image, mask, tf.constant([5, 5]))
    second = augmentation.joint_augment(image, mask, tf.constant([5, 5]))
    assert set(np.unique(first[1].numpy())) <= {0.0, 1.0}
    np.testing.assert_array_equal(first[0].numpy(), second[0].numpy())


def test_affine_matrix_matches_hand_computed_flip_and_turn():
    # flipping left-right a 5-wide image reads output x from input 4 - x
    flip = augmentation.affine_matrix(3, 5, flip=True)
    np.testing.assert_allclose(flip @ [0, 1, 1], [4, 1, 1])
    turn = augmentation.affine_matrix(5, 5, quarter_turns=1)
    np.testing.assert_allclose(turn @ [2, 2, 1], [2, 2, 1])  # the centre stays
    np.testing.assert_allclose(turn @ [4, 2, 1], [2, 4, 1])
    with pytest.raises(ValueError, match="zoom"):
        augmentation.affine_matrix(3, 3, zoom=0)


@pytest.mark.parametrize("channels", [1, 3])
def test_photometric_changes_stay_in_range_and_leave_the_mask_alone(channels):
    image, mask = _image_and_rule_mask((32, 32, channels))
    for seed in range(4):
        out_image, out_mask = augmentation.augment_pair(
            image, mask, seed=seed, geometric=False, brightness=0.5, contrast=0.5, noise=0.1
        )
        assert out_image.min() >= 0.0 and out_image.max() <= 1.0
        np.testing.assert_array_equal(out_mask, mask)
        assert not np.allclose(out_image, image)


def test_augment_pair_keeps_shapes_and_rejects_bad_input():
    image, mask = _image_and_rule_mask((32, 40, 1))
    out_image, out_mask = augmentation.augment_pair(image[..., 0], mask[..., 0], seed=1)
    assert out_image.shape == (32, 40) and out_mask.shape == (32, 40)
    with pytest.raises(ValueError, match="same height and width"):
        augmentation.augment_pair(image, mask[:10])
    with pytest.raises(ValueError, match="rotaton"):
        augmentation.augment_pair(image, mask, rotaton=5)


def test_elastic_deformation_moves_image_and_mask_together():
    image, mask = _image_and_rule_mask((40, 40))
    # a blocky image, so linear and nearest reading agree away from block edges
    blocks = np.kron(np.random.default_rng(1).random((5, 5)), np.ones((8, 8))).astype(np.float32)
    out_image, out_mask = augmentation.elastic_deform(blocks, (blocks > 0.5).astype(np.float32), seed=2)
    assert set(np.unique(out_mask)) <= {0.0, 1.0}
    agreement = np.mean(out_mask == (out_image > 0.5))
    assert agreement > 0.95
    assert not np.array_equal(out_image, blocks)
    with pytest.raises(ValueError, match="sigma"):
        augmentation.elastic_deform(image, mask, sigma=0)


def test_folded_fraction_by_hand():
    rows, columns = np.meshgrid(np.arange(6.0), np.arange(6.0), indexing="ij")
    zero = np.zeros((6, 6))
    assert augmentation.folded_fraction(zero, zero) == 0.0  # no displacement: nothing folds
    assert augmentation.folded_fraction(zero, -2 * columns) == 1.0  # x -> -x everywhere: mirrored
    assert augmentation.folded_fraction(zero, 0.5 * columns) == 0.0  # stretched, never mirrored
    half = np.where(columns < 3, 0.0, -2 * (columns - 3))  # the right half read back to front
    assert 0.3 < augmentation.folded_fraction(rows * 0, half) < 0.7


@pytest.mark.parametrize("seed", range(3))
def test_the_course_elastic_setting_folds_under_1_percent_where_the_old_one_folded_a_fifth(seed):
    course = augmentation.displacement_field((512, 512), seed=seed)
    assert np.abs(course).max() == pytest.approx(augmentation.ELASTIC_DEFAULTS["alpha"])
    assert augmentation.folded_fraction(*course) < 0.01
    old = augmentation.displacement_field((512, 512), seed=seed, alpha=30, sigma=6)
    assert augmentation.folded_fraction(*old) > 0.15


def test_exercise_checks_of_notebook_02(capsys):
    from helpers import exercises

    assert not exercises.check_joint_flip(None)
    assert not exercises.check_joint_flip(lambda image, mask: (image[:, ::-1], mask))
    assert "out of step" in capsys.readouterr().out
    assert not exercises.check_joint_flip(lambda image, mask: (image[::-1], mask[::-1]))
    assert "top-bottom" in capsys.readouterr().out
    assert exercises.check_joint_flip(lambda image, mask: (np.fliplr(image), np.fliplr(mask)))
    moving = {"horizontal flip", "rotation by 10 degrees", "zoom", "elastic deformation", "shear"}
    assert exercises.check_moves_the_mask(moving)
    assert not exercises.check_moves_the_mask(moving | {"blur"})
    assert not exercises.check_moves_the_mask({"flip"})
    # 8 orientations: count the distinct results of flips and quarter turns of a square
    square = np.arange(9).reshape(3, 3)
    distinct = {np.rot90(np.fliplr(square) if flip else square, k).tobytes() for k in range(4) for flip in (0, 1)}
    assert exercises.check_orientation_count(len(distinct))
    assert not exercises.check_orientation_count(16)


def test_keras_unet_batches_are_a_generator_with_binary_aligned_masks():
    import types

    image, mask = _image_and_rule_mask((32, 32, 1))
    images = np.stack(
        [np.kron(np.random.default_rng(s).random((4, 4)), np.ones((8, 8)))[..., None] for s in range(3)]
    ).astype(np.float32)
    batches = keras_unet.augmented_batches(images, (images > 0.5).astype(np.float32), batch_size=2, seed=0)
    assert isinstance(batches, types.GeneratorType)
    batch_images, batch_masks = next(batches)
    assert batch_images.shape == (2, 32, 32, 1)
    assert set(np.unique(batch_masks)) <= {0.0, 1.0}
    assert np.mean(batch_masks == (batch_images > 0.5)) > 0.9  # blocky images: aligned away from edges
