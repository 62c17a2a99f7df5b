"""Helpers for the U-Net segmentation workshop.

Importing ``helpers`` is light: no TensorFlow, no plotting. Import the part you need,
for example ``from helpers import data, models``. The modules:

- ``course``: where the course lives, which mode the notebooks run in, versions.
- ``colab``: Google Colab and Drive.
- ``hardware``: CPU / GPU / TPU and the ``tf.distribute`` strategy to train with.
- ``data``, ``download``, ``synthetic``: bundled, downloaded and generated images with masks.
- ``pipeline``, ``augmentation``: ``tf.data`` input for training; image and mask changed together.
- ``models``, ``volumes``: the 2-D U-Nets; the 3-D U-Net and whole-volume prediction.
- ``tiling``: prediction of large images tile by tile.
- ``metrics``, ``losses``, ``multiclass``, ``comparison``: scores, losses, several classes, fair comparisons.
- ``instances``: from a semantic mask to separate objects, matched and measured.
- ``training``, ``own_data``: resumable training; checking and predicting a folder of your own images.
- ``plotting``, ``widgets``: pictures and sliders.
- ``classic``, ``demos``: the random-forest pixel classifier; one Keras layer on a small example.
- ``exercises``: ``check_...()`` functions for the exercises.
"""

__version__ = "0.1.0"
