"""The expected answers of notebook 09's exercises are the ones helpers.export really writes.

Each check is given the answer read from a package that export_bioimageio exported, and must accept
it; a typical mistake, and a known-wrong answer, must be refused.
"""

import numpy as np
import pytest

from helpers import exercises, export, imageio
from helpers.models import build_unet

pytest.importorskip("bioimageio.core")


@pytest.fixture(autouse=True)
def quiet(capsys):
    yield


@pytest.fixture(scope="module")
def package_16_bit(tmp_path_factory):
    """A tiny grey U-Net with the exercise's poolings, exported for 16-bit images in every weight format."""
    model = build_unet(input_shape=(None, None, 1), filters=2, n_poolings=exercises.SIZES_POOLINGS, dropout=0.0)
    image = np.random.default_rng(0).integers(0, 65536, (16, 16)).astype(np.uint16)  # full range
    path = export.export_bioimageio(
        model,
        tmp_path_factory.mktemp("package16"),
        name="Tiny 16-bit",
        description="Tiny grey binary U-Net for 16-bit images.",
        test_image=image,
        threshold=0.5,
        rescaling=imageio.scaling_rule(image),
        authors=["Test Author"],
        training_data="Generated test pixels.",
        scores={"IoU (test)": 0.5},
        methods="Untrained; built for the tests.",
    )
    return export.validate_package(path)


def test_accepted_sizes_exercise_is_what_the_package_states(package_16_bit):
    y_axis = package_16_bit.inputs[0].axes[1]
    stated_min, stated_step = y_axis.size.min, y_axis.size.step
    answer = [s for s in exercises.SIZES_CANDIDATES if s >= stated_min and (s - stated_min) % stated_step == 0]
    assert answer == [16, 32, 48, 128, 256, 512]  # by hand: the multiples of 2**4 among the candidates
    assert exercises.check_accepted_sizes(answer)
    assert not exercises.check_accepted_sizes([8] + answer)  # below the minimum
    assert not exercises.check_accepted_sizes(answer + [24, 100])  # not multiples of 16
    assert not exercises.check_accepted_sizes(None)


def test_scale_gain_exercise_is_the_gain_of_an_exported_16_bit_package(package_16_bit):
    scale = [p for p in package_16_bit.inputs[0].preprocessing if p.id == "scale_linear"][0]
    gain = scale.kwargs.gain
    assert gain == pytest.approx(1 / 65535, rel=1e-12)
    assert exercises.check_scale_gain(gain)
    assert exercises.check_scale_gain(1 / 65535)
    assert not exercises.check_scale_gain(1 / 65536)  # 2**16 values, but the largest is 65535
    assert not exercises.check_scale_gain(1 / 255)  # the 8-bit gain
    assert not exercises.check_scale_gain(65535)  # divides instead of multiplies
    assert not exercises.check_scale_gain(1 / 4095)  # the 12-bit rule
    assert not exercises.check_scale_gain(None)


def test_scale_gain_accepts_the_rounded_forms_of_the_solution_and_refuses_wrong_ones():
    assert exercises.check_scale_gain(1.526e-5)  # issue 22: was refused
    assert exercises.check_scale_gain(1.53e-5)  # the solution's own "about 1.53e-5"
    assert not exercises.check_scale_gain(1.52e-5)  # rounded the wrong way: 0.4 % off
    assert not exercises.check_scale_gain(1.6e-5)
    assert not exercises.check_scale_gain(1 / 65536)  # still refused, though 0.0015 % from the right answer


def test_deepimagej_format_exercise_is_a_package_format_deepimagej_lists(package_16_bit):
    formats = {name for name, entry in package_16_bit.weights if entry is not None}
    assert formats == set(exercises.PACKAGE_WEIGHT_FORMATS)
    answers = formats & set(exercises.DEEPIMAGEJ_WEIGHT_FORMATS)
    assert answers == {"onnx", "tensorflow_saved_model_bundle"}
    assert all(exercises.check_deepimagej_format(answer) for answer in answers)
    assert not exercises.check_deepimagej_format("keras_v3")  # Python tools only
    assert not exercises.check_deepimagej_format("torchscript")  # deepImageJ runs it, but it is not in this package
    assert not exercises.check_deepimagej_format(None)


def test_feedback_names_the_usual_mistake(capsys):
    exercises.check_scale_gain(1 / 65536)
    assert "65535" in capsys.readouterr().out
    exercises.check_scale_gain(1 / 4095)
    assert "12-bit" in capsys.readouterr().out
    exercises.check_deepimagej_format("keras_v3")
    assert "Java" in capsys.readouterr().out
