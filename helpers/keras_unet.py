"""All the glue to keras-unet 0.1.2 (2020), the package the original workshop uses, in one place.

Its pitfalls are part of the lessons: ``import keras_unet`` prints a banner and needs
``distutils`` (gone in Python 3.12); ``get_augmented`` returns a ``zip`` Keras 3 rejects and
interpolates masks; ``jaccard_distance`` on one channel behaves like a mean absolute error;
``get_patches`` misses part of a non-square image and ``reconstruct_from_patches`` overwrites overlaps.
"""

import contextlib
import importlib
import io

import numpy as np

__all__ = [
    "import_module",
    "build_model",
    "augmented_batches",
    "jaccard_distance",
    "get_patches",
    "reconstruct_from_patches",
]

KERAS_UNET_MODELS = ("vanilla", "custom", "satellite")


def import_module(name="keras_unet.models"):
    """Import ``name``, a part of keras-unet, without its banner, with a clear message if it cannot load."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # keras-unet prints a banner on import
            return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == "distutils":
            raise ImportError(
                "keras-unet needs 'distutils', which Python 3.12 and later no longer ship. "
                "Install setuptools, which provides it: pip install setuptools"
            ) from error
        raise ImportError(
            f"keras-unet could not be imported ({error}). Install it with: pip install keras-unet==0.1.2"
        ) from error


def build_model(kind, input_shape, **options):
    """Build keras-unet's ``vanilla`` (2015 paper, 'valid'), ``custom`` (the one to adapt) or ``satellite`` U-Net.

    ``**options`` go to keras-unet (``filters=16, num_layers=4`` for ``custom``). Float32 even under mixed precision.
    """
    import keras

    if kind not in KERAS_UNET_MODELS:
        raise ValueError(f"kind must be one of {', '.join(KERAS_UNET_MODELS)}; got {kind!r}.")
    model = getattr(import_module("keras_unet.models"), f"{kind}_unet")(input_shape, **options)
    probability = keras.layers.Activation("linear", dtype="float32", name="probability_float32")(model.output)
    return keras.Model(model.inputs, probability, name=model.name)


#: keras-unet ``get_augmented`` settings close to ``helpers.augmentation.GEOMETRIC_DEFAULTS`` (shear in degrees there).
AUGMENTATION_SETTINGS = dict(
    rotation_range=15.0,
    width_shift_range=0.05,
    height_shift_range=0.05,
    shear_range=5.7,
    zoom_range=0.1,
    horizontal_flip=True,
    vertical_flip=True,
    fill_mode="reflect",
)


def augmented_batches(images, masks, batch_size=8, seed=0, **data_gen_args):
    """Yield (images, masks) batches from keras-unet's ``get_augmented``, repaired for Keras 3.

    It returns a ``zip`` that Keras 3's ``model.fit`` rejects and interpolates masks (a pixel can be
    0.37): this yields the same batches, masks thresholded back to 0/1. ``**data_gen_args``:
    ``ImageDataGenerator`` settings, default ``AUGMENTATION_SETTINGS``.
    """
    get_augmented = import_module("keras_unet.utils").get_augmented
    settings = data_gen_args or AUGMENTATION_SETTINGS
    pairs = get_augmented(
        np.asarray(images, np.float32),
        np.asarray(masks, np.float32),
        batch_size=batch_size,
        seed=seed,
        data_gen_args=settings,
    )
    for batch_images, batch_masks in pairs:
        yield batch_images, (batch_masks > 0.5).astype(np.float32)


def jaccard_distance(y_true, y_pred, smooth=100):
    """keras-unet's ``jaccard_distance``, averaged over pixels the way Keras trains with it.

    It sums over the last axis only: with one channel each pixel gets its own "Jaccard", so it
    behaves like a mean absolute error, not ``1 - IoU`` (notebook 04's pitfall).
    """
    from keras import ops

    y_pred = ops.convert_to_tensor(y_pred, dtype="float32")
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    return ops.mean(import_module("keras_unet.losses").jaccard_distance(y_true, y_pred, smooth=smooth))


def get_patches(image, size, stride):
    """keras-unet's ``get_patches``: it counts patches from the image height both ways (notebook 03's pitfall)."""
    return import_module("keras_unet.utils").get_patches(np.asarray(image), size=size, stride=stride)


def reconstruct_from_patches(patches, image_size, stride, size):
    """keras-unet's ``reconstruct_from_patches``: each patch overwrites its neighbours (notebook 03's pitfall)."""
    return import_module("keras_unet.utils").reconstruct_from_patches(
        np.asarray(patches), image_size, stride=stride, size=size
    )
