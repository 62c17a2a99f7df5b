"""Progress bars through ``tqdm.auto``: a widget in Jupyter and Colab, a text line elsewhere.

A saved notebook keeps a widget's text as it was when the widget was first shown (0 %), so in
a notebook :func:`progress_bar` shows the widget again when the bar closes: the saved notebook
holds the final line. Outside a terminal (a log, CI) the text line is redrawn at most every
:data:`LOG_SECONDS`. Importing this module imports neither tqdm nor IPython.
"""

import sys

__all__ = ["LOG_SECONDS", "progress_bar"]

#: Seconds between two redraws of a line that goes to a log rather than to a terminal.
LOG_SECONDS = 30


def progress_bar(total, label, unit):
    """Return a ``tqdm.auto`` bar of ``total`` steps; use it in ``with`` or call ``close()``.

    Parameters
    ----------
    total : int
    label : str
        Text at the start of the line, e.g. ``"training"``.
    unit : str
        What one step is, e.g. ``"epoch"``.
    """
    from tqdm.auto import tqdm

    notebook = sys.modules.get("tqdm.notebook")
    if notebook is not None and issubclass(tqdm, notebook.tqdm):
        return _notebook_bar(notebook.tqdm, total=total, desc=label, unit=unit)
    try:
        terminal = sys.stdout.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return tqdm(total=total, desc=label, unit=unit, file=sys.stdout, mininterval=0.1 if terminal else LOG_SECONDS)


def _notebook_bar(notebook_tqdm, **options):
    """A notebook widget shown under a display id, shown again (its final line) when it closes."""
    from IPython.display import display

    class SavedBar(notebook_tqdm):
        def close(self):
            was_open = not self.disable
            super().close()
            if was_open:
                self.shown.update(self.container)

    bar = SavedBar(display=False, **options)
    bar.shown = display(bar.container, display_id=True)
    return bar
