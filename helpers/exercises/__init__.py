"""Exercises with a ``check_...()`` function each, one module per notebook.

A check prints one short line (what to fix, a hint at the usual mistake, or "Correct!" and why it
matters) and returns a :class:`Verdict`, true when the answer is right. ``exercises.hint("name")``
prints an exercise's hint. Each exercise's inputs are constants of its module.
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
