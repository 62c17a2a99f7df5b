"""Write the small bundled 3-D set: data/volumes/images/NN.tif and data/volumes/masks/NN.tif.

Each volume is a stack of 8 sections of 64x64 pixels with 2 channels, like a two-colour confocal
stack: channel 0 stains the surface of round cells (a membrane dye), channel 1 fills their inside
weakly (a cytoplasm dye), both with noise. The mask (0/1) marks the inside of the cells. Sections
are "thicker" than pixels: the cells are flattened along z, as in anisotropic microscopy.
The set is made from a fixed seed, so running this script again writes the same files (over
the old ones, as every data/make_*.py script does).

Run from the course folder: ``python data/make_volumes.py``.
"""

import sys
from pathlib import Path

import numpy as np
import scipy.ndimage

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.synthetic import write_numbered_pairs  # noqa: E402

COUNT = 6
SHAPE = (8, 64, 64)  # sections (z), rows (y), columns (x)
Z_SCALE = 4.0  # one section is as thick as 4 pixels are wide
SEED = 3


def cell_volume(seed, shape=SHAPE):
    """Return (image uint8 of shape (*shape, 2), mask uint8 of shape shape) of one stack of cells."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(*(np.arange(n, dtype=float) for n in shape), indexing="ij")
    inside = np.zeros(shape, bool)
    surface = np.zeros(shape, float)
    for _ in range(7):
        centre = rng.uniform([0, 8, 8], [shape[0], shape[1] - 8, shape[2] - 8])
        radius = rng.uniform(7, 12)
        distance = np.sqrt(((z - centre[0]) * Z_SCALE) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2)
        cell = distance <= radius
        inside |= cell
        surface = np.maximum(surface, np.exp(-((distance - radius) ** 2) / 2.0))
    membrane = surface + rng.normal(0, 0.12, shape)
    cytoplasm = 0.35 * scipy.ndimage.gaussian_filter(inside.astype(float), (0.3, 1, 1)) + rng.normal(0.1, 0.08, shape)
    image = np.stack([membrane, cytoplasm], axis=-1)
    image = np.clip(image, 0, 1)
    return (image * 255).round().astype(np.uint8), inside.astype(np.uint8)


def main():
    folder = ROOT / "data" / "volumes"
    volumes = (cell_volume(SEED + index) for index in range(COUNT))
    write_numbered_pairs(folder, volumes, suffix=".tif")
    print(f"{COUNT} volumes of {SHAPE} with 2 channels, and their masks, in {folder}")


if __name__ == "__main__":
    main()
