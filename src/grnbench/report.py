"""Helpers shared by the report notebooks of every task."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["RichText", "fmt_interval", "load_tables", "interval_table", "seed_spread"]


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



def interval_table(head: pd.DataFrame, metrics=("r2_flat",), digits: int = 3, order=None) -> pd.DataFrame:
    """Wide table ``value [ci_low, ci_high]`` per (dataset, split, model) and metric.

    Parameters
    ----------
    head : pandas.DataFrame
        Headline rows (:func:`grnbench.results.headline`): one per dataset, split, model, metric.
    metrics : tuple of str
        Columns to show, in this order.
    digits : int
        Decimals of the printed numbers.
    order : list of str, optional
        Model order within each (dataset, split); models not in it go last.
    """
    df = head[head["metric"].isin(metrics)].copy()
    df["cell"] = [fmt_interval(v, lo, hi, digits) for v, lo, hi in zip(df["value"], df["ci_low"], df["ci_high"])]
    wide = df.pivot_table(index=["dataset", "split", "model"], columns="metric", values="cell", aggfunc="first")
    wide = wide.reindex(columns=list(metrics))
    if order:
        rank = {m: i for i, m in enumerate(order)}
        wide = wide.reindex(sorted(wide.index, key=lambda k: (k[0], k[1], rank.get(k[2], len(rank)))))
    wide.columns.name = None
    return wide


def seed_spread(metrics: pd.DataFrame, metrics_shown=("r2_flat",)) -> pd.DataFrame:
    """Seed robustness: number of seeds, mean and standard deviation of each metric over seeds.

    Only models with more than one per-seed row (stochastic models) appear.

    Parameters
    ----------
    metrics : pandas.DataFrame
        A results table (per-seed rows have ``seed >= 0``).
    metrics_shown : tuple of str
        Metric ids.

    Returns
    -------
    pandas.DataFrame
        Index ``dataset, split, model, metric``; columns ``seeds, mean, sd``.
    """
    per_seed = metrics[(metrics["metric"].isin(metrics_shown)) & (metrics["seed"] >= 0)]
    keys = ["dataset", "split", "model", "metric"] + (["k"] if "k" in per_seed.columns and per_seed["k"].notna().any()
                                                       else [])
    agg = per_seed.groupby(keys)["value"].agg(["count", "mean", "std"])
    return agg[agg["count"] > 1].rename(columns={"count": "seeds", "std": "sd"})
