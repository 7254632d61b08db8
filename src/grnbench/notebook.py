"""The setup every notebook template runs first (one call instead of a repeated cell).

``setup()`` makes executed notebooks repeatable and readable: one torch thread (bit-for-bit
CPU results, so nbval can compare re-executed outputs), no FutureWarning noise from
dependencies, warnings-level logging, and wide pandas tables.
"""

from __future__ import annotations

__all__ = ["setup"]


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
