"""Progress bars through ``tqdm.auto``: a widget in Jupyter and Colab, a text line elsewhere.

In a notebook the widget is shown again when the bar closes, so the saved notebook keeps the final
line; in a log the line is redrawn at most every :data:`LOG_SECONDS`.
"""

import sys

__all__ = ["LOG_SECONDS", "progress_bar"]

#: Seconds between two redraws of a line that goes to a log rather than to a terminal.
LOG_SECONDS = 30


def progress_bar(total, label, unit):
    """Return a ``tqdm.auto`` bar of ``total`` steps of ``unit`` (e.g. "epoch"); use it in ``with`` or ``close()`` it."""
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
    """A notebook widget shown under a display id, shown again (its final line) when it closes.

    The widget goes out as its raw output (its text line and its view), because ipywidgets 7 (Colab's)
    would show a widget object a second time instead of updating it.
    """
    from IPython.display import display

    def output(bar):
        view = {"version_major": 2, "version_minor": 0, "model_id": bar.container.model_id}
        return {"text/plain": repr(bar.container), "application/vnd.jupyter.widget-view+json": view}

    class SavedBar(notebook_tqdm):
        def close(self):
            was_open = not self.disable
            super().close()
            if was_open:
                self.shown.update(output(self), raw=True)

    bar = SavedBar(display=False, **options)
    bar.shown = display(output(bar), raw=True, display_id=True)
    return bar
