"""Helpers shared by the report notebooks of every task."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["RichText", "fmt_interval", "load_tables"]


class RichText:
    """Markdown text that also renders as HTML.

    Glue it with :func:`myst_nb.glue` to paste generated prose into another book page: the
    cross-page paste picks the HTML representation (rendered with markdown-it, as MyST does).
    """

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        from markdown_it import MarkdownIt

        html = MarkdownIt("commonmark").enable("table").render(self.text)
        return html.replace("<table>", '<table class="table">')

    def __repr__(self) -> str:
        return self.text


def fmt_interval(value: float, low: float, high: float, digits: int = 3, signed: bool = False) -> str:
    """``value [low, high]`` with ``digits`` decimals (``signed``: always print the sign)."""
    f = f"{{:{'+' if signed else ''}.{digits}f}}"
    return f"{f.format(value)} [{f.format(low)}, {f.format(high)}]"


def load_tables(results_dir: str | Path, task: str, datasets: list[str], required: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """Concatenate ``<results_dir>/<task>/<dataset>/<name>.csv`` over ``datasets`` for each table name.

    Returns
    -------
    dict of str -> pandas.DataFrame
        An empty frame for an optional table no dataset has.

    Raises
    ------
    FileNotFoundError
        If a required table is missing (run the dataset's fit stage first); the message names the file.
    """
    from . import paths
    from .results import read_table

    root = paths.resolve(results_dir) / task
    out = {}
    for name in (*required, *optional):
        frames = [read_table(root / ds / f"{name}.csv") for ds in datasets
                  if name in required or (root / ds / f"{name}.csv").is_file()]
        out[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return out

