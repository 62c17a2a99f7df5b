"""What several test files share: a local HTTP mirror of the download addresses, fake dataset
descriptions and small image files as bytes. The ``mirror`` fixture itself is in tests/conftest.py."""

import hashlib
import http.server
import io
import json
import threading
import time

import numpy as np
import tifffile
from PIL import Image

from helpers import download

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class Mirror:
    """A local web server over a folder.

    ``requests`` lists every path asked for, ``times`` when each came, ``connections`` counts
    the TCP connections accepted. ``fail(path, times, how)`` makes the first ``times`` requests
    for ``path`` fail: ``how`` is an HTTP status, ``"drop"`` (close without answering),
    ``"cut"`` (promise more bytes than sent, then close) or ``("slow", seconds)``.
    """

    def __init__(self, folder):
        self.folder = folder
        self.requests = []
        self.times = []
        self.connections = 0
        self.failures = {}
        self.lock = threading.Lock()
        mirror = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: one connection can carry many requests

            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def do_GET(self):
                with mirror.lock:
                    mirror.requests.append(self.path)
                    mirror.times.append((self.path, time.monotonic()))
                    seen = mirror.requests.count(self.path)
                    times, how = mirror.failures.get(self.path, (0, None))
                if seen <= times and self.fail(how):
                    return
                super().do_GET()

            def fail(self, how):
                """Fail this request as planned; return False to answer it normally after all."""
                if isinstance(how, int):
                    self.send_error(how)
                elif how == "drop":
                    self.close_connection = True
                elif how == "cut":
                    self.send_response(200)
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b"only part of the file")
                    self.close_connection = True
                else:
                    time.sleep(how[1])
                    return False
                return True

            def log_message(self, *args):
                pass

        class CountingServer(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                accepted = super().get_request()
                with mirror.lock:
                    mirror.connections += 1
                return accepted

            def handle_error(self, request, client_address):
                pass  # a client that hangs up early (a test stopping a download) is no error here

        self.server = CountingServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def fail(self, path, times, how):
        self.failures[path] = (times, how)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def register(mirror, name, files, served=None, owner="tester", sizes=True):
    """Describe a dataset of ``files`` ({path: bytes}); put ``served`` (default: the same) on the mirror."""
    served = files if served is None else served
    base = mirror.folder / owner / name / COMMIT
    for path, content in served.items():
        (base / path).parent.mkdir(parents=True, exist_ok=True)
        (base / path).write_bytes(content)
    info = {
        "name": name,
        "title": f"The {name} set",
        "source": f"https://github.com/{owner}/{name}",
        "commit": COMMIT,
        "base_url": f"https://raw.githubusercontent.com/{owner}/{name}/{COMMIT}/",
        "license": f"License of {name}: CC0",
        "citation": f"Someone et al. The {name} dataset (2020).",
        "notes": "fake dataset for the tests",
        "files": {path: hashlib.sha256(content).hexdigest() for path, content in files.items()},
    }
    if sizes:
        info["sizes"] = {path: len(content) for path, content in files.items()}
    download.REGISTRY_FOLDER.mkdir(exist_ok=True)
    (download.REGISTRY_FOLDER / f"{name}.json").write_text(json.dumps(info))
    return info


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def tif_bytes(array):
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, photometric="minisblack")
    return buffer.getvalue()


#: Grey values of a Drosophila VNC label image: every kind of membrane and the four other classes.
GREYS = np.array([[0, 32, 64, 96], [128, 159, 191, 223], [255, 255, 191, 159], [0, 255, 223, 255]], np.uint8)


def fake_vnc(mirror, n=2):
    """Register a fake Drosophila VNC stack of ``n`` 4x4 sections on the mirror."""
    files = {}
    for index in range(n):
        files[f"stack1/raw/{index:02d}.tif"] = tif_bytes(np.full((4, 4), 51 * (index + 1), np.uint8))
        files[f"stack1/labels/labels000000{index:02d}.png"] = png_bytes(GREYS)
    files["stack1/mitochondria/00.png"] = png_bytes(GREYS)  # not needed: must not be downloaded
    register(mirror, "drosophila_vnc", files)


# --- image files on disk (the reader's and the data sets' tests) ---------------------------


def write_png(path, array):
    """Write ``array`` as a PNG with Pillow (2 channels: grey + alpha, 4: RGBA, uint16: 16-bit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array)).save(path)
    return path


def write_tif(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.asarray(array))
    return path


def snapshot(folder):
    """Every file under ``folder`` with its bytes and modification time."""
    return {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def make_pair_folders(root, names, size=(4, 5)):
    """Image ``name`` is filled with the value ``int(name)``; its mask is 255 on row 0 only."""
    for name in names:
        write_png(root / "images" / f"{name}.png", np.full(size, int(name), np.uint8))
        mask = np.zeros(size, np.uint8)
        mask[0] = 255
        write_png(root / "masks" / f"{name}.png", mask)
    return root / "images", root / "masks"


def run_as_notebook_08(root, results, *, n_poolings, crop, filters, tile=None, **check_options):
    """Notebook 08's calls on a folder (images/, masks/, new/ under ``root``): check, load, split, 2 training
    steps with validation, the threshold or per-class scores on the test image, and ``predict_folder``.

    Returns a namespace with what the notebook would hold: report, loaded, split, seen (the number of
    test pixels scored), probabilities (of the validation and test images, by index), model, batches, run, scores and folder (the predictions).
    """
    import types

    import keras

    from helpers import datasets, label_maps, metrics, models, own_data, pipeline, training

    keras.backend.clear_session()  # a fresh graph for each folder
    keras.utils.set_random_seed(0)
    report = own_data.check_folder(
        root / "images", root / "masks", n_poolings=n_poolings, crop_size=crop, **check_options
    )
    loaded = own_data.load_checked(report)
    images, masks = loaded.images, loaded.masks
    K = report.n_classes if report.mask_kind in ("classes", "colours") else 1
    train, validation, test = datasets.split_images(len(images), n_validation=1, n_test=1, how="in stack order")
    annotated = [mask != loaded.ignore_value for mask in masks]

    def pick(arrays, indices):
        return [arrays[i] for i in indices]

    def pixels(arrays, indices):
        return np.concatenate([arrays[i][annotated[i]] for i in indices])

    weights = label_maps.class_weights(pixels(masks, train), K) if K > 1 else None
    batches = pipeline.training_batches(pick(images, train), pick(masks, train), crop_size=crop, batch_size=2, seed=0)
    batches = pipeline.with_ignore_weights(batches, loaded.ignore_value, weights)
    validation_data = pipeline.validation_data(
        pick(images, validation), pick(masks, validation), loaded.ignore_value, weights
    )
    model = models.build_unet(
        input_shape=(None, None, images[0].shape[-1]),
        filters=filters,
        n_poolings=n_poolings,
        batch_norm=True,
        dropout=0.0,
        n_classes=K,
        output_activation="softmax" if K > 1 else "sigmoid",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy" if K > 1 else "binary_crossentropy",
        weighted_metrics=["accuracy"] if K > 1 else [metrics.keras_dice()],
    )
    run = training.fit_resumable(
        model,
        batches,
        folder=results / "run",
        epochs=1,
        steps_per_epoch=2,
        validation_data=validation_data,
        verbose=0,
        settings={"rescaling": report.rescaling, "class names": loaded.class_names},
    )
    probabilities = {i: own_data.predict_image(model, images[i], n_poolings) for i in [*validation, *test]}
    seen = int(sum(annotated[i].sum() for i in test))
    if K > 1:
        predicted = {i: np.argmax(probabilities[i], axis=-1)[..., np.newaxis] for i in test}
        per_class = metrics.per_class_scores(pixels(masks, test), pixels(predicted, test), K)
        scores = {"dice": per_class["dice"].mean(), "iou": per_class["iou"].mean(), "per_class": per_class}
        scores.update(class_names=loaded.class_names, annotated_pixels=seen)
    else:
        threshold, _ = metrics.choose_threshold(pixels(masks, validation), pixels(probabilities, validation))
        scores = {
            **metrics.evaluate_segmentation(pixels(masks, test), pixels(probabilities, test), threshold),
            "threshold": threshold,
        }
    folder = own_data.predict_folder(
        model, root / "new", results / "predictions", threshold=scores.get("threshold"), n_poolings=n_poolings,
        channels=images[0].shape[-1], classes=report, rescaling=report.rescaling, **({} if tile is None else {"tile": tile}),
    )  # fmt: skip
    return types.SimpleNamespace(
        report=report, loaded=loaded, split=(train, validation, test), seen=seen, model=model, probabilities=probabilities,
        batches=batches, run=run, scores=scores, folder=folder,
    )  # fmt: skip


def run_notebook_on_folders(name, parameters, results):
    """Run ``notebooks/<name>.ipynb`` end to end as papermill would with ``parameters`` ({name: value}, a cell
    of assignments after the parameters cell), its results redirected into ``results`` (course.mount_drive);
    return the text of every output."""
    import nbformat
    from nbclient import NotebookClient

    from helpers.course import course_root

    path = course_root() / "notebooks" / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    notebook.cells.insert(
        index + 1, nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in parameters.items()))
    )
    redirect = (
        f"import functools\ncourse.mount_drive = functools.partial(course.mount_drive, local_folder={str(results)!r})"
    )
    notebook.cells.insert(2, nbformat.v4.new_code_cell(redirect))
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return "\n".join(o.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs)
