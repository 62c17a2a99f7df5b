"""The U-Nets of the course.

- ``build_unet``: the U-Net of seed 001 written out layer by layer (Keras functional API), with
  its depth and width as arguments so a CPU can train a small one.
- ``keras_unet_model``: keras-unet's ``vanilla``, ``custom`` and ``satellite`` models, imported
  quietly and checked to work with Keras 3 and Python 3.12+.
"""

import contextlib
import io


def _conv_pair(x, filters, batch_norm, name):
    """Two 3x3 'same' convolutions with ReLU, as in every level of the U-Net."""
    from keras import layers

    for i in (1, 2):
        # seed 001 gives the first convolution of a pair He initialisation, the second the default
        init = "he_normal" if i == 1 else "glorot_uniform"
        x = layers.Conv2D(filters, 3, padding="same", kernel_initializer=init,
                          use_bias=not batch_norm, name=f"{name}_conv{i}")(x)
        if batch_norm:
            # momentum 0.9 (Keras default 0.99): the running averages used for prediction
            # must settle within the few hundred steps a CPU run trains
            x = layers.BatchNormalization(momentum=0.9, name=f"{name}_norm{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return x


def build_unet(input_shape=(256, 256, 1), filters=64, depth=4, dropout=0.5, batch_norm=False,
               n_classes=1, output_activation="sigmoid", name="unet"):
    """Build the U-Net of seed 001.

    With the defaults (256x256x1 input, 64 filters, depth 4) this is the network of the seed
    article, 34,512,193 parameters: each level has two 3x3 convolutions; going down, 2x2 max
    pooling halves the image and the number of filters doubles (64, 128, 256, 512, 1024);
    going up, 2x2 upsampling and a 3x3 convolution, then the skip connection concatenates the
    features of the same level; dropout at the two deepest levels; a 1x1 convolution gives one
    probability per pixel.

    Parameters
    ----------
    input_shape : tuple of int
        (height, width, channels). Use (None, None, 1) to train on crops and predict whole
        images; height and width must then be divisible by ``2 ** depth``.
    filters : int
        Filters of the first level; doubled at each level down.
    depth : int
        Number of poolings (4 in the paper).
    dropout : float
        Dropout rate at the deepest level and the bottom (0 to switch off).
    batch_norm : bool
        Add batch normalisation after each convolution (not in the seed; trains faster).
    n_classes : int
        Output channels: 1 for one structure (sigmoid), K for K classes (softmax).
    output_activation : str
        ``"sigmoid"`` for one structure, ``"softmax"`` for several classes.
    name : str
        Name of the Keras model.

    Returns
    -------
    keras.Model
    """
    import keras
    from keras import layers

    _check_unet_arguments(input_shape, filters, depth, dropout)
    inputs = keras.Input(shape=input_shape, name="image")
    x, skips = inputs, []
    for level in range(depth):
        x = _conv_pair(x, filters * 2**level, batch_norm, name=f"down{level + 1}")
        skips.append(x)
        if dropout and level == depth - 1:
            x = layers.Dropout(dropout, name="deepest_dropout")(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"down{level + 1}_pool")(x)
    x = _conv_pair(x, filters * 2**depth, batch_norm, name="bottom")
    if dropout:
        x = layers.Dropout(dropout, name="bottom_dropout")(x)
    for level in reversed(range(depth)):
        level_filters = filters * 2**level
        x = layers.UpSampling2D(2, name=f"up{level + 1}_upsample")(x)
        x = layers.Conv2D(level_filters, 3, padding="same", activation="relu",
                          kernel_initializer="he_normal", name=f"up{level + 1}_upconv")(x)
        x = layers.Concatenate(name=f"up{level + 1}_skip")([x, skips[level]])
        x = _conv_pair(x, level_filters, batch_norm, name=f"up{level + 1}")
    outputs = layers.Conv2D(n_classes, 1, activation=output_activation, name="probability")(x)
    return keras.Model(inputs, outputs, name=name)


def _check_unet_arguments(input_shape, filters, depth, dropout):
    """Raise a clear error for U-Net arguments that cannot work."""
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape}.")
    if not 1 <= depth <= 6:
        raise ValueError(f"depth must be between 1 and 6 poolings, got {depth}.")
    if filters < 1:
        raise ValueError(f"filters must be a positive number, got {filters}.")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be at least 0 and below 1, got {dropout}.")
    for side in input_shape[:2]:
        if side is not None and side % 2**depth:
            raise ValueError(
                f"Image side {side} is not divisible by 2**depth = {2**depth}: the poolings would "
                f"not halve it evenly. Crop or pad the images to a multiple of {2**depth}, "
                f"or use a smaller depth."
            )


KERAS_UNET_MODELS = ("vanilla", "custom", "satellite")


def import_keras_unet():
    """Import keras-unet without its banner, with a clear message if it cannot load.

    keras-unet 0.1.2 (2020) prints a banner on import and imports ``distutils``, which
    Python 3.12 removed; the ``setuptools`` package puts it back.

    Returns
    -------
    module
        ``keras_unet.models``.
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import keras_unet.models
    except ModuleNotFoundError as error:
        if error.name == "distutils":
            raise ImportError(
                "keras-unet needs 'distutils', which Python 3.12 and later no longer ship. "
                "Install setuptools, which provides it: pip install setuptools"
            ) from error
        raise ImportError(
            f"keras-unet could not be imported ({error}). Install it with: pip install keras-unet==0.1.2"
        ) from error
    return keras_unet.models


def keras_unet_model(kind, input_shape, **options):
    """Build one of keras-unet's three U-Nets.

    Parameters
    ----------
    kind : {"vanilla", "custom", "satellite"}
        ``vanilla``: the 2015 paper's U-Net with 'valid' convolutions (572 in, 388 out).
        ``custom``: 'same' convolutions, batch normalisation, dropout; the one to adapt.
        ``satellite``: a deeper variant made for satellite images.
    input_shape : tuple of int
        (height, width, channels).
    **options
        Passed to the keras-unet function, e.g. ``filters=16, num_layers=4`` for ``custom``.

    Returns
    -------
    keras.Model
    """
    if kind not in KERAS_UNET_MODELS:
        raise ValueError(f"kind must be one of {', '.join(KERAS_UNET_MODELS)}; got {kind!r}.")
    models = import_keras_unet()
    builder = getattr(models, f"{kind}_unet")
    return builder(input_shape, **options)
