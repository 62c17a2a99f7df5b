"""Unit tests draw figures without a screen."""

import matplotlib

matplotlib.use("Agg")
