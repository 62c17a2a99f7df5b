"""Images per second: the course's augmented tf.data pipeline vs keras-unet's ``get_augmented``.

Both apply the same kinds of change (rotation, shift, shear, zoom, flips) to 256x256 crops of
the same random 512x512 images, on the same machine, in the same run; the ratio is what counts
(absolute numbers depend on the machine and on what else runs on it).

    python benchmarks/augmentation_speed.py [--images-per-method 320]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402


def images_per_second(batches, count, batch_size):
    """Draw ``count`` images from an iterator of batches (after one warm-up batch); return images/s."""
    next(batches)
    start = time.perf_counter()
    for _ in range(count // batch_size):
        next(batches)
    return (count // batch_size) * batch_size / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images-per-method", type=int, default=320)
    parser.add_argument("--batch-size", type=int, default=8)
    arguments = parser.parse_args()

    from helpers import augmentation, pipeline

    rng = np.random.default_rng(0)
    images = rng.random((8, 512, 512, 1)).astype(np.float32)
    masks = (images > 0.5).astype(np.float32)
    batch = arguments.batch_size
    tf_batches = iter(pipeline.training_batches(images, masks, crop_size=256, batch_size=batch, augment="full"))
    ours = images_per_second(tf_batches, arguments.images_per_method, batch)
    # keras-unet transforms whole images; give it 256x256 images so both produce 256x256 samples
    small_images, small_masks = images[:, :256, :256], masks[:, :256, :256]
    theirs = images_per_second(augmentation.keras_unet_batches(small_images, small_masks, batch_size=batch),
                               arguments.images_per_method, batch)
    print(f"augmentation at 256x256, batch {batch}, {os.cpu_count()} CPU cores, {arguments.images_per_method} images each")
    print(f"  helpers pipeline (tf.data, one affine resampling + photometric): {ours:8.1f} images/s")
    print(f"  keras-unet get_augmented (ImageDataGenerator):                     {theirs:8.1f} images/s")
    print(f"  ratio helpers / keras-unet: {ours / theirs:.1f}x (goal >= 10x)")


if __name__ == "__main__":
    main()
