"""The setup every notebook template runs first (one call instead of a repeated cell).

``setup()`` makes executed notebooks repeatable and readable: one torch thread (bit-for-bit
CPU results, so nbval can compare re-executed outputs), no FutureWarning noise from
dependencies, warnings-level logging, and wide pandas tables.
"""

from __future__ import annotations

__all__ = ["setup", "show_table"]


def setup(max_rows: int | None = None) -> None:
    """Configure torch, warnings, logging and pandas display for a notebook.

    Parameters
    ----------
    max_rows : int, optional
        ``pandas`` ``display.max_rows`` (report notebooks show long tables whole).
    """
    import logging
    import warnings

    import pandas as pd
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.basicConfig(level=logging.WARNING)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", 80)
    if max_rows:
        pd.set_option("display.max_rows", max_rows)


def show_table(frame, page_length: int = 10) -> None:
    """Display a DataFrame as a sortable, searchable table that works in the static book.

    Uses itables in offline mode: the DataTables JavaScript is embedded in the notebook the
    first time (no network when the book is read).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (its index is shown as columns).
    page_length : int
        Rows per page.
    """
    import itables

    global _ITABLES_READY
    if not _ITABLES_READY:
        itables.init_notebook_mode(all_interactive=False, connected=False)
        _ITABLES_READY = True
    itables.show(frame, pageLength=page_length, classes="display compact")


_ITABLES_READY = False
