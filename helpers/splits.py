"""Dividing images into training, validation and test: in stack order or at random.

The network learns from the training images, choices (threshold, epoch, settings) are made on
the validation images, and the scores measured once on the test images. Sections of one stack
look like their neighbours, so they are split in stack order; independent images at random.
"""

import numpy as np

__all__ = ["split_indices", "split_consecutive", "split_images", "split_volumes"]


def split_indices(n, n_validation, n_test, seed=0):
    """Split ``range(n)`` at random into training, validation and test indices.

    ``n``: Number of images.
    ``n_validation, n_test``: How many go to validation and to test; the rest (at least one) is for training.
    ``seed``: The same seed gives the same split.
    Returns: Sorted, disjoint, and together exactly ``0, 1, ..., n - 1``.
    """
    if min(n, n_validation, n_test) < 0:
        raise ValueError(f"Counts must not be negative; got n={n}, n_validation={n_validation}, n_test={n_test}.")
    if n_validation + n_test >= n:
        raise ValueError(
            f"n_validation + n_test = {n_validation} + {n_test} leaves no image for training "
            f"out of n = {n}. Use fewer validation or test images, or add images."
        )
    order = np.random.default_rng(seed).permutation(n)
    test = np.sort(order[:n_test])
    validation = np.sort(order[n_test : n_test + n_validation])
    train = np.sort(order[n_test + n_validation :])
    return train, validation, test


def split_consecutive(n, n_validation, n_test):
    """Split ``range(n)`` into consecutive blocks: training first, then validation, then test.

    Use it for the sections of one stack (serial sections, time-lapse frames): neighbours look
    alike, so a random split would put near-twins of the test images into training and make
    the test scores too good. Consecutive blocks touch only at their two borders. ``n`` images in
    stack order: ``n_validation`` and ``n_test`` go to validation and test, the rest (at least one) to training.

    >>> [part.tolist() for part in split_consecutive(6, 1, 2)]
    [[0, 1, 2], [3], [4, 5]]
    """
    if min(n, n_validation, n_test) < 0:
        raise ValueError(f"Counts must not be negative; got n={n}, n_validation={n_validation}, n_test={n_test}.")
    n_train = n - n_validation - n_test
    if n_train < 1:
        raise ValueError(
            f"n_validation + n_test = {n_validation} + {n_test} leaves no image for training "
            f"out of n = {n}. Use fewer validation or test images, or add images."
        )
    order = np.arange(n)
    return order[:n_train], order[n_train : n_train + n_validation], order[n_train + n_validation :]


#: The ways :func:`split_images` can divide images into training, validation and test.
SPLIT_CHOICES = ("in stack order", "at random")


def split_images(n, n_validation, n_test, how, seed=0):
    """Split ``range(n)`` with :func:`split_consecutive` or :func:`split_indices`, as ``how`` says.

    ``how``: ``"in stack order"`` for sections of one stack or frames of one movie (neighbours look alike); ``"at
    random"`` for independent images.
    ``seed``: Used by ``"at random"`` only.
    """
    if how == "in stack order":
        return split_consecutive(n, n_validation, n_test)
    if how == "at random":
        return split_indices(n, n_validation, n_test, seed=seed)
    raise ValueError(f"how must be one of {SPLIT_CHOICES}, got {how!r}.")


def split_volumes(volumes, masks, fractions=(0.6, 0.2, 0.2)):
    """Split volumes into training, validation and test parts.

    Several volumes are split volume by volume (at least one each for validation and test);
    a single volume is split along z into consecutive blocks of sections, so that no section
    is in two parts.

    ``fractions``: Shares for training, validation and test.
    Returns: Each a pair of arrays of shape (n, d, H, W, C) and (n, d, H, W, K).
    """
    volumes, masks = np.asarray(volumes), np.asarray(masks)
    if volumes.ndim != 5 or masks.shape[:4] != volumes.shape[:4]:
        raise ValueError(
            f"volumes must be (count, depth, height, width, channels) and masks the same but for the "
            f"last axis; got {volumes.shape} and {masks.shape}."
        )
    count, depth = volumes.shape[:2]
    n = count if count > 1 else depth
    n_validation = max(1, int(round(n * fractions[1])))
    n_test = max(1, int(round(n * fractions[2])))
    if n - n_validation - n_test < 1:
        raise ValueError(f"{n} {'volumes' if count > 1 else 'sections'} are too few to split into three parts.")
    bounds = [0, n - n_validation - n_test, n - n_test, n]
    if count > 1:
        return tuple((volumes[a:b], masks[a:b]) for a, b in zip(bounds, bounds[1:]))
    return tuple((volumes[:, a:b], masks[:, a:b]) for a, b in zip(bounds, bounds[1:]))
