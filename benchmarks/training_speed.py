"""Training steps per second in float32 and in the precision chosen for this machine, and the test Dice after equal minutes.

Notebook 01's U-Net (8 filters, 4 poolings, batch normalisation) trains on 01's data, batches of 4
crops of 256x256 (smoke: 8 of 64x64), once per precision for the same ``--minutes``. Steps per second
are end to end: ``model.fit`` on the course's ``tf.data`` pipeline (crops, flips, quarter turns), the
input pipeline included, the first (graph-building) epoch left out. Each run then chooses its threshold
on the validation images and scores the test images once. The precision is
``course.choose_precision()``'s (mixed_bfloat16 on CPUs with AVX512_BF16 or AMX, mixed_float16 on GPUs
with tensor cores, else float32); ``--policy`` measures another one, e.g. ``mixed_bfloat16`` on a CPU
without those instructions (it runs, emulated, and is slower there).

    python benchmarks/training_speed.py [--minutes 0.5] [--mode smoke] [--policy mixed_bfloat16]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from run_notebooks import machine  # noqa: E402  (benchmarks/run_notebooks.py: CPU model, cores, AVX-512, GPU)


def train_for_minutes(policy, data, minutes, settings, steps_per_epoch=5):
    """Train a fresh U-Net in ``policy`` for ``minutes``; return steps per second and the test Dice."""
    import keras

    from helpers import datasets, metrics, models, pipeline

    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    images, masks = data
    train, validation, test = datasets.split_consecutive(len(images), n_validation=4, n_test=5)
    model = models.build_unet((None, None, 1), filters=8, n_poolings=4, batch_norm=True, dropout=0.0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    batches = pipeline.training_batches(images[train], masks[train], seed=0, **settings)
    model.fit(
        batches, epochs=1, steps_per_epoch=steps_per_epoch, shuffle=False, verbose=0
    )  # builds the graph: not timed
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < minutes * 60:
        model.fit(batches, epochs=1, steps_per_epoch=steps_per_epoch, shuffle=False, verbose=0)
        steps += steps_per_epoch
    seconds = time.perf_counter() - start
    threshold, _ = metrics.choose_threshold(masks[validation], model.predict(images[validation], verbose=0))
    dice = metrics.evaluate_segmentation(masks[test], model.predict(images[test], verbose=0), threshold)["dice"]
    keras.mixed_precision.set_global_policy("float32")
    return steps / seconds, steps, dice


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=0.5, help="training time per precision (default 0.5)")
    parser.add_argument("--mode", choices=["smoke", "default"], default="default", help="01's data (default: ISBI)")
    parser.add_argument("--policy", help="the precision to compare with float32 (default: the one chosen here)")
    arguments = parser.parse_args()

    from helpers import course, datasets

    course.import_tensorflow_quietly()
    chosen, why = course.choose_precision()
    policy = arguments.policy or chosen
    membranes = datasets.load_membranes(arguments.mode)
    data = (membranes.images, membranes.masks)
    settings = dict(crop_size=64, batch_size=8) if arguments.mode == "smoke" else dict(crop_size=256, batch_size=4)
    print(f"Machine: {machine()}")
    print(f"Chosen here: {chosen} ({why}); compared: float32 and {policy}, {arguments.minutes:g} min each")
    print(f"{'precision':16}{'steps/s':>9}{'steps':>7}{'test Dice':>11}")
    results = {}
    for name in dict.fromkeys(["float32", policy]):
        results[name] = train_for_minutes(name, data, arguments.minutes, settings)
        print(f"{name:16}{results[name][0]:>9.3f}{results[name][1]:>7}{results[name][2]:>11.3f}", flush=True)
    if policy != "float32":
        print(
            f"{policy} runs {results[policy][0] / results['float32'][0]:.2f}x the training steps per second of float32"
        )


if __name__ == "__main__":
    main()
