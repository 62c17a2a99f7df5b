"""The models of the course: 2-D and 3-D U-Nets, the random-forest pixel classifier (Fiji's Trainable Weka
idea) a U-Net has to beat, and :func:`run_layer`, one Keras layer on a small example to check by hand.

Both U-Nets take ``filters`` (of the first level, doubled at each level down) and ``n_poolings`` (how
many times the image is halved). keras-unet's models are built through :mod:`helpers.keras_unet`.

>>> build_unet_3d((16, 160, 160, 4)).count_params()  # seed 002's configuration
833507
"""

import numpy as np

__all__ = [
    "build_unet",
    "build_unet_3d",
    "count_poolings",
    "blocks_table",
    "run_layer",
    "pixel_features",
    "train_pixel_classifier",
    "predict_pixel_classifier",
]


def _conv_pair(x, filters, batch_norm, name):
    """Two 3x3 'same' convolutions with ReLU, as in every level of the U-Net."""
    from keras import layers

    for i in (1, 2):
        # seed 001 gives the first convolution of a pair He initialisation, the second the default
        init = "he_normal" if i == 1 else "glorot_uniform"
        x = layers.Conv2D(
            filters, 3, padding="same", kernel_initializer=init, use_bias=not batch_norm, name=f"{name}_conv{i}"
        )(x)
        if batch_norm:
            # momentum 0.9 (Keras default 0.99): the running averages used for prediction
            # must settle within the few hundred steps a CPU run trains
            x = layers.BatchNormalization(momentum=0.9, name=f"{name}_norm{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return x


def build_unet(
    input_shape=(256, 256, 1),
    filters=64,
    n_poolings=4,
    dropout=0.5,
    batch_norm=False,
    n_classes=1,
    output_activation="sigmoid",
    name="unet",
):
    """Build the U-Net the original workshop trains (Ronneberger et al. 2015, with "same" padding).

    The defaults (256x256x1 input, 64 filters, 4 poolings) give the workshop's network, 34,512,193
    parameters: two 3x3 convolutions per level; going down, 2x2 max pooling and twice the filters
    (64 ... 1024); going up, 2x2 upsampling, a 3x3 convolution and the skip connection; dropout at the
    two deepest levels; a 1x1 convolution gives one probability per pixel (float32 also under mixed precision).
    ``input_shape``: (height, width, channels); (None, None, 1) takes any size divisible by ``2**n_poolings``.
    ``batch_norm``: batch normalisation after each convolution (not in the seed; trains faster).
    ``n_classes``, ``output_activation``: 1 and "sigmoid" for one structure, K and "softmax" for K classes.
    """
    import keras
    from keras import layers

    _check_unet_arguments(input_shape, filters, n_poolings, dropout)
    inputs = keras.Input(shape=input_shape, name="image")
    x, skips = inputs, []
    for level in range(n_poolings):
        x = _conv_pair(x, filters * 2**level, batch_norm, name=f"down{level + 1}")
        skips.append(x)
        if dropout and level == n_poolings - 1:
            x = layers.Dropout(dropout, name="deepest_dropout")(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"down{level + 1}_pool")(x)
    x = _conv_pair(x, filters * 2**n_poolings, batch_norm, name="bottom")
    if dropout:
        x = layers.Dropout(dropout, name="bottom_dropout")(x)
    for level in reversed(range(n_poolings)):
        level_filters = filters * 2**level
        x = layers.UpSampling2D(2, name=f"up{level + 1}_upsample")(x)
        x = layers.Conv2D(
            level_filters,
            3,
            padding="same",
            activation="relu",
            kernel_initializer="he_normal",
            name=f"up{level + 1}_upconv",
        )(x)
        x = layers.Concatenate(name=f"up{level + 1}_skip")([x, skips[level]])
        x = _conv_pair(x, level_filters, batch_norm, name=f"up{level + 1}")
    # float32 under mixed precision too: probabilities near 0 and 1, and the loss, need its resolution
    outputs = layers.Conv2D(n_classes, 1, activation=output_activation, dtype="float32", name="probability")(x)
    return keras.Model(inputs, outputs, name=name)


def count_poolings(model):
    """Return a U-Net's ``n_poolings``, counted from its pooling layers (2-D or 3-D).

    >>> count_poolings(build_unet((None, None, 1), filters=2, n_poolings=3))
    3
    """
    return sum(type(layer).__name__.startswith("MaxPooling") for layer in model.layers)


def blocks_table(model):
    """A short table of a U-Net by block (``down1`` ... ``bottom`` ... ``up1``): feature-map shape and parameters.

    ``model.summary()`` lists every layer; this lists the levels, as a figure of a U-Net does. A layer
    belongs to the block named before the first ``_`` of its name; blocks without parameters are left out.
    """
    blocks = {}
    for layer in model.layers:
        block = layer.name.split("_")[0]
        shape, count = blocks.get(block, (None, 0))
        if not layer.name.endswith("_pool"):
            shape = tuple(layer.output.shape[1:])
        blocks[block] = (shape, count + layer.count_params())
    lines = [f"{'block':12}{'feature maps (height, width, channels)':>40}{'parameters':>14}"]
    for index, (block, (shape, count)) in enumerate(blocks.items()):
        if count or index == 0:
            lines.append(f"{block:12}{str(shape):>40}{count:>14,}")
    lines.append(f"{'total':12}{'':>40}{model.count_params():>14,}")
    return "\n".join(lines)


def _check_unet_arguments(input_shape, filters, n_poolings, dropout):
    """Raise a clear error for U-Net arguments that cannot work."""
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape}.")
    if not 1 <= n_poolings <= 6:
        raise ValueError(f"n_poolings must be between 1 and 6 poolings, got {n_poolings}.")
    if filters < 1:
        raise ValueError(f"filters must be a positive number, got {filters}.")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be at least 0 and below 1, got {dropout}.")
    for side in input_shape[:2]:
        if side is not None and side % 2**n_poolings:
            raise ValueError(
                f"Image side {side} is not divisible by 2**n_poolings = {2**n_poolings}: the poolings would "
                f"not halve it evenly. Crop or pad the images to a multiple of {2**n_poolings}, "
                f"or use a smaller n_poolings."
            )


def _conv_relu(x, filters, name):
    import keras

    x = keras.layers.Conv3D(filters, (3, 3, 3), padding="same", name=f"{name}_conv")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def build_unet_3d(
    input_shape=(16, 160, 160, 4),
    filters=32,
    n_poolings=1,
    n_classes=3,
    pool_size=(2, 2, 2),
    output_activation="sigmoid",
):
    """Build the 3-D U-Net of seed 002 (channels last), for image stacks.

    Level ``i`` down: two 3x3x3 convolutions (``filters * 2**i``, then twice that) with ReLU, then max
    pooling; up: upsampling, the skip connection and two convolutions; a 1x1x1 convolution gives one
    channel per class. Seed 002's configuration, the defaults, has 833,507 parameters.
    ``input_shape``: (depth, height, width, channels), each size divisible by ``pool_size ** n_poolings``.
    ``pool_size``: (2, 2, 2) halves every axis; (1, 2, 2) keeps the sections (thick, anisotropic ones).
    ``output_activation``: "sigmoid" (seed 002; classes may overlap) or "softmax".
    """
    import keras

    if len(input_shape) != 4:
        raise ValueError(
            f"input_shape must be (depth, height, width, channels), 4 numbers; got {input_shape!r}. "
            f"A one-channel stack of 16 sections of 64x64 pixels is (16, 64, 64, 1)."
        )
    if n_poolings < 0 or filters < 1 or n_classes < 1:
        raise ValueError(
            f"n_poolings must be >= 0, filters and n_classes >= 1; got {n_poolings}, {filters}, {n_classes}."
        )
    if len(pool_size) != 3:
        raise ValueError(f"pool_size must have 3 numbers (z, y, x); got {pool_size!r}.")
    factors = [p**n_poolings for p in pool_size]
    for axis, (size, factor) in enumerate(zip(input_shape[:3], factors)):
        if size is not None and size % factor:
            raise ValueError(
                f"input_shape axis {axis} is {size}, not divisible by {factor} (pool_size {pool_size} "
                f"applied {n_poolings} times). Crop or pad the volume to a multiple of {factor}."
            )
    inputs = keras.Input(shape=tuple(input_shape), name="volume")
    x, skips = inputs, []
    for level in range(n_poolings + 1):
        level_filters = filters * 2**level
        x = _conv_relu(x, level_filters, f"down{level}_0")
        x = _conv_relu(x, level_filters * 2, f"down{level}_1")
        if level < n_poolings:
            skips.append(x)
            x = keras.layers.MaxPooling3D(pool_size=tuple(pool_size), name=f"down{level}_pool")(x)
    for level in reversed(range(n_poolings)):
        x = keras.layers.UpSampling3D(size=tuple(pool_size), name=f"up{level}_upsample")(x)
        x = keras.layers.Concatenate(axis=-1, name=f"up{level}_skip")([x, skips[level]])
        level_filters = skips[level].shape[-1]
        x = _conv_relu(x, level_filters, f"up{level}_1")
        x = _conv_relu(x, level_filters, f"up{level}_2")
    outputs = keras.layers.Conv3D(n_classes, (1, 1, 1), padding="valid", name="classes")(x)
    outputs = keras.layers.Activation(output_activation, dtype="float32", name="probabilities")(outputs)
    return keras.Model(inputs, outputs, name=f"unet3d_{n_poolings}_poolings")


# ---- One Keras layer on a small example, to check the numbers by hand


def run_layer(layer, image, kernel=None, training=False):
    """Apply a Keras layer to one small grey image and return the result as a 2-D array.

    ``layer``: e.g. ``keras.layers.Conv2D(1, 3, use_bias=False)`` or ``keras.layers.MaxPooling2D(2)``; ``image``:
    e.g. a 4x4 list of lists; ``kernel``: weights put in a one-filter convolution first (no bias); ``training``:
    run as in training (dropout). Several output channels give (height, width, channels).
    """
    image = np.asarray(image, dtype=np.float32)
    if not layer.built:  # numbers to check by hand: float32, also where training runs in mixed precision
        layer.dtype_policy = "float32"
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise ValueError(f"image must be (height, width) or (height, width, channels); got shape {image.shape}.")
    batch = image[None]
    if kernel is not None:
        kernel = np.asarray(kernel, dtype=np.float32)
        layer.build(batch.shape)
        expected = tuple(layer.kernel.shape)
        if kernel.shape != expected[:2] or expected[2:] != (1, 1):
            raise ValueError(
                f"kernel of shape {kernel.shape} does not fit this layer, whose kernel is {expected} "
                f"(height, width, channels in, filters). Use a layer with one filter of size {kernel.shape}."
            )
        layer.set_weights([kernel[:, :, None, None]] + [w * 0 for w in layer.get_weights()[1:]])
    result = np.asarray(layer(batch, training=training))[0]
    return result[..., 0] if result.shape[-1] == 1 else result


# ---- The classical pixel classifier (Fiji's Trainable Weka idea), the yardstick a U-Net has to beat


def pixel_features(image):
    """Describe every pixel of a grey image (values in [0, 1]) by intensity, edge and texture features at scales 1 to 16."""
    from skimage.feature import multiscale_basic_features

    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"pixel_features expects one grey image (height, width); got shape {image.shape}.")
    return multiscale_basic_features(image, sigma_min=1, sigma_max=16)


def train_pixel_classifier(images, masks, pixels_per_image=20000, seed=0):
    """Train a random forest on randomly sampled pixels of the training images.

    ``pixels_per_image``: How many pixels of each image to learn from (all pixels would be slow and add little).
    """
    from sklearn.ensemble import RandomForestClassifier

    if len(images) != len(masks):
        raise ValueError(f"Got {len(images)} images but {len(masks)} masks; give one mask per image.")
    rng = np.random.default_rng(seed)
    features, labels = [], []
    for image, mask in zip(images, masks):
        described = pixel_features(image)
        described = described.reshape(-1, described.shape[-1])
        chosen = rng.choice(len(described), size=min(pixels_per_image, len(described)), replace=False)
        features.append(described[chosen])
        labels.append(np.asarray(mask).reshape(-1)[chosen] > 0.5)
    forest = RandomForestClassifier(n_estimators=50, max_depth=12, n_jobs=-1, random_state=seed)
    return forest.fit(np.concatenate(features), np.concatenate(labels))


def predict_pixel_classifier(forest, images):
    """Return the membrane probability that ``forest`` (from :func:`train_pixel_classifier`) gives every pixel."""
    probabilities = []
    for image in images:
        described = pixel_features(image)
        flat = forest.predict_proba(described.reshape(-1, described.shape[-1]))[:, 1]
        probabilities.append(flat.reshape(described.shape[:2]))
    return np.stack(probabilities)[..., None].astype(np.float32)
