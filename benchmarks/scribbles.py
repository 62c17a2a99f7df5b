"""Dense masks or scribbles? The same U-Net on ISBI 2012 trained on each, and the classical pixel classifier.

Three trainings, scored on the same held-out sections against their dense masks:

(a) the U-Net on the dense masks (every pixel labelled);
(b) the same U-Net on scribbles made from those masks by :func:`helpers.synthetic.make_scribbles`
    (thin strokes along the membranes and inside the cells, ``--fraction`` of the pixels; the
    rest "not annotated", weight 0 in the loss: :func:`helpers.pipeline.with_ignore_weights`);
(c) a random forest on the same scribbled pixels (the Trainable Weka way: the features of
    :func:`helpers.models.pixel_features`).

The sections are split in stack order: the first 20 train, the next 4 validate (the threshold,
chosen on the validation sections' own kind of annotation: dense for (a), scribbles for (b) and
(c)), the last 6 test. Both U-Nets train the same number of steps with the same seed.

    UNET_COURSE_DATA_URL=http://127.0.0.1:8765/ python benchmarks/scribbles.py [--steps 150]

Prints the table, writes it to ``benchmarks/results/scribbles.txt`` and records its numbers under
``scribbles`` in ``benchmarks/results/benchmark_results.json`` (quoted by notebook 08 as
``0.690<!--r:scribbles/dense_dice-->``; :mod:`quote_results` keeps the quotes equal to the record).
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "scribbles.txt"
IGNORE = 255


def _unet(filters, n_poolings, learning_rate, steps):
    import keras

    from helpers import metrics, models

    model = models.build_unet(
        input_shape=(None, None, 1), filters=filters, n_poolings=n_poolings, batch_norm=True, dropout=0.0
    )
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="binary_crossentropy", metrics=[metrics.keras_dice()])
    return model


def _threshold(truth, probabilities):
    from helpers import metrics

    annotated = truth != IGNORE
    return metrics.choose_threshold(truth[annotated], probabilities[annotated])[0]


def train_unet(images, masks, args, ignore_value=None):
    """Train the U-Net on (images, masks) for args.steps steps; return the model and seconds."""
    import keras

    from helpers import pipeline

    keras.utils.set_random_seed(args.seed)
    batches = pipeline.training_batches(images, masks, crop_size=args.crop, batch_size=args.batch, seed=args.seed)
    if ignore_value is not None:
        batches = pipeline.with_ignore_weights(batches, ignore_value)
    model = _unet(args.filters, 4, args.learning_rate, args.steps)
    start = time.perf_counter()
    model.fit(batches, epochs=1, steps_per_epoch=args.steps, verbose=0)
    return model, time.perf_counter() - start


def predict(model, images):
    """Probabilities of whole images (mirror-padded to a multiple of 16 and cut back)."""
    from helpers import inference

    return np.stack([inference.predict_padded(model, image, 4) for image in images])


def train_forest(images, scribbles, seed):
    """A random forest on every scribbled pixel of the training sections; return it and seconds."""
    from sklearn.ensemble import RandomForestClassifier

    from helpers import models

    start = time.perf_counter()
    features, labels = [], []
    for image, scribble in zip(images, scribbles):
        described = models.pixel_features(image)
        labelled = scribble[..., 0] != IGNORE
        features.append(described[labelled])
        labels.append(scribble[..., 0][labelled] == 1)
    forest = RandomForestClassifier(n_estimators=50, max_depth=12, n_jobs=-1, random_state=seed)
    forest.fit(np.concatenate(features), np.concatenate(labels))
    return forest, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.03, help="share of the pixels scribbled")
    parser.add_argument("--steps", type=int, default=150, help="training steps of each U-Net")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--filters", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--note", default="", help='how the machine was measured, e.g. "shared with other jobs"')
    args = parser.parse_args()

    from quote_results import record_benchmark
    from run_notebooks import machine

    from helpers import datasets, metrics, models, synthetic

    data = datasets.load_membranes("default")
    if not data.source.startswith("ISBI"):
        sys.exit("The ISBI 2012 images could not be downloaded; set UNET_COURSE_DATA_URL to a mirror.")
    images, masks = data.images, data.masks
    train, validation, test = np.arange(20), np.arange(20, 24), np.arange(24, 30)
    scribbles = np.stack(
        [synthetic.make_scribbles(mask, args.fraction, seed=args.seed + i) for i, mask in enumerate(masks)]
    ).astype(np.float32)
    truth = masks[test]

    rows = []
    dense_model, dense_seconds = train_unet(images[train], masks[train], args)
    threshold = _threshold(masks[validation], predict(dense_model, images[validation]))
    scores = metrics.evaluate_segmentation(truth, predict(dense_model, images[test]), threshold)
    rows.append(("(a) U-Net, dense masks", masks[train].size, dense_seconds, threshold, scores))

    sparse_model, sparse_seconds = train_unet(images[train], scribbles[train], args, ignore_value=IGNORE)
    threshold = _threshold(scribbles[validation], predict(sparse_model, images[validation]))
    scores = metrics.evaluate_segmentation(truth, predict(sparse_model, images[test]), threshold)
    labelled = int(np.sum(scribbles[train] != IGNORE))
    rows.append(("(b) U-Net, scribbles", labelled, sparse_seconds, threshold, scores))

    forest, forest_seconds = train_forest(images[train], scribbles[train], args.seed)
    threshold = _threshold(scribbles[validation], models.predict_pixel_classifier(forest, images[validation]))
    scores = metrics.evaluate_segmentation(truth, models.predict_pixel_classifier(forest, images[test]), threshold)
    rows.append(("(c) random forest, scribbles", labelled, forest_seconds, threshold, scores))

    lines = [
        f"Dense masks or scribbles, ISBI 2012 ({data.source}); {datetime.date.today()}",
        f"Machine: {machine()}" + (f" ({args.note})" if args.note else ""),
        "Command: python benchmarks/scribbles.py "
        f"--fraction {args.fraction} --steps {args.steps} --crop {args.crop} --batch {args.batch} "
        f"--filters {args.filters} --seed {args.seed}",
        f"Split in stack order: sections 1-20 train, 21-24 validate (threshold), 25-30 test "
        f"({truth.size:,} test pixels, dense masks). Scribbles: {args.fraction:.0%} of the pixels, "
        "half on membranes, half inside cells (synthetic.make_scribbles).",
        "",
        f"{'training':32}{'labelled pixels':>16}{'share':>8}{'seconds':>9}{'threshold':>10}{'Dice':>7}{'IoU':>7}",
    ]
    for name, count, seconds, threshold, scores in rows:
        lines.append(
            f"{name:32}{count:>16,}{count / masks[train].size:>8.1%}{seconds:>9.0f}{threshold:>10.2f}"
            f"{scores['dice']:>7.3f}{scores['iou']:>7.3f}"
        )
    text = "\n".join(lines)
    print(text)
    if not args.no_save:
        RESULTS.write_text(text + "\n", encoding="utf-8")
        print(f"saved as {RESULTS}")
        values = {"steps": args.steps, "train_pixels": masks[train].size}
        for key, (_, count, _, _, scores) in zip(("dense", "scribble", "forest"), rows):
            values.update({f"{key}_dice": scores["dice"], f"{key}_iou": scores["iou"], f"{key}_pixels": count})
        values["scribble_percent"] = 100 * rows[1][1] / masks[train].size
        for changed in record_benchmark("scribbles", values, machine(), datetime.date.today()):
            print(f"updated the quoted numbers in {changed}")


if __name__ == "__main__":
    main()
