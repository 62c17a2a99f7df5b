"""Exercises of notebook 09 (use your model elsewhere): sizes, preprocessing and weight formats of a package."""

from helpers.exercises.common import as_number, say

__all__ = [
    "SIZES_POOLINGS", "SIZES_CANDIDATES", "check_accepted_sizes", "GAIN_PIXEL_BITS", "check_scale_gain",
    "PACKAGE_WEIGHT_FORMATS", "DEEPIMAGEJ_WEIGHT_FORMATS", "check_deepimagej_format",
]  # fmt: skip

#: The package of a U-Net with this many poolings states min = step = 2**SIZES_POOLINGS.
SIZES_POOLINGS = 4
#: Tile sides a tool might try.
SIZES_CANDIDATES = (8, 16, 24, 32, 40, 48, 100, 128, 256, 500, 512)

#: Bit depth of the images in the scale_linear exercise (they use the full 16-bit range).
GAIN_PIXEL_BITS = 16

#: The weight formats that helpers.export.export_bioimageio writes by default.
PACKAGE_WEIGHT_FORMATS = ("keras_v3", "onnx", "tensorflow_saved_model_bundle")
#: The formats deepImageJ 3 runs through JDLL's engines (its supportedVersions.json): TensorFlow SavedModels
#: (TensorFlow up to 2.11), TorchScript, and ONNX (opsets 6 to 18). It is a Java plugin: no Keras files.
DEEPIMAGEJ_WEIGHT_FORMATS = ("tensorflow_saved_model_bundle", "torchscript", "onnx")


def check_accepted_sizes(answer):
    """Check which of SIZES_CANDIDATES a package with min = step = 2**SIZES_POOLINGS accepts."""
    if answer is None:
        return say(False, "Replace None with your answer, a list such as [16, 32].")
    try:
        chosen = {int(value) for value in answer}
    except (TypeError, ValueError):
        return say(False, "Give a list of whole numbers taken from SIZES_CANDIDATES.")
    step = 2**SIZES_POOLINGS
    right = {size for size in SIZES_CANDIDATES if size % step == 0 and size >= step}
    if chosen == right:
        return say(
            True,
            f"Correct! Sizes 16 * n: {sorted(right)}. Tools that tile pick such "
            f"tiles; any other size breaks the skip connections after 4 poolings.",
        )
    if 8 in chosen:
        return say(False, "8 is below the minimum 2**4 = 16: four poolings would go below 1 pixel.")
    if chosen & {24, 40, 100, 500}:
        return say(False, "Some of your sizes are not multiples of 16 (2**4): 24 / 16 = 1.5.")
    return say(False, "Keep every candidate that is a multiple of 2**4 = 16 (and at least 16).")


def check_scale_gain(answer):
    """Check the ``scale_linear`` gain that turns raw GAIN_PIXEL_BITS-bit pixels into the course's [0, 1].

    Written-out known mistakes are named first (1/65536 differs from the right 1/65535 by 0.0015 %); then any
    answer within 0.3 % of 1/65535 is right, so that "1.526e-5" and "about 1.53e-5" pass.
    """
    value, problem = as_number(answer)
    if problem:
        return say(False, problem + " (one number, e.g. 1 / 100)")
    largest, values = 2**GAIN_PIXEL_BITS - 1, 2**GAIN_PIXEL_BITS
    mistakes = {
        1 / values: f"1/{values} is close but not it: 16 bits hold {values} values, 0 to {largest}, so the "
        f"brightest pixel would become {largest}/{values}, not 1.",
        1 / 255: "1/255 is for 8-bit images (0 to 255); these are 16-bit.",
        1 / 4095: "1/4095 is the course's rule for 12-bit camera data (every value below 4096); these "
        "images use the whole 16-bit range, up to 65535.",
        largest: "The gain multiplies the pixels: to divide by the largest value, the gain is 1 over it.",
        255: "The gain multiplies the pixels: to divide by the largest value, the gain is 1 over it.",
    }
    for mistake, hint in mistakes.items():
        if abs(value - mistake) <= 1e-6 * mistake:
            return say(False, hint)
    if abs(value * largest - 1) <= 3e-3:
        return say(
            True,
            f"Correct! gain = 1/{largest} = {1 / largest:.4g}: the brightest 16-bit value, {largest}, becomes 1.0, "
            f"as the course's reader does it. A tool that feeds raw pixels then gives the model what it was trained on.",
        )
    return say(
        False, f"The largest {GAIN_PIXEL_BITS}-bit value must become 1.0: what is it, and what multiplies it to 1?"
    )


def check_deepimagej_format(answer):
    """Check a weight format of PACKAGE_WEIGHT_FORMATS that deepImageJ (Fiji) runs."""
    if not isinstance(answer, str):
        return say(False, f"Replace None with one of {list(PACKAGE_WEIGHT_FORMATS)} (a string).")
    name = answer.strip().lower()
    if name in set(PACKAGE_WEIGHT_FORMATS) & set(DEEPIMAGEJ_WEIGHT_FORMATS):
        return say(
            True,
            f"Correct! {name}: deepImageJ is a Java plugin; it runs ONNX (opsets up to 18) and TensorFlow "
            f"SavedModels (TensorFlow up to 2.11, so a SavedModel from a newer TensorFlow may fail), not Keras files.",
        )
    if name.startswith("keras"):
        return say(
            False,
            "keras_v3 is read by Python tools through bioimageio.core (napari, the Model Zoo's test run); "
            "deepImageJ runs in Java and has no Keras.",
        )
    return say(False, f"Pick one of the package's formats: {', '.join(PACKAGE_WEIGHT_FORMATS)}.")
