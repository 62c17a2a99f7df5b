"""Data augmentation: geometric changes move image and mask together, photometric ones the image only.

All affine changes are composed into ONE matrix and each sample is resampled once, the mask by
nearest neighbour (it stays 0/1). The functions take tensors and stateless seeds, so they run
inside ``tf.data``; :func:`augment_pair` is the numpy version.
"""

import math

import numpy as np

__all__ = [
    "GEOMETRIC_DEFAULTS",
    "affine_matrix",
    "joint_augment",
    "photometric_augment",
    "augment_pair",
    "ELASTIC_DEFAULTS",
    "displacement_field",
    "folded_fraction",
    "elastic_deform",
    "elastic_copies",
]

#: Ranges of the random geometric changes used by default (small, realistic ones for microscopy).
GEOMETRIC_DEFAULTS = {"rotation": 15.0, "shear": 0.1, "zoom": 0.1, "shift": 0.05, "flips": True}
#: Ranges of the random photometric changes used by default (images scaled to 0..1).
PHOTOMETRIC_DEFAULTS = {"brightness": 0.1, "contrast": 0.2, "gamma": 0.2, "noise": 0.02, "saturation": 0.2}


def affine_matrix(height, width, rotation=0.0, shear=0.0, zoom=1.0, shift=(0.0, 0.0), flip=False, quarter_turns=0):
    """Return the 3x3 matrix that maps an output pixel (x, y, 1) to where it is read in the input.

    About the image centre: flip left-right, ``quarter_turns`` x 90 degrees, ``rotation`` degrees
    (counter-clockwise), horizontal ``shear``, ``zoom`` (>1 enlarges), ``shift`` (x, y) in pixels.
    """
    if zoom <= 0:
        raise ValueError(f"zoom must be positive, got {zoom}.")
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    angle = math.radians(rotation + 90 * quarter_turns)
    cos, sin = round(math.cos(angle), 12), round(math.sin(angle), 12)
    to_centre = np.array([[1, 0, -centre_x], [0, 1, -centre_y], [0, 0, 1]], float)
    back = np.array([[1, 0, centre_x], [0, 1, centre_y], [0, 0, 1]], float)
    flip_matrix = np.diag([-1.0 if flip else 1.0, 1.0, 1.0])
    turn = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]], float)
    shear_matrix = np.array([[1, shear, 0], [0, 1, 0], [0, 0, 1]], float)
    scale = np.diag([1 / zoom, 1 / zoom, 1.0])
    move = np.array([[1, 0, -shift[0]], [0, 1, -shift[1]], [0, 0, 1]], float)
    return back @ flip_matrix @ turn @ shear_matrix @ scale @ to_centre @ move


def _random_matrix(height, width, seed, rotation, shear, zoom, shift, flips):
    """Draw one random affine matrix (TensorFlow, stateless) as the 8 numbers TF expects."""
    import tensorflow as tf

    draws = tf.random.stateless_uniform([6], seed=seed, minval=-1.0, maxval=1.0)
    turns = tf.random.stateless_uniform([2], seed=seed + 1, maxval=4, dtype=tf.int32)
    height_f, width_f = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    flip = tf.cast(turns[0] >= 2, tf.float32) if flips else 0.0
    quarter = tf.cast(turns[1], tf.float32) if flips else 0.0
    angle = draws[0] * rotation * math.pi / 180 + quarter * math.pi / 2
    cos, sin = tf.cos(angle), tf.sin(angle)
    cos, sin = tf.round(cos * 1e6) / 1e6, tf.round(sin * 1e6) / 1e6  # exact for quarter turns
    shear_value = draws[1] * shear
    scale = 1.0 / (1.0 + draws[2] * zoom)
    shift_x, shift_y = draws[3] * shift * width_f, draws[4] * shift * height_f
    centre_x, centre_y = (width_f - 1) / 2, (height_f - 1) / 2
    sign = 1.0 - 2.0 * flip
    # input = centre + F R Sh S (output - centre - shift), written out
    a00, a01 = sign * cos * scale, sign * (cos * shear_value - sin) * scale
    a10, a11 = sin * scale, (sin * shear_value + cos) * scale
    x0, y0 = -centre_x - shift_x, -centre_y - shift_y
    return tf.stack([a00, a01, a00 * x0 + a01 * y0 + centre_x, a10, a11, a10 * x0 + a11 * y0 + centre_y, 0.0, 0.0])


def _resample(array, transform, interpolation):
    """Resample a (height, width, channels) tensor through an 8-number transform."""
    import tensorflow as tf

    return tf.raw_ops.ImageProjectiveTransformV3(
        images=array[tf.newaxis],
        transforms=transform[tf.newaxis],
        output_shape=tf.shape(array)[:2],
        fill_value=0.0,
        interpolation=interpolation,
        fill_mode="REFLECT",
    )[0]


def joint_augment(
    image, mask, seed, rotation=15.0, shear=0.1, zoom=0.1, shift=0.05, flips=True, image_interpolation="BILINEAR"
):
    """Move image and mask by the same random affine change (the same ``seed``, the same change).

    Each range is the largest change drawn: ``rotation`` in degrees, ``zoom`` 0.1 for 0.9x to 1.1x,
    ``shift`` as a fraction of the side; ``flips`` adds flips and quarter turns. The mask is resampled
    with nearest neighbour.
    """
    import tensorflow as tf

    image = tf.convert_to_tensor(image, tf.float32)
    mask = tf.convert_to_tensor(mask, tf.float32)
    seed = tf.cast(seed, tf.int64)
    shape = tf.shape(image)
    transform = _random_matrix(shape[0], shape[1], seed, rotation, shear, zoom, shift, flips)
    return _resample(image, transform, image_interpolation), _resample(mask, transform, "NEAREST")


def photometric_augment(image, seed, brightness=0.1, contrast=0.2, gamma=0.2, noise=0.02, saturation=0.2):
    """Change brightness, contrast, gamma, noise (and saturation of RGB) of an image in 0..1.

    Each range is the largest change drawn (``noise``: standard deviation); values are clipped to 0..1.
    """
    import tensorflow as tf

    image = tf.convert_to_tensor(image, tf.float32)
    seed = tf.cast(seed, tf.int64)
    draws = tf.random.stateless_uniform([3], seed=seed, minval=-1.0, maxval=1.0)
    mean = tf.reduce_mean(image)
    image = (image - mean) * (1.0 + draws[1] * contrast) + mean + draws[0] * brightness
    image = tf.clip_by_value(image, 0.0, 1.0) ** (1.0 + draws[2] * gamma)
    if image.shape[-1] == 3 and saturation:
        image = tf.image.stateless_random_saturation(image, 1 - saturation, 1 + saturation, seed + 2)
    if noise:
        image = image + tf.random.stateless_normal(tf.shape(image), seed + 1, stddev=noise)
    return tf.clip_by_value(image, 0.0, 1.0)


def augment_pair(image, mask, seed=0, geometric=True, photometric=True, **ranges):
    """Augment one numpy image/mask pair (for looking at examples; training uses tf.data).

    ``**ranges``: overrides of ``GEOMETRIC_DEFAULTS`` / ``PHOTOMETRIC_DEFAULTS`` (e.g. ``rotation=30``).
    """
    import tensorflow as tf

    image, mask = np.asarray(image, np.float32), np.asarray(mask, np.float32)
    if image.shape[:2] != mask.shape[:2]:
        raise ValueError(f"image {image.shape[:2]} and mask {mask.shape[:2]} must have the same height and width.")
    known = sorted(GEOMETRIC_DEFAULTS) + sorted(PHOTOMETRIC_DEFAULTS)
    unknown = set(ranges) - set(known)
    if unknown:
        raise ValueError(f"Unknown augmentation setting(s) {sorted(unknown)}; use {known}.")
    image_3d, mask_3d = image.reshape(image.shape[:2] + (-1,)), mask.reshape(mask.shape[:2] + (-1,))
    seed_pair = tf.constant([seed, 0], tf.int64)
    out_image, out_mask = tf.constant(image_3d), tf.constant(mask_3d)
    if geometric:
        options = {key: ranges.get(key, value) for key, value in GEOMETRIC_DEFAULTS.items()}
        out_image, out_mask = joint_augment(out_image, out_mask, seed_pair, **options)
    if photometric:
        options = {key: ranges.get(key, value) for key, value in PHOTOMETRIC_DEFAULTS.items()}
        out_image = photometric_augment(out_image, seed_pair + 7, **options)
    return out_image.numpy().reshape(image.shape), out_mask.numpy().reshape(mask.shape)


#: The course's elastic setting: at most 1 % folded pixels (:func:`folded_fraction`) on 512x512 images.
ELASTIC_DEFAULTS = {"alpha": 15.0, "sigma": 10.0}


def displacement_field(shape, seed=0, alpha=ELASTIC_DEFAULTS["alpha"], sigma=ELASTIC_DEFAULTS["sigma"]):
    """Return the smooth random displacement (rows, columns), each (height, width), of :func:`elastic_deform`.

    ``alpha``: the largest displacement, pixels; ``sigma``: its smoothness, pixels (small: crumpled).
    """
    from scipy import ndimage

    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}.")
    rng = np.random.default_rng(seed)
    fields = [ndimage.gaussian_filter(rng.uniform(-1, 1, shape[:2]), sigma, mode="reflect") for _ in range(2)]
    return [alpha * field / (np.abs(field).max() + 1e-12) for field in fields]


def folded_fraction(rows, columns):
    """The share of pixels a displacement field (:func:`displacement_field`) folds over: a negative Jacobian determinant.

    There the bent image is read back to front, tissue that no microscope shows. Keep it below 1 %.

    >>> folded_fraction(np.zeros((4, 4)), -2.0 * np.arange(4) * np.ones((4, 1)))  # every column read mirrored
    1.0
    """
    drow_dr, drow_dc = np.gradient(np.asarray(rows, np.float64))
    dcol_dr, dcol_dc = np.gradient(np.asarray(columns, np.float64))
    return float(np.mean((1 + drow_dr) * (1 + dcol_dc) - drow_dc * dcol_dr < 0))


def elastic_deform(image, mask, seed=0, alpha=ELASTIC_DEFAULTS["alpha"], sigma=ELASTIC_DEFAULTS["sigma"]):
    """Bend image and mask by the same smooth random displacement field (the U-Net paper's augmentation).

    ``alpha, sigma``: as :func:`displacement_field`. The mask is read with nearest neighbour.
    """
    from scipy import ndimage

    image, mask = np.asarray(image, np.float32), np.asarray(mask, np.float32)
    if image.shape[:2] != mask.shape[:2]:
        raise ValueError(f"image {image.shape[:2]} and mask {mask.shape[:2]} must have the same height and width.")
    fields = displacement_field(image.shape, seed, alpha, sigma)
    rows, cols = np.meshgrid(np.arange(image.shape[0]), np.arange(image.shape[1]), indexing="ij")
    where = [rows + fields[0], cols + fields[1]]

    def warp(array, order):
        if array.ndim == 2:
            return ndimage.map_coordinates(array, where, order=order, mode="reflect")
        return np.stack([warp(array[..., c], order) for c in range(array.shape[-1])], axis=-1)

    return warp(image, 1).astype(np.float32), warp(mask, 0).astype(np.float32)


def elastic_copies(images, masks, copies=4, seed=0, alpha=ELASTIC_DEFAULTS["alpha"], sigma=ELASTIC_DEFAULTS["sigma"]):
    """Make ``copies`` elastically deformed versions of every image/mask pair, ahead of training.

    Add them to the training images with :func:`helpers.comparison.add_training_images`. The same call
    gives the same copies; the copies of the first pair come first. ``alpha, sigma``: as :func:`elastic_deform`.
    """
    images, masks = np.asarray(images, np.float32), np.asarray(masks, np.float32)
    if len(images) != len(masks):
        raise ValueError(f"{len(images)} images but {len(masks)} masks: give one mask per image.")
    if int(copies) != copies or copies < 1:
        raise ValueError(f"copies must be a whole number of at least 1, got {copies}.")
    bent = [
        elastic_deform(image, mask, seed=seed * 100_003 + number * 1_009 + copy, alpha=alpha, sigma=sigma)
        for number, (image, mask) in enumerate(zip(images, masks))
        for copy in range(int(copies))
    ]
    return np.stack([pair[0] for pair in bent]), np.stack([pair[1] for pair in bent])
