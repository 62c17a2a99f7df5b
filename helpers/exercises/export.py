"""Exercises of notebook 09 (use your model elsewhere): sizes, preprocessing and weight formats of a package."""

from helpers.exercises.common import as_number, say

__all__ = [
    "SIZES_POOLINGS",
    "SIZES_CANDIDATES",
    "check_accepted_sizes",
    "GAIN_PIXEL_BITS",
    "check_scale_gain",
    "PACKAGE_WEIGHT_FORMATS",
    "DEEPIMAGEJ_WEIGHT_FORMATS",
    "check_deepimagej_format",
]

#: The package of a U-Net with this many poolings states min = step = 2**SIZES_POOLINGS.
SIZES_POOLINGS = 4
#: Tile sides a tool might try.
SIZES_CANDIDATES = (8, 16, 24, 32, 40, 48, 100, 128, 256, 500, 512)

#: Bit depth of the images in the scale_linear exercise (they use the full 16-bit range).
GAIN_PIXEL_BITS = 16

#: The weight formats that helpers.export.export_bioimageio writes (saved_model=True).
PACKAGE_WEIGHT_FORMATS = ("keras_v3", "tensorflow_saved_model_bundle")
#: Weight formats the BioImage Model Zoo's collection configuration lists for the deepImageJ
#: consumer (``consumers.deepimagej.config.supported_weight_formats``). deepImageJ is a Java
#: plugin: it runs TensorFlow SavedModels and TorchScript (deepImageJ 3 also ONNX, through
#: JDLL's engines), never Keras files.
DEEPIMAGEJ_WEIGHT_FORMATS = ("tensorflow_saved_model_bundle", "torchscript")


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


def _close(value, target):
    return abs(value - target) <= 1e-9 * target


def check_scale_gain(answer):
    """Check the ``scale_linear`` gain that turns raw GAIN_PIXEL_BITS-bit pixels into the course's [0, 1]."""
    value, problem = as_number(answer)
    if problem:
        return say(False, problem + " (one number, e.g. 1 / 100)")
    largest = 2**GAIN_PIXEL_BITS - 1
    if _close(value, 1 / largest):
        return say(
            True,
            f"Correct! gain = 1/{largest} = {value:.3g}: the brightest 16-bit value, {largest}, becomes 1.0, "
            f"as the course's reader does it. A tool that feeds raw pixels then gives the model what it was trained on.",
        )
    if _close(value, 1 / 2**GAIN_PIXEL_BITS):
        return say(
            False,
            f"1/{2**GAIN_PIXEL_BITS} is close but not it: 16 bits hold {2**GAIN_PIXEL_BITS} values, "
            f"0 to {largest}, so the brightest pixel would become {largest}/{2**GAIN_PIXEL_BITS}, not 1.",
        )
    if _close(value, 1 / 255):
        return say(False, "1/255 is for 8-bit images (0 to 255); these are 16-bit.")
    if _close(value, largest) or _close(value, 255):
        return say(False, "The gain multiplies the pixels: to divide by the largest value, the gain is 1 over it.")
    if _close(value, 1 / 4095):
        return say(
            False,
            "1/4095 is the course's rule for 12-bit camera data (every value below 4096); these "
            "images use the whole 16-bit range, up to 65535.",
        )
    return say(
        False, f"The largest {GAIN_PIXEL_BITS}-bit value must become 1.0: what is it, and what multiplies it to 1?"
    )


def check_deepimagej_format(answer):
    """Check which weight format of PACKAGE_WEIGHT_FORMATS deepImageJ (Fiji) runs."""
    if answer is None:
        return say(False, f"Replace None with one of {list(PACKAGE_WEIGHT_FORMATS)} (a string).")
    if not isinstance(answer, str):
        return say(False, f"Give one name as a string, e.g. {PACKAGE_WEIGHT_FORMATS[0]!r}.")
    name = answer.strip().lower()
    right = [f for f in PACKAGE_WEIGHT_FORMATS if f in DEEPIMAGEJ_WEIGHT_FORMATS]
    if name in right:
        return say(
            True,
            f"Correct! {name}: deepImageJ is a Java plugin; it runs TensorFlow SavedModels (and TorchScript), "
            f"not Keras files. That is why the package carries this second copy of the weights.",
        )
    if name.startswith("keras"):
        return say(
            False,
            "keras_v3 is read by Python tools through bioimageio.core (napari, the Model Zoo's test run); "
            "deepImageJ runs in Java and has no Keras.",
        )
    if name in ("onnx", "torchscript", "pytorch_state_dict"):
        return say(
            False,
            f"{name} is not in this package (its formats: {', '.join(PACKAGE_WEIGHT_FORMATS)}); "
            f"the course trains with TensorFlow.",
        )
    return say(False, f"Pick one of the package's formats: {', '.join(PACKAGE_WEIGHT_FORMATS)}.")
