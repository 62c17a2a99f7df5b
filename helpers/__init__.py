"""Helpers for the U-Net segmentation workshop.

Importing ``helpers`` is light: no TensorFlow, no plotting. Import the part you need,
for example ``from helpers import data, models``. The modules:

- ``course``: where the course lives, which mode the notebooks run in, versions.
- ``colab``: Google Colab and Drive.
- ``hardware``: CPU / GPU / TPU and the ``tf.distribute`` strategy to train with.
- ``data``, ``download``, ``synthetic``: bundled, downloaded and generated images with masks.
- ``pipeline``: ``tf.data`` input for training.
- ``models``: the U-Nets.
- ``metrics``, ``losses``: Dice, IoU and the losses built on them.
- ``plotting``, ``widgets``: pictures and sliders.
- ``exercises``: ``check_...()`` functions for the exercises.
"""

__version__ = "0.1.0"
