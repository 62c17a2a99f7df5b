"""Settings for every test run: the notebooks run in smoke mode (nbval's kernels inherit this)."""

import os

os.environ.setdefault("UNET_COURSE_MODE", "smoke")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
