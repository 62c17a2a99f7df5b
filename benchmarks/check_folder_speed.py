"""Seconds and peak memory of ``own_data.check_folder`` on a generated folder of large 16-bit TIFFs.

Writes ``--count`` 16-bit TIFFs of ``--side`` x ``--side`` pixels (default 1,000 of 2048x2048, 8 GB, as a
microscope camera saves them) and a 0/255 mask for each into a temporary folder, then times the check
alone (the writing is not timed) and prints the peak memory it allocated (tracemalloc, which numpy reports
to) and the process's peak resident memory (resource.getrusage, Linux and macOS). The goal: under a minute
on a 2-core CPU, holding at most a few images' pixels at a time. The folder is removed afterwards. The last
run, on a quiet machine: benchmarks/results/check_folder_speed.txt.

    python benchmarks/check_folder_speed.py [--count 1000] [--side 2048]
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
import tifffile  # noqa: E402
from run_notebooks import machine  # noqa: E402  (benchmarks/run_notebooks.py: CPU model, cores, AVX-512, GPU)

from helpers import own_data  # noqa: E402


def write_folder(root, count, side):
    """``count`` 16-bit images (values up to 60,000: full-range camera data) and 0/255 masks of a disc."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir()
    (root / "masks").mkdir()
    rows, columns = np.ogrid[:side, :side]
    mask = np.where((rows - side / 2) ** 2 + (columns - side / 2) ** 2 < (side / 4) ** 2, 255, 0).astype(np.uint8)
    base = rng.integers(0, 60000, (side, side), dtype=np.uint16)
    for index in range(count):
        tifffile.imwrite(root / "images" / f"{index:04d}.tif", np.roll(base, index, axis=0))
        tifffile.imwrite(root / "masks" / f"{index:04d}.tif", mask)


def peak_resident_gb():
    """The process's peak resident memory in GB (None where the resource module is missing)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**30 if sys.platform == "darwin" else peak / 2**20  # bytes on macOS, KiB on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="number of images (default 1000)")
    parser.add_argument("--side", type=int, default=2048, help="side of each image in pixels (default 2048)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        start = time.perf_counter()
        write_folder(root, args.count, args.side)
        print(
            f"wrote {args.count} 16-bit TIFFs of {args.side}x{args.side} and their masks in {time.perf_counter() - start:.0f} s"
        )
        before = peak_resident_gb()
        tracemalloc.start()
        start = time.perf_counter()
        report = own_data.check_folder(root / "images", root / "masks", crop_size=256)
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    image_mb = args.side**2 * 2 / 2**20
    print(machine())
    print(f"check_folder: {len(report.pairs)} usable pairs, {report.count('error')} errors, rule {report.rescaling!r}")
    for severity, files, what, fix in report.grouped():
        print(f"  {severity} ({len(files)} files): {what} Fix: {fix}")
    print(f"seconds: {seconds:.1f} ({seconds / args.count * 1000:.0f} ms per image; goal: under 60 s for 1,000)")
    print(f"peak allocated during the check: {peak / 2**20:.0f} MB = {peak / 2**20 / image_mb:.1f} images' pixels")
    print(f"peak resident memory of the process: {peak_resident_gb():.2f} GB (before the check: {before:.2f} GB)")


if __name__ == "__main__":
    main()
