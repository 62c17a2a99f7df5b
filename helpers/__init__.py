"""Helpers for the U-Net segmentation workshop: one concern per module, in layers.

Import the part you need, for example ``from helpers import datasets, models``; importing
``helpers`` itself loads nothing heavy. A module imports only from the layers above it, or from
a module listed before it in its own layer (``tests/test_architecture.py`` checks this and that
no module uses another's private names). This is the module map of the course; the README
points here.

environment
    ``course`` (the notebook's environment: where the course lives, modes, versions, the setup
    cell's start; Colab detection, Drive, installing only what is absent; the device and the
    ``tf.distribute`` strategy), ``progress`` (``tqdm.auto`` progress bars whose final line a
    saved notebook keeps).
shared checks
    ``_checks`` (private): mask, image, volume and label checks, THE threshold rule
    (``probability >= threshold``), the mode check.
data
    ``imageio`` (the one reader of images and of every mask kind; listing and pairing files;
    writing without overwriting), ``download`` (pinned, sha256-checked downloads),
    ``synthetic`` (generated look-alike data and scribbles), ``datasets`` (every notebook's
    ``load_<set>(mode)``, real or bundled, and the training / validation / test split).
compute
    ``label_maps`` (one-hot, label maps, class weights, class colours), ``metrics`` (Dice, IoU,
    thresholds, per-class scores, confusion matrix), ``keras_metrics`` (the Keras Dice metric),
    ``losses`` (every loss, one factory ``training_loss``), ``augmentation``, ``pipeline``
    (``tf.data`` batches), ``models`` (2-D and 3-D U-Nets, the random-forest pixel classifier
    they are compared with, one Keras layer on a small example), ``inference`` (padded, tiled
    and whole-volume prediction), ``instances`` (objects: label, separate, match, measure).
workflows
    ``training`` (resumable training, training within a time budget), ``comparison`` (fair
    comparisons), ``reporting`` (the methods paragraph, read from the real objects), ``folder_checks``
    (the findings of a folder check: pairing, each file, the mask kind), ``own_data`` (check, load
    and predict a folder of your own images), ``stacks`` (the same for a folder of 3-D stacks),
    ``export`` (bioimage.io packages and checked reloads).
display
    ``plotting`` (every figure; the explorers, each with a static picture; ``show_results``, the
    table of a run's key numbers that the README's quotes are checked against).
course only
    ``keras_unet`` (all keras-unet glue), ``exercises`` (the ``check_...()`` functions).
"""

__version__ = "0.2.0"

#: The layers of helpers, top to bottom, and their modules in order (see the module text).
LAYERS = {
    "environment": ("course", "progress"),
    "shared checks": ("_checks",),
    "data": ("imageio", "download", "synthetic", "datasets"),
    "compute": (
        "label_maps",
        "keras_metrics",
        "metrics",
        "losses",
        "augmentation",
        "pipeline",
        "models",
        "inference",
        "instances",
    ),
    "workflows": ("training", "comparison", "reporting", "folder_checks", "own_data", "stacks", "export"),
    "display": ("plotting",),
    "course only": ("keras_unet", "exercises"),
}
