"""keras-unet glue: quiet import, its three models on Keras 3, and its pitfalls."""

import numpy as np
import pytest

from helpers import keras_unet


def test_keras_unet_imports_quietly(capsys):
    keras_unet.import_module("keras_unet.models")
    assert "keras-unet init" not in capsys.readouterr().out


def test_keras_unet_vanilla_is_the_papers_valid_unet_572_to_388():
    model = keras_unet.build_model("vanilla", (572, 572, 1))
    assert model.output_shape == (None, 388, 388, 1)


@pytest.mark.parametrize("kind", ["custom", "satellite"])
def test_keras_unet_same_padding_models_keep_the_size_and_train_on_keras_3(kind):
    options = {"filters": 4, "num_layers": 2} if kind == "custom" else {"num_layers": 2}
    model = keras_unet.build_model(kind, (32, 32, 1), **options)
    assert model.output_shape == (None, 32, 32, 1)
    model.compile("adam", "binary_crossentropy")
    images = np.random.default_rng(0).random((4, 32, 32, 1)).astype(np.float32)
    history = model.fit(images, (images > 0.5).astype(np.float32), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_unknown_keras_unet_kind_lists_the_choices():
    with pytest.raises(ValueError, match="vanilla, custom, satellite"):
        keras_unet.build_model("attention", (32, 32, 1))


def test_keras_unet_model_gives_float32_probabilities_under_mixed_precision():
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = keras_unet.build_model("custom", (16, 16, 1), filters=2, num_layers=1)
        probability = model(np.zeros((1, 16, 16, 1), np.float32))
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.layers[-2].compute_dtype == "bfloat16"
    assert keras.backend.standardize_dtype(probability.dtype) == "float32"
