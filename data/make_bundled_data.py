"""Make the tiny bundled image/mask sets (run from anywhere: python data/make_bundled_data.py).

Two sets of 24 generated EM-like sections of 128x128 pixels, written as PNG
(images/NN.png grey uint8, masks/NN.png with 255 = what is segmented):

- data/membranes/: cell membranes, about a fifth of the pixels (notebooks 01-03 in smoke mode);
- data/mitochondria/: mitochondria only, about 5% of the pixels, among membranes and vesicles
  that are not foreground (notebook 04 in smoke mode: a small-foreground task).

The same script always writes the same pictures (one fixed seed per picture), over the old ones,
as every data/make_*.py script does.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.synthetic import membrane_section, mitochondria_section, write_numbered_pairs  # noqa: E402

COUNT = 24
SIZE = 128
SETS = {"membranes": membrane_section, "mitochondria": mitochondria_section}


def main(data_folder=ROOT / "data"):
    """Write every bundled set of ``SETS`` into ``data_folder/<name>/images`` and ``.../masks``."""
    for name, draw in SETS.items():
        pairs = (draw(seed=number, size=SIZE) for number in range(COUNT))
        write_numbered_pairs(data_folder / name, pairs)
        print(f"wrote {COUNT} images and masks to {data_folder / name}")


if __name__ == "__main__":
    main()
