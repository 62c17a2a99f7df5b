"""Tiled prediction of large images: time, peak memory and error, the course's tiler vs keras-unet.

For each image size and method a fresh Python process predicts one random image with the same
random-weight U-Net (``build_unet``, 8 filters, 4 poolings) and reports its wall time, its memory
and the largest difference to whole-image prediction, measured inside the image (a 64-pixel border
band excluded: whole-image prediction pads with zeros, the tilers mirror).

Memory is counted twice: ``peak`` is the process's peak resident set size (TensorFlow, the model
and the input image included); ``added`` is how far prediction raised it above what the process
held just before (Linux ``/proc/self/status``, peak reset through ``/proc/self/clear_refs``): the
memory the method itself needs, result included.

    python benchmarks/tiled_prediction.py [--sizes 2048 8192] [--methods ...]

Methods: ``whole`` (the whole image at once), ``keras-unet`` (``get_patches`` + predict +
``reconstruct_from_patches``, tile 256, stride 128), ``gaussian`` (tile 256, overlap 128, as
keras-unet), ``overlap-tile`` (tile 512, margin 48: only the context the receptive field needs).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
from run_notebooks import machine  # noqa: E402  (benchmarks/run_notebooks.py: CPU model, cores, AVX-512, GPU)

BORDER = 64
#: Whole-image prediction of a larger image is not run: at 8192x8192 it would need more than 20 GB.
LARGEST_WHOLE = 4096
METHODS = ("whole", "keras-unet", "gaussian", "overlap-tile")


def _model():
    import keras

    from helpers import models

    keras.utils.set_random_seed(0)
    return models.build_unet(input_shape=(None, None, 1), filters=8, n_poolings=4, batch_norm=False, dropout=0.0)


def _image(size):
    from scipy import ndimage

    rng = np.random.default_rng(0)
    return ndimage.gaussian_filter(rng.random((size, size), dtype=np.float32), 2)


def _memory_mb(field):
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of this process, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found in /proc/self/status (this benchmark needs Linux).")


def _reset_peak_memory():
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def run_one(method, size, reference_path):
    """Predict in this process; return a dict of seconds, peak MB and error."""
    import contextlib
    import io

    from helpers import inference

    model, image = _model(), _image(size)
    _reset_peak_memory()
    before = _memory_mb("VmRSS")
    start = time.perf_counter()
    if method == "whole":
        prediction = np.asarray(model(image[np.newaxis, ..., np.newaxis], training=False))[0, ..., 0]
    elif method == "keras-unet":
        with contextlib.redirect_stdout(io.StringIO()):
            from keras_unet.utils import get_patches, reconstruct_from_patches
        patches = get_patches(image[..., np.newaxis], size=256, stride=128)
        predicted = model.predict(patches, batch_size=8, verbose=0)
        prediction = reconstruct_from_patches(predicted, (size, size), stride=128, size=256)[0, ..., 0]
    elif method == "gaussian":
        prediction = inference.predict_tiled(model, image, tile=256, overlap=128, blending="gaussian")[..., 0]
    else:
        prediction = inference.predict_tiled(model, image, tile=512, overlap=48, blending="overlap-tile", batch_size=4)[
            ..., 0
        ]
    seconds = time.perf_counter() - start
    result = {
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "added_mb": _memory_mb("VmHWM") - before,
    }
    if method == "whole":
        np.save(reference_path, prediction)
    elif os.path.exists(reference_path):
        reference = np.load(reference_path)
        inside = (slice(BORDER, -BORDER),) * 2
        result["max_error"] = float(np.abs(prediction[inside] - reference[inside]).max())
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)  # method size reference (child process)
    arguments = parser.parse_args()
    if arguments.one:
        method, size, reference = arguments.one
        print(json.dumps(run_one(method, int(size), reference)))
        return
    print(f"tiled prediction, random-weight U-Net (8 filters, 4 poolings), on {machine()}")
    for size in arguments.sizes:
        reference = f"/tmp/tiled_prediction_reference_{size}.npy"
        results = {}
        for method in arguments.methods:
            if method == "whole" and size > LARGEST_WHOLE:
                print(f"  {size}x{size} whole: not run (more than 20 GB), so there is no error column at this size")
                continue
            child = subprocess.run(
                [sys.executable, __file__, "--one", method, str(size), reference], capture_output=True, text=True
            )
            if child.returncode:
                print(
                    f"  {size}x{size} {method}: failed with exit code {child.returncode} "
                    f"(-9: killed, most likely out of memory)"
                )
                continue
            results[method] = json.loads(child.stdout.strip().splitlines()[-1])
            r = results[method]
            error = f"{r['max_error']:.1e}" if "max_error" in r else ("reference" if method == "whole" else "n/a")
            print(
                f"  {size}x{size} {method:13} {r['seconds']:7.1f} s  peak {r['peak_mb']:7.0f} MB  "
                f"added {r['added_mb']:7.0f} MB  max error inside {error}",
                flush=True,
            )
        if "keras-unet" in results:
            base = results["keras-unet"]
            for method in ("gaussian", "overlap-tile"):
                if method in results:
                    mine = results[method]
                    print(
                        f"  {size}: {method} is {base['seconds'] / mine['seconds']:.1f}x faster than keras-unet; "
                        f"memory added by prediction {mine['added_mb'] / base['added_mb']:.2f}x, "
                        f"process peak {mine['peak_mb'] / base['peak_mb']:.2f}x"
                    )
        if os.path.exists(reference):
            os.remove(reference)


if __name__ == "__main__":
    main()
