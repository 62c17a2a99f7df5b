"""Exercises of notebook 06 (3-D U-Net), each with a ``check_...()`` function."""

import numpy as np

from helpers.exercises.common import as_number, say

__all__ = [
    "CONV3D_INPUT_CHANNELS",
    "CONV3D_FILTERS",
    "FEATURE_MAP_SHAPE",
    "STACK_SECTIONS",
    "check_conv3d_parameters",
    "check_feature_map_megabytes",
    "check_z_poolings",
]

#: Exercise 1: a Conv3D with a 3x3x3 kernel, this many filters, on this many input channels.
CONV3D_INPUT_CHANNELS = 32
CONV3D_FILTERS = 64

#: Exercise 2: one feature map of seed 002 (depth, height, width, channels), float32 (4 bytes).
FEATURE_MAP_SHAPE = (16, 160, 160, 64)

#: Exercise 3: a stack with this many sections, pooled with pool_size (2, 2, 2).
STACK_SECTIONS = 8


def check_conv3d_parameters(answer):
    """Check the parameter count of Conv3D(CONV3D_FILTERS, 3) on CONV3D_INPUT_CHANNELS channels."""
    value, problem = as_number(answer)
    if problem:
        return say(False, problem)
    weights = 27 * CONV3D_INPUT_CHANNELS * CONV3D_FILTERS
    if value == weights + CONV3D_FILTERS:
        return say(
            True,
            f"Correct! 3·3·3·{CONV3D_INPUT_CHANNELS}·{CONV3D_FILTERS} weights + {CONV3D_FILTERS} "
            f"biases = {weights + CONV3D_FILTERS:,}: three times a 2-D layer's.",
        )
    if value == weights:
        return say(False, "Almost: each filter also has one bias.")
    if value == 9 * CONV3D_INPUT_CHANNELS * CONV3D_FILTERS + CONV3D_FILTERS:
        return say(False, "That is a 2-D 3x3 layer; a 3-D kernel is 3x3x3 = 27 values per input channel.")
    return say(False, f"Not {value:,.0f}. Count kernel size x input channels x filters, plus one bias per filter.")


def check_feature_map_megabytes(answer):
    """Check the size in MB (10**6 bytes) of one float32 feature map of FEATURE_MAP_SHAPE."""
    value, problem = as_number(answer)
    if problem:
        return say(False, problem)
    megabytes = np.prod(FEATURE_MAP_SHAPE) * 4 / 1e6
    if np.isclose(value, megabytes, rtol=0.01):
        return say(
            True,
            f"Correct! {megabytes:.1f} MB for one sample and one layer; training keeps every "
            f"layer's maps for the backward pass, so 3-D U-Nets fill a GPU fast.",
        )
    if np.isclose(value, megabytes / 4, rtol=0.01):
        return say(False, "That is the number of values in millions; each float32 value takes 4 bytes.")
    return say(False, f"Not {value:g}. Multiply the four sizes, then 4 bytes per value, then divide by 1,000,000.")


def check_z_poolings(answer):
    """Check how many (2, 2, 2) poolings STACK_SECTIONS sections allow before one section is left."""
    value, problem = as_number(answer)
    if problem:
        return say(False, problem)
    count = int(np.log2(STACK_SECTIONS))
    if value == count:
        return say(
            True,
            f"Correct! {STACK_SECTIONS} → 4 → 2 → 1: after {count} poolings the z axis is used up; "
            f"pool_size (1, 2, 2) keeps the sections and pools only y and x.",
        )
    return say(False, f"Not {value:g}. Halve {STACK_SECTIONS} until 1 is left and count the steps.")
