"""Exercises of notebook 06 (3-D U-Net), each with a ``check_...()`` function."""

import numpy as np

from helpers.exercises.common import judge_number, say
from helpers.exercises.predictions import judge_direction

__all__ = [
    "CONV3D_INPUT_CHANNELS", "CONV3D_FILTERS", "FEATURE_MAP_SHAPE", "STACK_SECTIONS", "HINTS",
    "check_conv3d_parameters", "check_feature_map_megabytes", "check_z_poolings", "check_pooling_prediction",
    "check_overlap_prediction",
]  # fmt: skip

#: On-demand help, ``exercises.hint("conv3d_parameters")``: read it before the solution.
HINTS = {
    "conv3d_parameters": "Each filter has 3 x 3 x 3 weights for every input channel, plus one bias.",
    "feature_map_megabytes": "Multiply the four numbers of the shape, then 4 bytes per float32 value.",
    "z_poolings": "Each (2, 2, 2) pooling halves the number of sections: 8, 4, ...",
    "pooling_prediction": "Where are the weights of a U-Net: in the convolutions or in the poolings?",
    "overlap_prediction": "Voxels near the border of a window see less context; with overlap every voxel "
    "is also seen from a window where it lies further inside.",
}

#: Exercise 1: a Conv3D with a 3x3x3 kernel, this many filters, on this many input channels.
CONV3D_INPUT_CHANNELS = 32
CONV3D_FILTERS = 64

#: Exercise 2: one feature map of seed 002 (depth, height, width, channels), float32 (4 bytes).
FEATURE_MAP_SHAPE = (16, 160, 160, 64)

#: Exercise 3: a stack with this many sections, pooled with pool_size (2, 2, 2).
STACK_SECTIONS = 8


def check_conv3d_parameters(answer):
    """Check the parameter count of Conv3D(CONV3D_FILTERS, 3) on CONV3D_INPUT_CHANNELS channels."""
    weights = 27 * CONV3D_INPUT_CHANNELS * CONV3D_FILTERS
    two_d = 9 * CONV3D_INPUT_CHANNELS * CONV3D_FILTERS + CONV3D_FILTERS  # the same layer in 2-D
    return judge_number(
        answer,
        weights + CONV3D_FILTERS,
        f"Correct! 3·3·3·{CONV3D_INPUT_CHANNELS}·{CONV3D_FILTERS} weights + {CONV3D_FILTERS} "
        f"biases = {weights + CONV3D_FILTERS:,}: three times a 2-D layer's.",
        "Not {number:,.0f}. Count kernel size x input channels x filters, plus one bias per filter.",
        mistakes=[
            (weights, "Almost: each filter also has one bias."),
            (two_d, "That is a 2-D 3x3 layer; a 3-D kernel is 3x3x3 = 27 values per input channel."),
        ],
    )


def check_feature_map_megabytes(answer):
    """Check the size in MB (10**6 bytes) of one float32 feature map of FEATURE_MAP_SHAPE."""
    megabytes = np.prod(FEATURE_MAP_SHAPE) * 4 / 1e6
    return judge_number(
        answer,
        megabytes,
        f"Correct! {megabytes:.1f} MB for one sample and one layer; training keeps every "
        f"layer's maps for the backward pass, so 3-D U-Nets fill a GPU fast.",
        "Not {value}. Multiply the four sizes, then 4 bytes per value, then divide by 1,000,000.",
        mistakes=[(megabytes / 4, "That is the number of values in millions; each float32 value takes 4 bytes.")],
        rtol=0.01,
    )


def check_z_poolings(answer):
    """Check how many (2, 2, 2) poolings STACK_SECTIONS sections allow before one section is left."""
    count = int(np.log2(STACK_SECTIONS))
    return judge_number(
        answer,
        count,
        f"Correct! {STACK_SECTIONS} → 4 → 2 → 1: after {count} poolings the z axis is used up; "
        f"pool_size (1, 2, 2) keeps the sections and pools only y and x.",
        f"Not {{value}}. Halve {STACK_SECTIONS} until 1 is left and count the steps.",
    )


def _pooled_sections(model):
    """Sections after each MaxPooling3D layer of a model built for a fixed box, or [] if unknown."""
    import keras

    sizes = [layer.output.shape[1] for layer in model.layers if isinstance(layer, keras.layers.MaxPooling3D)]
    return sizes if None not in sizes else []


def check_pooling_prediction(prediction, model, other_model):
    """Predict, then run: more, fewer or the same parameters with another pool_size (``other_model``)?"""
    sections = _pooled_sections(other_model)
    why = (
        "Pooling layers have no weights: the pool size changes how fast the feature maps shrink "
        "(and the memory they need), not the number of parameters."
    )
    if sections:
        why += f" In the new model the sections of a box go {' -> '.join(map(str, sections))} at its poolings."
    return judge_direction(
        prediction, model.count_params(), other_model.count_params(), "parameters", 0, why, number_format=",.0f"
    )


def check_overlap_prediction(prediction, overlap, dice_before, dice_after, overlap_before=0.25):
    """Predict, then run: "higher", "lower" or "the same" Dice (``dice_after``) with the learner's window
    ``overlap`` than with ``overlap_before`` (``dice_before``), on the same volume?"""
    if np.isclose(overlap, overlap_before):
        return say(False, f"OVERLAP is {overlap_before} again: change it (e.g. to 0.0 or 0.5) and run the cell again.")
    why = (
        f"Overlap {overlap_before} -> {overlap}: with overlap, the voxels at a window's border are also "
        "predicted from a window where they lie inside, and the predictions are averaged; the effect is "
        "small when the network's view is small compared with the window."
    )
    return judge_direction(prediction, dice_before, dice_after, "Dice", 0.002, why)
