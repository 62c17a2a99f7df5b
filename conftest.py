"""Settings for every test run: the notebooks run in smoke mode (nbval's kernels inherit this)."""

import os

from helpers.course import QUIET_TENSORFLOW

os.environ.setdefault("UNET_COURSE_MODE", "smoke")
# TensorFlow's C++ log lines off here and in the kernels nbval starts (they inherit the environment);
# the setup cell's course.start_notebook() also imports TensorFlow quietly.
os.environ.update(QUIET_TENSORFLOW)
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # Colab's ipykernel 6.17: no "frozen modules" note
