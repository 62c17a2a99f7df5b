"""The methods paragraph of a trained U-Net, written from the objects themselves.

A result is only useful with its recipe. :func:`methods_paragraph` reads the recipe from what
was really used, so the text cannot drift from the code when a student changes a setting:

- the **model**: filters of the first level, poolings, batch normalisation, parameters, classes
  (from the Keras layers);
- the **compile call**: optimizer, learning rate and its schedule, loss (from ``model.optimizer``
  and ``model.loss``);
- the **training batches**: crop size, batch size, augmentation (the settings that
  :func:`helpers.pipeline.training_batches` attaches to its dataset);
- the **training run**: epochs, steps per epoch, best epoch and how it was chosen (from the
  :class:`helpers.training.ResumableTraining` of :func:`helpers.training.fit_resumable`);
- the **split** and the **scores** on the test images.

And :func:`show_results`, which shows a run's key numbers and stores them in the notebook's output,
where ``benchmarks/quote_results.py`` reads the few that the README quotes.
"""

from helpers import course

__all__ = [
    "describe_model",
    "describe_optimizer",
    "describe_loss",
    "methods_paragraph",
    "CLASS_RULE",
    "show_results",
    "RESULTS_MIMETYPE",
]

#: The output type that carries a notebook's recorded numbers (a notebook shows only the text).
RESULTS_MIMETYPE = "application/vnd.unet-course.results+json"

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
    """Read the design of a course U-Net from its Keras layers.

    Parameters
    ----------
    model : keras.Model
        From :func:`helpers.models.build_unet` or :func:`helpers.models.build_unet_3d`.

    Returns
    -------
    dict
        ``filters`` (first convolution), ``n_poolings``, ``batch_norm`` (bool), ``parameters``,
        ``outputs`` (output channels: 1 for one structure, K for K classes).
    """
    kinds = [type(layer).__name__ for layer in model.layers]
    convolutions = [layer for layer in model.layers if type(layer).__name__ in ("Conv2D", "Conv3D")]
    if not convolutions:
        raise ValueError(f"{model.name} has no Conv2D/Conv3D layer; is it a U-Net of the course?")
    return {
        "filters": convolutions[0].filters,
        "n_poolings": sum(kind.startswith("MaxPooling") for kind in kinds),
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
        raise KeyError("classes given but evaluation lacks per_class; pass the scores of helpers.own_data.evaluate.")
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


def methods_paragraph(model, batches, run, *, data_description, split, split_how, evaluation, classes=None):
    """Return a methods paragraph, with versions and parameters, for a paper or a lab notebook.

    Parameters
    ----------
    model : keras.Model
        The trained, compiled model (:func:`describe_model`, :func:`describe_optimizer`,
        :func:`describe_loss` read it).
    batches : tf.data.Dataset
        The training batches from :func:`helpers.pipeline.training_batches` (it carries its
        crop size, batch size and augmentation in ``batches.settings``).
    run : helpers.training.ResumableTraining
        What :func:`helpers.training.fit_resumable` returned: epochs, steps per epoch, best epoch.
    data_description : str
        What the images are, e.g. the ``source`` of the data set.
    split : tuple of three sequences
        The training, validation and test indices.
    split_how : str
        ``"in stack order"`` or ``"at random"``.
    evaluation : dict
        ``threshold`` (chosen on validation), ``dice`` and ``iou`` on the test images. K classes
        (the scores of :func:`helpers.own_data.evaluate`): ``dice`` and ``iou`` (means over the
        classes), ``per_class`` (``{"dice": one per class}``), optionally ``class_names`` and
        ``annotated_pixels``; no threshold is needed.
    classes : sequence of str, optional
        K classes: their names, class 0 first. By default ``evaluation["class_names"]`` when
        ``evaluation`` holds ``per_class`` (binary otherwise). With classes the paragraph says
        that each pixel got its most probable class, instead of a threshold, and gives the Dice
        of every class.

    Returns
    -------
    str

    Raises
    ------
    KeyError
        If ``evaluation`` lacks a score the paragraph needs (named).
    ValueError
        If ``batches`` carries no settings, or the class names do not match the classes scored.
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
    steps = run.state.get("steps_per_epoch")
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
        f"U-Net image segmentation course ({course.REPOSITORY_URL}). Data: {data_description}; "
        f"{len(train)} images for training, {len(validation)} for validation and {len(test)} for testing "
        f"(split {split_how}). The network was trained on random {crop}x{crop} crops "
        f"({_augmentation_words(settings['augment'])}), batch size {settings['batch_size']}, "
        f"{describe_optimizer(model)}, loss {describe_loss(model)}, for {epochs} epochs{steps_words}; the "
        f"weights of epoch {best + 1}, the best {run.monitor.replace('val_', 'validation ')} on the validation "
        f"images, were kept. {rule} On the test images, never used for any choice, the Dice score was "
        f"{evaluation['dice']:.3f} and the IoU {evaluation['iou']:.3f}."
    )
    return f"{text} {_per_class_sentence(evaluation, names)}" if names else text


def show_results(values, title="Recorded results"):
    """Show a run's key numbers, ``{key: number}`` with keys like ``"unet_dice"``, and store them in the output.

    In a notebook the table is displayed with the numbers attached (``RESULTS_MIMETYPE``);
    elsewhere it is printed.
    """
    import re

    bad = [key for key in values if not re.fullmatch(r"[a-z0-9_]+", key)]
    if bad:
        raise ValueError(f"Result keys must be lower case letters, digits and _, like 'unet_dice'; got {bad}.")
    numbers = {key: float(value) for key, value in values.items()}
    width = max(len(key) for key in numbers) + 2
    text = "\n".join([title] + [f"  {key:{width}}{value:.4g}" for key, value in numbers.items()])
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(text)
        return
    display({"text/plain": text, RESULTS_MIMETYPE: numbers}, raw=True)
