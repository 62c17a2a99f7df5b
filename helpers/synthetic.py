"""Generated look-alike images, so the course and its tests run with no download.

EM-like sections with their membrane mask (:func:`membrane_section`, like ISBI 2012) or their
mitochondria mask (:func:`mitochondria_section`, a small-foreground task like the Drosophila VNC),
a 4-class kidney look-alike (:func:`kidney_section`), partial annotations from a dense mask
(:func:`make_scribbles`), and :func:`write_numbered_pairs`, which writes the bundled sets in data/.
"""

import numpy as np
from scipy import ndimage

__all__ = [
    "membrane_section",
    "mitochondria_section",
    "kidney_section",
    "write_numbered_pairs",
    "make_scribbles",
    "KIDNEY_CLASS_NAMES",
]


def _wobbly_cell_labels(rng, size, n_cells):
    """Label every pixel with the nearest of ``n_cells`` random seeds, measured on a warped grid."""
    seeds = rng.uniform(0, size, (n_cells, 2))
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    warp = [ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), size / 14) for _ in range(2)]
    warp = [w / (np.abs(w).max() + 1e-9) * size / 10 for w in warp]
    rows, cols = rows + warp[0], cols + warp[1]
    distances = (rows[..., None] - seeds[:, 0]) ** 2 + (cols[..., None] - seeds[:, 1]) ** 2
    return np.argmin(distances, axis=-1)


def _membranes(labels, thickness):
    """Return a boolean mask of the borders between labelled cells, ``thickness`` pixels wide."""
    border = np.zeros(labels.shape, dtype=bool)
    border[:-1, :] |= labels[:-1, :] != labels[1:, :]
    border[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    if thickness > 1:
        border = ndimage.binary_dilation(border, iterations=thickness // 2)
    return border


def _ellipse(rows, cols, centre, half_axes, angle):
    """Return where an ellipse lies on the (rows, cols) grid, and each pixel's position along its first axis."""
    dr, dc = rows - centre[0], cols - centre[1]
    along = dr * np.cos(angle) + dc * np.sin(angle)
    across = -dr * np.sin(angle) + dc * np.cos(angle)
    return (along / half_axes[0]) ** 2 + (across / half_axes[1]) ** 2 <= 1, along


def _organelles(rng, size, count, inside):
    """Return a boolean mask of ``count`` small dark ellipses lying inside the cells."""
    rows, cols = np.mgrid[0:size, 0:size]
    found = np.zeros((size, size), dtype=bool)
    for _ in range(count):
        centre = rng.uniform(0, size, 2)
        half_axes = rng.uniform(size / 60, size / 25, 2)
        found |= _ellipse(rows, cols, centre, half_axes, rng.uniform(0, np.pi))[0]
    return found & inside


def _cells(seed, size, n_cells=None, membrane_thickness=3):
    """Start an EM-like section: its random generator, its cells, their membranes and insides.

    Returns ``(rng, n_cells, labels, membrane, inside)``: ``n_cells`` is about one cell per
    24x24 pixels unless given; ``inside`` keeps 2 pixels away from the membranes.
    """
    if size < 32:
        raise ValueError(f"size must be at least 32 pixels, got {size}.")
    rng = np.random.default_rng(seed)
    n_cells = n_cells or max(4, (size // 24) ** 2)
    labels = _wobbly_cell_labels(rng, size, n_cells)
    membrane = _membranes(labels, membrane_thickness)
    inside = ~ndimage.binary_dilation(membrane, iterations=2)
    return rng, n_cells, labels, membrane, inside


def membrane_section(seed, size=128, n_cells=None, membrane_thickness=3):
    """Draw one EM-like section (uint8, ``size`` x ``size``, at least 32) and its mask (255 on membranes).

    Cells separated by dark membranes, grainy insides, dark organelles that are *not* membranes (so
    a plain threshold fails), blur and noise; the same ``seed`` gives the same picture. ``n_cells``:
    by default about one per 24x24 pixels.
    """
    rng, n_cells, labels, membrane, inside = _cells(seed, size, n_cells, membrane_thickness)
    brightness = rng.uniform(0.5, 0.8, n_cells)[labels]
    grain = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 0.7)
    blotches = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 3)
    picture = brightness + 0.05 * grain / grain.std() + 0.05 * blotches / blotches.std()
    organelles = _organelles(rng, size, count=n_cells, inside=inside)
    picture[organelles] = 0.3 + 0.08 * rng.normal(size=organelles.sum())
    darkness = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 4)
    picture[membrane] = 0.18 + 0.08 * (darkness / darkness.std())[membrane]
    picture = ndimage.gaussian_filter(picture, 0.8) + rng.normal(0, 0.04, picture.shape)
    image = np.clip(picture * 255, 0, 255).astype(np.uint8)
    return image, membrane.astype(np.uint8) * 255


def _mitochondria(rng, size, count, inside):
    """Return a boolean mask of ``count`` elongated ellipses inside the cells, and their stripes."""
    rows, cols = np.mgrid[0:size, 0:size]
    found = np.zeros((size, size), dtype=bool)
    stripes = np.zeros((size, size))
    for _ in range(count):
        centre = rng.uniform(0, size, 2)
        half_axes = rng.uniform(size / 22, size / 12), rng.uniform(size / 50, size / 32)
        one, along = _ellipse(rows, cols, centre, half_axes, rng.uniform(0, np.pi))
        found |= one
        stripes[one] = np.cos(along[one] * 2.2)  # cristae: bands across the long axis
    return found & inside, stripes


def mitochondria_section(seed, size=128, n_mitochondria=None):
    """Draw one EM-like section and its mask, 255 on mitochondria (about 5% of the pixels).

    Dark membranes and round dark vesicles (not foreground) around a few elongated mitochondria
    with light stripes (cristae); ``n_mitochondria``: by default about one per 30x30 pixels.
    """
    rng, n_cells, labels, membrane, inside = _cells(seed, size)
    brightness = rng.uniform(0.55, 0.8, n_cells)[labels]
    grain = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 0.7)
    picture = brightness + 0.05 * grain / grain.std()
    vesicles = _organelles(rng, size, count=n_cells, inside=inside)
    picture[vesicles] = 0.3 + 0.06 * rng.normal(size=vesicles.sum())
    mitochondria, stripes = _mitochondria(rng, size, n_mitochondria or max(2, size * size // 900), inside)
    mitochondria &= ~vesicles
    picture[mitochondria] = 0.38 + 0.1 * stripes[mitochondria]
    picture[membrane] = 0.2 + 0.05 * rng.normal(size=membrane.sum())
    picture = ndimage.gaussian_filter(picture, 0.8) + rng.normal(0, 0.04, picture.shape)
    image = np.clip(picture * 255, 0, 255).astype(np.uint8)
    return image, mitochondria.astype(np.uint8) * 255


#: Class ids of :func:`kidney_section`, in order.
KIDNEY_CLASS_NAMES = ("background", "stroma", "cap mesenchyme", "ureteric tree")


def _ureteric_tree(rng, size, n_branches):
    """Return a boolean tree of thick branching lines and the coordinates of its tips."""
    tree = np.zeros((size, size), dtype=bool)
    starts = [(size / 2 + rng.uniform(-size / 8, size / 8), size / 2 + rng.uniform(-size / 8, size / 8))]
    for _ in range(n_branches):
        row, col = starts[rng.integers(len(starts))]
        angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(size / 6, size / 3)
        for step in np.linspace(0, length, int(length) * 2):
            r, c = int(row + step * np.sin(angle)), int(col + step * np.cos(angle))
            if 0 <= r < size and 0 <= c < size:
                tree[r, c] = True
        starts.append((row + length * np.sin(angle), col + length * np.cos(angle)))
    return ndimage.binary_dilation(tree, iterations=max(1, size // 40)), starts[1:]  # the tips: every end


def kidney_section(seed, size=64):
    """Draw a developing-kidney look-alike (uint8) and its class ids 0..3 (:data:`KIDNEY_CLASS_NAMES`).

    A branching ureteric tree (bright), caps of mesenchyme at its tips (grainy), stroma (dim) and
    background (dark), with blur and noise; for the smoke mode of notebook 05.
    """
    if size < 32:
        raise ValueError(f"size must be at least 32 pixels, got {size}.")
    rng = np.random.default_rng(seed)
    blob = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), size / 8)
    rows, cols = np.mgrid[0:size, 0:size]
    centre = 1 - ((rows - size / 2) ** 2 + (cols - size / 2) ** 2) / (size / 2) ** 2
    tissue = centre + 0.5 * blob / (np.abs(blob).max() + 1e-9) > 0.15
    tree, tips = _ureteric_tree(rng, size, n_branches=rng.integers(3, 6))
    caps = np.zeros((size, size), dtype=bool)
    radius = size / 9
    for row, col in tips:
        caps |= (rows - row) ** 2 + (cols - col) ** 2 <= radius**2
    labels = np.where(tissue, 1, 0)
    labels[caps & tissue] = 2
    labels[tree & tissue] = 3
    brightness = np.array([0.08, 0.35, 0.55, 0.85])[labels]
    grain = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 0.8)
    picture = brightness + np.where(labels == 2, 0.12, 0.04) * grain / grain.std()
    picture = ndimage.gaussian_filter(picture, 0.7) + rng.normal(0, 0.03, picture.shape)
    return np.clip(picture * 255, 0, 255).astype(np.uint8), labels.astype(np.uint8)


def write_numbered_pairs(folder, pairs, subfolders=("images", "masks"), suffix=".png"):
    """Write (picture, mask) pairs as folder/<subfolder>/NN<suffix> (".png", or ".tif" zlib-compressed
    for volumes), over files already there: the bundled sets come from fixed seeds, so they come out the same.
    """
    import skimage.io
    import tifffile

    if suffix not in (".png", ".tif"):
        raise ValueError(f"suffix must be '.png' or '.tif', got {suffix!r}.")
    for sub in subfolders:
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for number, pair in enumerate(pairs):
        for sub, array in zip(subfolders, pair):
            path = folder / sub / f"{number:02d}{suffix}"
            if suffix == ".tif":
                tifffile.imwrite(path, array, compression="zlib")
            else:
                skimage.io.imsave(path, array, check_contrast=False)


def _skeleton_pieces(region, rng, radius, wanted):
    """Pick pixels of the skeleton of ``region`` in discs around random skeleton points until ``wanted``."""
    import skimage.morphology

    skeleton = skimage.morphology.skeletonize(region)
    points = np.argwhere(skeleton)
    chosen = np.zeros(region.shape, bool)
    if not len(points) or wanted <= 0:
        return chosen
    rows, cols = np.ogrid[: region.shape[0], : region.shape[1]]
    for index in rng.permutation(len(points)):
        row, col = points[index]
        box = (slice(max(row - radius, 0), row + radius + 1), slice(max(col - radius, 0), col + radius + 1))
        disc = (rows[box[0]] - row) ** 2 + (cols[:, box[1]] - col) ** 2 <= radius**2
        chosen[box] |= skeleton[box] & disc
        if chosen.sum() >= wanted:
            break
    return chosen


def make_scribbles(mask, fraction=0.03, *, seed=0, ignore_value=255, stroke_length=24, cell_margin=4):
    """Turn a dense binary mask into scribbles: 1 = structure, 0 = background, ``ignore_value`` = not annotated.

    What a researcher draws in a few minutes (Fiji, napari): one-pixel strokes, ``stroke_length``
    long, along the skeleton of the structure and of the background kept ``cell_margin`` pixels
    away from it, half and half, labelling a ``fraction`` of all pixels.
    """
    import skimage.morphology

    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be above 0 and at most 1, got {fraction}.")
    mask = np.asarray(mask)
    structure = (mask[..., 0] if mask.ndim == 3 else mask) > 0
    rng = np.random.default_rng(seed)
    wanted = fraction * structure.size / 2
    inside = ndimage.binary_erosion(~structure, skimage.morphology.disk(cell_margin))
    on_structure = _skeleton_pieces(structure, rng, stroke_length // 2, wanted)
    in_background = _skeleton_pieces(inside, rng, stroke_length // 2, wanted)
    scribbles = np.full(structure.shape, ignore_value, np.uint8)
    scribbles[in_background] = 0
    scribbles[on_structure] = 1
    return scribbles.reshape(mask.shape)
