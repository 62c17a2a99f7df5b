"""Images per second: the course's augmented tf.data pipeline vs keras-unet's ``get_augmented``.

All methods make 256x256 image/mask pairs from the same random images, on the same machine, in
the same run; the ratios are what count (absolute numbers depend on the machine and on what
else runs on it). Printed:

- keras-unet ``get_augmented`` (Keras ``ImageDataGenerator``): rotation, shift, shear, zoom, flips;
- the helpers pipeline with the same kinds of change (``training_batches(augment="geometric")``);
- the helpers pipeline with photometric changes on top (``augment="full"``), which keras-unet
  does not do;
- the ceiling: TensorFlow's resampling op alone (image bilinear, mask nearest) on batches that
  are already in memory. Every pipeline that resamples each pair with this op is slower than this.

    python benchmarks/augmentation_speed.py [--images-per-method 320]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
from run_notebooks import machine  # noqa: E402  (benchmarks/run_notebooks.py: CPU model, cores, AVX-512, GPU)


def images_per_second(batches, count, batch_size):
    """Draw ``count`` images from an iterator of batches (after one warm-up batch); return images/s."""
    next(batches)
    start = time.perf_counter()
    for _ in range(count // batch_size):
        next(batches)
    return (count // batch_size) * batch_size / (time.perf_counter() - start)


def resampling_only(images, masks, batch_size):
    """Yield forever: one batch of images and masks resampled by TF's op, nothing else."""
    import tensorflow as tf

    transforms = tf.constant([[0.97, 0.1, 3.0, -0.05, 1.02, 2.0, 0.0, 0.0]] * batch_size, tf.float32)
    images, masks = tf.constant(images[:batch_size]), tf.constant(masks[:batch_size])
    size = tf.shape(images)[1:3]

    def resample(batch, interpolation):
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=batch,
            transforms=transforms,
            output_shape=size,
            fill_value=0.0,
            interpolation=interpolation,
            fill_mode="REFLECT",
        )

    while True:
        yield resample(images, "BILINEAR"), resample(masks, "NEAREST")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images-per-method", type=int, default=320)
    parser.add_argument("--batch-size", type=int, default=8)
    arguments = parser.parse_args()

    from helpers import keras_unet, pipeline

    rng = np.random.default_rng(0)
    images = rng.random((8, 512, 512, 1)).astype(np.float32)
    masks = (images > 0.5).astype(np.float32)
    batch, count = arguments.batch_size, arguments.images_per_method
    # keras-unet transforms whole images; give it 256x256 images so every method makes 256x256 pairs
    small_images, small_masks = images[:, :256, :256], masks[:, :256, :256]
    rates = {
        "keras-unet get_augmented (ImageDataGenerator)": images_per_second(
            keras_unet.augmented_batches(small_images, small_masks, batch_size=batch), count, batch
        ),
    }
    for augment, label in (
        ("geometric", "helpers pipeline, the same geometric changes"),
        ("full", "helpers pipeline, geometric + photometric"),
    ):
        batches = pipeline.training_batches(images, masks, crop_size=256, batch_size=batch, augment=augment)
        rates[label] = images_per_second(iter(batches), count, batch)
    rates["ceiling: TF resampling op alone, no pipeline"] = images_per_second(
        resampling_only(small_images, small_masks, batch), count, batch
    )

    base = rates["keras-unet get_augmented (ImageDataGenerator)"]
    print(f"augmentation at 256x256, batch {batch}, {count} images each, on {machine()}")
    for label, rate in rates.items():
        print(f"  {label:48} {rate:8.1f} images/s  {rate / base:5.1f}x keras-unet")
    print("  goal: 10x keras-unet with the same geometric changes")


if __name__ == "__main__":
    main()
