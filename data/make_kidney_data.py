"""Make the tiny 4-class kidney look-alike in data/kidney/ (python data/make_kidney_data.py).

16 generated pictures of 64x64 pixels with their label maps, written as PNG:
data/kidney/images/NN.png (grey, uint8) and data/kidney/labels/NN.png (class ids 0..3:
background, stroma, cap mesenchyme, ureteric tree). Always the same pictures (one seed each),
written over the old ones, as every data/make_*.py script does.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.synthetic import kidney_section, write_numbered_pairs  # noqa: E402

COUNT = 16
SIZE = 64


def main(folder=ROOT / "data" / "kidney"):
    """Write the pictures and label maps into ``folder``."""
    pairs = (kidney_section(seed=1000 + number, size=SIZE) for number in range(COUNT))
    write_numbered_pairs(folder, pairs, subfolders=("images", "labels"))
    print(f"wrote {COUNT} images and label maps to {folder}")


if __name__ == "__main__":
    main()
