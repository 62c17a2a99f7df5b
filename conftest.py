"""Settings for every test run: the notebooks run in smoke mode (nbval's kernels inherit this)."""

import os

from helpers.course import OUTPUTS_VARIABLE, QUIET_TENSORFLOW, course_root

os.environ.setdefault("UNET_COURSE_MODE", "smoke")
# `course.py test` runs the tests in two processes (pytest-xdist): each keeps its notebooks' results in
# its own folder, outputs/tests-gw0 ..., so two notebooks that write the same results never meet, and
# computes on one thread, so the two do not fight over the two cores (about 10 % faster).
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault(
        OUTPUTS_VARIABLE, str(course_root() / "outputs" / f"tests-{os.environ['PYTEST_XDIST_WORKER']}")
    )
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
# TensorFlow's C++ log lines off here and in the kernels nbval starts (they inherit the environment);
# the setup cell's course.start_notebook() also imports TensorFlow quietly.
os.environ.update(QUIET_TENSORFLOW)
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # Colab's ipykernel 6.17: no "frozen modules" note
