"""Exercises with a ``check_...()`` function each, one module per notebook.

``exercises.hint("name")`` prints the hint of an exercise before you open its solution.

In a notebook you compute an answer by hand (or with numpy), then call for example
``exercises.check_convolution(my_answer)``. The check prints one short line ("Replace None
with your answer", the shape it expected, a hint at the usual mistake, or "Correct!" with a
sentence on why it matters) and returns a :class:`Verdict`, true when the answer is right.
The inputs of each exercise are constants of its module, so notebook and check agree.

A new notebook's exercises go in a module of their own here, imported below; shared tools
for judging answers are in :mod:`helpers.exercises.common`.
"""

from helpers.exercises.common import Verdict, hint  # noqa: F401
from helpers.exercises.intro import *  # noqa: F401,F403  (notebook 01)
from helpers.exercises.augmentation import *  # noqa: F401,F403  (notebook 02)
from helpers.exercises.tiling import *  # noqa: F401,F403  (notebook 03)
from helpers.exercises.losses import *  # noqa: F401,F403  (notebook 04)
from helpers.exercises.multiclass import *  # noqa: F401,F403  (notebook 05)
from helpers.exercises.volumes import *  # noqa: F401,F403  (notebook 06)
from helpers.exercises.instances import *  # noqa: F401,F403  (notebook 07)
from helpers.exercises.own_data import *  # noqa: F401,F403  (notebook 08)
from helpers.exercises.export import *  # noqa: F401,F403  (notebook 09)
