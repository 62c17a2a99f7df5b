"""``tf.data`` input for training: random crops with the same flip and rotation for image and mask.

Image and mask are stacked into one array before any geometric change, so one random draw
moves both. Also: per-pixel class weights, partial annotations (not-annotated pixels weigh 0)
and random 3-D crops of volumes.
"""

import numpy as np

from helpers._checks import as_volume

__all__ = [
    "joint_flip_and_rotate", "training_batches", "with_pixel_weights", "ignore_weights", "with_ignore_weights",
    "validation_data", "random_crops_3d",
]  # fmt: skip


def _check_images_and_masks(images, masks, crop_size):
    """Return float32 (H, W, C) images and masks as lists; raise a clear error when they cannot be cropped."""
    if len(images) != len(masks) or not len(images):
        raise ValueError(f"Give one mask per image: got {len(images)} images and {len(masks)} masks.")
    images = [np.asarray(image, np.float32) for image in images]
    masks = [np.asarray(mask, np.float32) for mask in masks]
    for index, (image, mask) in enumerate(zip(images, masks)):
        if image.ndim != 3 or mask.ndim != 3 or image.shape[:2] != mask.shape[:2]:
            raise ValueError(
                f"Each image needs a mask of the same size, as (count, height, width, channels) arrays or lists of "
                f"(height, width, channels): image {index} is {image.shape}, its mask {mask.shape}."
            )
    smallest = min(min(image.shape[:2]) for image in images)
    if crop_size > smallest:
        raise ValueError(
            f"crop_size {crop_size} is larger than the smallest image side ({smallest}). "
            f"Use a crop_size of at most {smallest}."
        )
    return images, masks


def joint_flip_and_rotate(image, mask, seed):
    """Flip and rotate image and mask by the same random multiple of 90 degrees.

    ``seed``: Seed of the random draw (``tf.random.stateless_*``): the same seed, the same change.
    """
    import tensorflow as tf

    both = tf.concat([image, mask], axis=-1)
    draws = tf.random.stateless_uniform([2], seed=seed, maxval=4, dtype=tf.int32)
    both = tf.cond(draws[0] >= 2, lambda: tf.reverse(both, axis=[1]), lambda: both)
    both = tf.image.rot90(both, k=draws[1])
    channels = tf.shape(image)[-1]
    return both[..., :channels], both[..., channels:]


def training_batches(images, masks, crop_size=128, batch_size=8, augment=True, seed=0):
    """Return an endless ``tf.data.Dataset`` of random crops for ``model.fit``.

    Each sample picks an image at random, cuts a random ``crop_size`` square from it and
    its mask and, with ``augment``, flips/rotates both the same way. Use it with
    ``model.fit(batches, steps_per_epoch=...)``. The same seed gives the same batches.

    ``images, masks``: (N, H, W, C) arrays, or lists of (H, W, C) arrays of different sizes.
    ``crop_size``: Side of the square crops (a multiple of 2**n_poolings of the model).
    ``augment``: ``True``: random flips and 90-degree rotations, the same for image and mask. ``"geometric"``: also
    small rotations, shear, zoom and shifts (one affine resampling per sample, mask by nearest neighbour;
    ``helpers.augmentation`` with its default ranges). ``"full"``: ``"geometric"`` plus
    brightness/contrast/gamma/noise on the image only (leave these out, with ``"geometric"``, when intensities are
    measurements you will compare). ``False``: crops only.
    Returns: Batches of (images, masks), shapes (batch_size, crop_size, crop_size, channels). Its attribute
    ``settings`` holds ``crop_size``, ``batch_size``, ``augment`` and ``n_images``.
    """
    import tensorflow as tf

    if augment not in (True, False, "geometric", "full"):
        raise ValueError(f"augment must be True, False, 'geometric' or 'full', got {augment!r}.")
    images, masks = _check_images_and_masks(images, masks, crop_size)
    count, image_channels = len(images), images[0].shape[-1]
    # each image beside its mask, as rows of pixels one image after the other: crops are gathered by row
    pairs = [np.concatenate([image, mask], -1) for image, mask in zip(images, masks)]
    pixels = tf.constant(np.concatenate([pair.reshape(-1, pair.shape[-1]) for pair in pairs]))
    heights, widths = (tf.constant([pair.shape[axis] for pair in pairs], tf.int32) for axis in (0, 1))
    starts = tf.constant(np.cumsum([0] + [pair.shape[0] * pair.shape[1] for pair in pairs]), tf.int64)
    del pairs
    rows, columns = np.meshgrid(np.arange(crop_size), np.arange(crop_size), indexing="ij")

    def sample(step):
        seeds = tf.random.experimental.stateless_split(tf.stack([tf.cast(seed, tf.int64), step]), 4)
        which = tf.random.stateless_uniform([], seeds[0], maxval=count, dtype=tf.int32)
        top = tf.random.stateless_uniform([], seeds[1], maxval=heights[which] - crop_size + 1, dtype=tf.int32)
        left = tf.random.stateless_uniform([], seeds[2], maxval=widths[which] - crop_size + 1, dtype=tf.int32)
        top, left, width = (tf.cast(value, tf.int64) for value in (top, left, widths[which]))
        crop = tf.gather(pixels, starts[which] + (top + rows) * width + left + columns)
        image, mask = crop[..., :image_channels], crop[..., image_channels:]
        if augment in ("geometric", "full"):
            from helpers import augmentation

            image, mask = augmentation.joint_augment(image, mask, seeds[3])
            if augment == "full":
                image = augmentation.photometric_augment(image, seeds[3] + 11)
        elif augment:
            image, mask = joint_flip_and_rotate(image, mask, seeds[3])
        return image, mask

    dataset = tf.data.Dataset.counter().map(sample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    batches = dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    # what helpers.reporting.methods_paragraph writes about the training input
    batches.settings = {"crop_size": crop_size, "batch_size": batch_size, "augment": augment, "n_images": count}
    return batches


def with_pixel_weights(batches, weights):
    """Add one weight per pixel, ``weights[its class]``, to every (images, labels) batch: Keras uses the
    third element of ``(images, labels, pixel_weights)`` as ``sample_weight``."""
    return with_ignore_weights(batches, weights=weights)


def ignore_weights(labels, ignore_value=None, weights=None):
    """Split label maps into labels to train on and one weight per pixel; not-annotated pixels weigh 0.

    ``labels``: class ids; pixels equal to ``ignore_value`` are not annotated (None: all are). They come
    back as 0 with weight 0; the others weigh ``weights[class]`` (None: 1 for every class).

    >>> labels, weights = ignore_weights(np.array([[[[0], [1], [255]]]]), ignore_value=255)
    >>> labels[..., 0].tolist(), weights.tolist()
    ([[[0.0, 1.0, 0.0]]], [[[1.0, 1.0, 0.0]]])
    """
    labels = np.asarray(labels, dtype=np.float32)
    ignored = labels[..., 0] == ignore_value if ignore_value is not None else np.zeros(labels.shape[:-1], bool)
    clean = np.where(ignored[..., np.newaxis], 0, labels).astype(np.float32)
    if weights is None:
        pixel_weights = np.ones(clean.shape[:-1], np.float32)
    else:
        table = np.asarray(weights, dtype=np.float32)
        if np.any(clean >= len(table)) or np.any(clean < 0):
            raise ValueError(f"labels hold ids outside 0..{len(table) - 1}, the {len(table)} class weights given.")
        pixel_weights = table[clean[..., 0].astype(np.int64)]
    return clean, np.where(ignored, 0, pixel_weights).astype(np.float32)


def with_ignore_weights(batches, ignore_value=None, weights=None):
    """Batches of :func:`training_batches` for partial annotations: ``(images, labels, pixel_weights)``.

    Pixels labelled ``ignore_value`` (not annotated) get label 0 and weight 0, so they change neither the loss
    nor its gradient; crops without any annotated pixel are skipped; the others weigh ``weights[class]``
    (None: 1). Keras uses the third as ``sample_weight``; ``settings`` gain ``ignore_value``. Use ``augment``
    True or False with partial annotations (the geometric resampling fills borders with class 0).
    """
    import tensorflow as tf

    settings = dict(getattr(batches, "settings", {}))
    batch_size = settings.get("batch_size") or int(batches.element_spec[0].shape[0])
    table = None if weights is None else tf.constant(np.asarray(weights, dtype=np.float32))

    def annotated(image, labels):
        return tf.reduce_any(tf.not_equal(labels, ignore_value))

    def weigh(images, labels):
        ids = labels[..., 0]
        ignored = tf.equal(ids, ignore_value) if ignore_value is not None else tf.zeros_like(ids, tf.bool)
        clean = tf.where(ignored, tf.zeros_like(ids), ids)
        weight = tf.ones_like(clean) if table is None else tf.gather(table, tf.cast(clean, tf.int32))
        return images, clean[..., tf.newaxis], tf.where(ignored, tf.zeros_like(weight), weight)

    if ignore_value is not None:
        batches = batches.unbatch().filter(annotated).batch(batch_size, drop_remainder=True)
    weighted = batches.map(weigh, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    weighted = weighted.prefetch(tf.data.AUTOTUNE)
    weighted.settings = {**settings, "ignore_value": ignore_value}
    return weighted


def validation_data(images, masks, ignore_value=None, weights=None):
    """Validation input for ``model.fit``, not-annotated pixels weighing 0 (as in :func:`ignore_weights`).

    Images of one size (an (N, H, W, C) array or a list): the arrays ``(images, labels, pixel_weights)``.
    Images of different sizes (a list): a ``tf.data`` set of one image per batch, each at its own size.
    """
    if len({np.shape(image) for image in images}) == 1:
        return (np.stack(images).astype(np.float32), *ignore_weights(np.stack(masks), ignore_value, weights))
    import tensorflow as tf

    triples = [
        (
            np.asarray(image, np.float32)[np.newaxis],
            *ignore_weights(np.asarray(mask)[np.newaxis], ignore_value, weights),
        )
        for image, mask in zip(images, masks)
    ]
    shape = (1, None, None)
    signature = tuple(tf.TensorSpec(shape + extra, tf.float32) for extra in ((np.shape(images[0])[-1],), (1,), ()))
    dataset = tf.data.Dataset.from_generator(lambda: iter(triples), output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(triples)))  # Keras knows when it ends


def random_crops_3d(volume, mask, crop_shape, count, seed=0, flip=True):
    """Cut ``count`` random boxes from a volume and its mask, the same box from both.

    ``mask``: Same D, H, W as ``volume``.
    ``crop_shape``: (depth, height, width) of each box; at most the volume's size.
    ``seed``: The same seed gives the same boxes.
    ``flip``: Also flip each box at random along y and x (and swap y and x when the box is square), the same way for
    volume and mask. z is never flipped into y or x: the sections of an anisotropic stack are thicker than their
    pixels.
    """
    volume, mask = as_volume(volume, "volume"), as_volume(mask, "mask")
    if volume.shape[:3] != mask.shape[:3]:
        raise ValueError(
            f"volume is {volume.shape[:3]} but mask is {mask.shape[:3]} (depth, height, width); they must match."
        )
    if len(crop_shape) != 3 or any(c < 1 or c > s for c, s in zip(crop_shape, volume.shape[:3])):
        raise ValueError(
            f"crop_shape {tuple(crop_shape)} must be 3 sizes between 1 and the volume's {volume.shape[:3]}."
        )
    rng = np.random.default_rng(seed)
    boxes, labels = [], []
    for _ in range(int(count)):
        start = [rng.integers(0, s - c + 1) for s, c in zip(volume.shape[:3], crop_shape)]
        window = tuple(slice(a, a + c) for a, c in zip(start, crop_shape))
        box, label = volume[window], mask[window]
        if flip:
            for axis in (1, 2):
                if rng.random() < 0.5:
                    box, label = np.flip(box, axis), np.flip(label, axis)
            if crop_shape[1] == crop_shape[2] and rng.random() < 0.5:
                box, label = np.swapaxes(box, 1, 2), np.swapaxes(label, 1, 2)
        boxes.append(box)
        labels.append(label)
    return np.stack(boxes), np.stack(labels)
