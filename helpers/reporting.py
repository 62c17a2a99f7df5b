"""The methods paragraph of a trained U-Net, read from the objects really used.

:func:`methods_paragraph` reads the model, its compile call, the training batches' settings, the
training run, the split and the test scores, so the text cannot drift from the code.
"""

from pathlib import Path

from helpers import course

__all__ = [
    "describe_model",
    "describe_optimizer",
    "describe_loss",
    "methods_paragraph",
    "CLASS_RULE",
]

#: Words for the losses a course model may be compiled with (Keras names and the course's).
LOSS_WORDS = {
    "binary_crossentropy": "binary cross-entropy",
    "bce": "binary cross-entropy",
    "weighted_bce": "weighted binary cross-entropy",
    "focal": "binary focal cross-entropy",
    "jaccard": "soft Jaccard",
    "dice_loss": "soft Dice",
    "dice": "soft Dice",
    "tversky": "Tversky",
    "bce_dice": "binary cross-entropy + soft Dice",
    "sparse_categorical_crossentropy": "sparse categorical cross-entropy",
    "cross_entropy": "sparse categorical cross-entropy",
    "cross_entropy_dice": "sparse categorical cross-entropy + multi-class Dice",
    "multi_class_dice": "multi-class soft Dice",
    "categorical_crossentropy": "categorical cross-entropy",
}


def describe_model(model):
    """Return a course U-Net's ``filters`` (first level), ``n_poolings``, ``batch_norm``, ``parameters``, ``outputs``."""
    from helpers.models import count_poolings

    kinds = [type(layer).__name__ for layer in model.layers]
    convolutions = [layer for layer in model.layers if type(layer).__name__ in ("Conv2D", "Conv3D")]
    if not convolutions:
        raise ValueError(f"{model.name} has no Conv2D/Conv3D layer; is it a U-Net of the course?")
    return {
        "filters": convolutions[0].filters,
        "n_poolings": count_poolings(model),
        "batch_norm": "BatchNormalization" in kinds,
        "parameters": model.count_params(),
        "outputs": model.output_shape[-1],
    }


def describe_optimizer(model):
    """Return e.g. ``"Adam, learning rate 0.003 decaying to 0 along a cosine over 300 steps"``."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError("The model is not compiled; compile it (model.compile(...)) before describing it.")
    rate = optimizer.get_config()["learning_rate"]
    if isinstance(rate, dict):  # a schedule
        config, kind = rate["config"], rate["class_name"]
        if kind == "CosineDecay":
            words = (
                f"learning rate {config['initial_learning_rate']:g} decaying to "
                f"{config['alpha'] * config['initial_learning_rate']:g} along a cosine over "
                f"{config['decay_steps']} steps"
            )
        else:
            words = f"learning-rate schedule {kind} {config}"
    else:
        words = f"learning rate {float(rate):g}"
    return f"{type(optimizer).__name__}, {words}"


def describe_loss(model):
    """Return the loss the model was compiled with, in words (e.g. ``"binary cross-entropy"``)."""
    loss = getattr(model, "loss", None)
    if loss is None:
        raise ValueError("The model is not compiled; compile it (model.compile(loss=...)) before describing it.")
    name = loss if isinstance(loss, str) else getattr(loss, "name", None) or getattr(loss, "__name__", str(loss))
    return LOSS_WORDS.get(name, name.replace("_", " "))


def _augmentation_words(augment):
    return {
        False: "no augmentation besides the random crops",
        True: "random flips and 90-degree rotations",
        "geometric": "random flips, 90-degree rotations, small rotations, shear, zoom and shifts",
        "full": "random flips, 90-degree rotations, small rotations, shear, zoom, shifts and changes of "
        "brightness, contrast, gamma and noise",
    }.get(augment, str(augment))


#: How a K-class paragraph says what stands for the threshold of a binary one.
CLASS_RULE = "Each pixel was given its most probable class."


def _class_names(evaluation, classes):
    """The class names of a K-class evaluation (None for a binary one), checked against its scores."""
    per_class = evaluation.get("per_class")
    if classes is None and per_class is None:
        return None
    if per_class is None:
        raise KeyError(
            "classes given but evaluation lacks per_class; pass the scores with per_class (helpers.metrics.per_class_scores)."
        )
    count = len(per_class["dice"])
    names = list(classes if classes is not None else evaluation.get("class_names") or [])
    names = names or [f"class {i}" for i in range(count)]
    if len(names) != count:
        raise ValueError(f"Got {len(names)} class names for {count} classes scored; give one name per class.")
    return names


def _per_class_sentence(evaluation, names):
    per_class = ", ".join(f"{n} {d:.3f}" for n, d in zip(names, evaluation["per_class"]["dice"]))
    pixels = evaluation.get("annotated_pixels")
    where = f" ({pixels:,} annotated test pixels)" if pixels is not None else ""
    return f"Dice and IoU are means over the {len(names)} classes; Dice per class: {per_class}{where}."


def _data_words(data_description, folders, mask_values):
    """The data in words: folder names, never where they are on this machine; the masks' stored values."""
    for folder in folders or ():
        places = {str(folder), str(Path(folder).expanduser()), str(Path(folder).expanduser().resolve())}
        for where in sorted(places, key=len, reverse=True):  # the longest first: a relative path is inside it
            data_description = data_description.replace(where, f"'{Path(folder).name}'")
    meanings = ", ".join(f"{value} = {meaning}" for value, meaning in (mask_values or {}).items())
    return f"{data_description} (mask values: {meanings})" if meanings else data_description


def methods_paragraph(
    model, batches, run, *, data_description, split, split_how, evaluation, classes=None, folders=(), mask_values=None
):
    """Return a methods paragraph, with versions and parameters, for a paper or a lab notebook.

    ``batches``: from :func:`helpers.pipeline.training_batches` (it carries ``settings``); ``run``:
    what :func:`helpers.training.fit_resumable` returned; ``split``: (train, validation, test) indices;
    ``split_how``: "in stack order" or "at random". ``evaluation``: ``threshold`` (chosen on
    validation), ``dice`` and ``iou`` on the test images; for K classes instead ``dice`` and ``iou``
    as means over the classes, ``per_class`` (from :func:`helpers.metrics.per_class_scores`) and
    optionally ``class_names`` and ``annotated_pixels``. ``classes``: the K class names, class 0
    first (default ``evaluation["class_names"]``). ``folders``: the data folders ``data_description`` names, given
    by their names only; ``mask_values``: what each stored mask value means, e.g. ``{0: "background", 255: "structure"}``.
    """
    settings = getattr(batches, "settings", None)
    if settings is None:
        raise ValueError("batches has no settings: make it with helpers.pipeline.training_batches(...).")
    names = _class_names(evaluation, classes)
    missing = [key for key in ("dice", "iou") + (() if names else ("threshold",)) if key not in evaluation]
    if missing:
        raise KeyError(f"evaluation lacks {', '.join(missing)}; pass e.g. dict(threshold=threshold, **scores).")
    design = describe_model(model)
    versions = course.package_versions(("tensorflow", "keras", "numpy", "scikit-image"))
    train, validation, test = split
    epochs, best = run.finished_epochs, run.state["best_epoch"]
    steps = run.identity.get("steps_per_epoch")
    steps_words = f" of {steps} batches" if steps else ""
    crop = settings["crop_size"]
    rule = (
        CLASS_RULE
        if names
        else f"Probabilities were thresholded at {evaluation['threshold']:.2f}, chosen on the validation images."
    )
    text = (
        f"Segmentation used a U-Net (Ronneberger et al. 2015) with {design['filters']} filters in the first "
        f"level, {design['n_poolings']} poolings{', batch normalisation' if design['batch_norm'] else ''} and "
        f"{design['parameters']:,} parameters, implemented in TensorFlow {versions['tensorflow']} / Keras "
        f"{versions['keras']} (numpy {versions['numpy']}, scikit-image {versions['scikit-image']}) with the "
        f"U-Net image segmentation course ({course.REPOSITORY_URL}). Data: {_data_words(data_description, folders, mask_values)}; "
        f"{len(train)} images for training, {len(validation)} for validation and {len(test)} for testing "
        f"(split {split_how}). The network was trained on random {crop}x{crop} crops "
        f"({_augmentation_words(settings['augment'])}), batch size {settings['batch_size']}, "
        f"{describe_optimizer(model)}, loss {describe_loss(model)}, for {epochs} epochs{steps_words}; the "
        f"weights of epoch {best + 1}, the best {run.monitor.replace('val_', 'validation ')} on the validation "
        f"images, were kept. {rule} On the test images, never used for any choice, the Dice score was "
        f"{evaluation['dice']:.3f} and the IoU {evaluation['iou']:.3f}."
    )
    return f"{text} {_per_class_sentence(evaluation, names)}" if names else text
