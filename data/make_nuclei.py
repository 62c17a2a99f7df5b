"""Write the small bundled nucleus set: data/nuclei/images/NN.png and data/nuclei/labels/NN.png.

Fluorescence look-alikes: bright oval nuclei on a dark background, many of them in touching
pairs, with a label image per picture (0 = background, 1, 2, ... = one number per nucleus).
The set is made from a fixed seed, so running this script again writes the same files (over
the old ones, as every data/make_*.py script does).

Run from the course folder: ``python data/make_nuclei.py``.
"""

import sys
from pathlib import Path

import numpy as np
import scipy.ndimage
import skimage.draw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.synthetic import write_numbered_pairs  # noqa: E402

COUNT = 12
SIZE = 128
SEED = 2018


def nucleus_picture(seed, size=SIZE):
    """Return (image uint8, labels uint8) of one picture with touching and separate nuclei."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((size, size), np.uint8)
    brightness = np.zeros((size, size))
    label = 0
    for _ in range(60):
        if label >= 12:
            break
        radius_row, radius_col = rng.uniform(7, 11, 2)
        centre = rng.uniform(12, size - 12, 2)
        angle = rng.uniform(0, np.pi)
        shapes = [(centre, radius_row, radius_col)]
        if rng.random() < 0.6:  # a partner that touches: centres about 1.6 radii apart
            direction = rng.uniform(0, 2 * np.pi)
            step = 1.6 * (radius_row + radius_col) / 2
            partner = centre + step * np.array([np.sin(direction), np.cos(direction)])
            shapes.append((partner, radius_row * rng.uniform(0.8, 1.1), radius_col * rng.uniform(0.8, 1.1)))
        drawn = []
        for (row, col), r_row, r_col in shapes:
            rr, cc = skimage.draw.ellipse(row, col, r_row, r_col, shape=labels.shape, rotation=angle)
            drawn.append((rr, cc))
        union = np.zeros_like(labels, bool)
        for rr, cc in drawn:
            union[rr, cc] = True
        if np.any(scipy.ndimage.binary_dilation(union, iterations=2) & (labels > 0)):
            continue  # keep groups apart from each other; touching happens only within a pair
        for rr, cc in drawn:
            label += 1
            free = labels[rr, cc] == 0
            labels[rr[free], cc[free]] = label
            brightness[rr[free], cc[free]] = rng.uniform(0.55, 0.9)
    texture = scipy.ndimage.gaussian_filter(rng.normal(0, 1, labels.shape), 1.5)
    image = brightness * (1 + 0.15 * texture)
    image = scipy.ndimage.gaussian_filter(image, 1.0) + 0.08 + rng.normal(0, 0.03, labels.shape)
    image = np.clip(image, 0, 1)
    return (image * 255).round().astype(np.uint8), labels


def main():
    folder = ROOT / "data" / "nuclei"
    pictures = (nucleus_picture(SEED + index) for index in range(COUNT))
    write_numbered_pairs(folder, pictures, subfolders=("images", "labels"))
    print(f"{COUNT} images with label images in {folder}")


if __name__ == "__main__":
    main()
