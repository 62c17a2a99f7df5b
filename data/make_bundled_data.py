"""Make the tiny bundled dataset in data/membranes/ (run from anywhere: python data/make_bundled_data.py).

24 generated EM-like sections of 128x128 pixels with their membrane masks, written as PNG:
data/membranes/images/NN.png (grey, uint8) and data/membranes/masks/NN.png (255 = membrane).
The same script always writes the same pictures (one fixed seed per picture).
"""

import sys
from pathlib import Path

from skimage import io

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.synthetic import membrane_section  # noqa: E402

COUNT = 24
SIZE = 128


def main(folder=ROOT / "data" / "membranes"):
    """Write the bundled pictures and masks into ``folder``."""
    for sub in ("images", "masks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for number in range(COUNT):
        image, mask = membrane_section(seed=number, size=SIZE)
        io.imsave(folder / "images" / f"{number:02d}.png", image, check_contrast=False)
        io.imsave(folder / "masks" / f"{number:02d}.png", mask, check_contrast=False)
    print(f"wrote {COUNT} images and masks to {folder}")


if __name__ == "__main__":
    main()
