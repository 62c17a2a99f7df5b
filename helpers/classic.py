"""A classical pixel classifier, the idea of Fiji's Trainable Weka Segmentation: the U-Net has to beat it.

A random forest learns from intensity, edge and texture features of each pixel at several scales.
"""

import numpy as np

__all__ = ["pixel_features", "train_pixel_classifier", "predict_pixel_classifier"]


def pixel_features(image):
    """Describe every pixel by intensity, edge and texture features at scales 1 to 16.

    ``image``: A grey image with values in [0, 1].
    """
    from skimage.feature import multiscale_basic_features

    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"pixel_features expects one grey image (height, width); got shape {image.shape}.")
    return multiscale_basic_features(image, sigma_min=1, sigma_max=16)


def train_pixel_classifier(images, masks, pixels_per_image=20000, seed=0):
    """Train a random forest on randomly sampled pixels of the training images.

    ``pixels_per_image``: How many pixels of each image to learn from (all pixels would be slow and add little).
    """
    from sklearn.ensemble import RandomForestClassifier

    if len(images) != len(masks):
        raise ValueError(f"Got {len(images)} images but {len(masks)} masks; give one mask per image.")
    rng = np.random.default_rng(seed)
    features, labels = [], []
    for image, mask in zip(images, masks):
        described = pixel_features(image)
        described = described.reshape(-1, described.shape[-1])
        chosen = rng.choice(len(described), size=min(pixels_per_image, len(described)), replace=False)
        features.append(described[chosen])
        labels.append(np.asarray(mask).reshape(-1)[chosen] > 0.5)
    forest = RandomForestClassifier(n_estimators=50, max_depth=12, n_jobs=-1, random_state=seed)
    return forest.fit(np.concatenate(features), np.concatenate(labels))


def predict_pixel_classifier(forest, images):
    """Return the forest's membrane probability for every pixel of every image.

    ``forest``: From ``train_pixel_classifier``.
    """
    probabilities = []
    for image in images:
        described = pixel_features(image)
        flat = forest.predict_proba(described.reshape(-1, described.shape[-1]))[:, 1]
        probabilities.append(flat.reshape(described.shape[:2]))
    return np.stack(probabilities)[..., None].astype(np.float32)
