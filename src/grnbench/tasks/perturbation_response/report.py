"""Read the perturbation-response results of a profile and turn them into tables and verdicts.

The report notebook calls these functions; they read only the tables written by the fit stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...registry import display_order, get_metric
from ...report import best_neural_block, fmt_interval, load_tables
from ...results import headline

__all__ = ["PerturbationResults", "load_results", "verdict", "comparisons", "timing_table", "ceiling_table",
           "ceilings_by_dataset", "ceiling_sentence", "DATASET_ORDER"]

TASK = "perturbation_response"
#: Datasets the book's verdicts are pasted for (one per set-up).
DATASET_ORDER = ("kang_ifnb", "dream4_100_1", "pbmc68k_reduced")


@dataclass
class PerturbationResults:
    """All tables of the task for one profile (see :func:`load_results`)."""

    metrics: pd.DataFrame
    headline: pd.DataFrame
    paired: pd.DataFrame
    fits: pd.DataFrame
    counts: pd.DataFrame
    per_unit: pd.DataFrame
    learning_curves: pd.DataFrame | None = None
    ceilings: pd.DataFrame | None = None

    @property
    def models(self) -> list[str]:
        return display_order(TASK, self.metrics["model"])


def load_results(results_dir: str | Path, datasets: list[str]) -> PerturbationResults:
    """Load the task's tables for ``datasets`` from ``<results_dir>/perturbation_response/<dataset>/``.

    Raises
    ------
    FileNotFoundError
        If a dataset's tables are missing (run its fit stage first); the message names the file.
    """
    t = load_tables(results_dir, TASK, datasets, ("metrics", "paired", "fits", "counts"),
                    ("per_unit", "learning_curves", "ceilings"))
    return PerturbationResults(metrics=t["metrics"], headline=headline(t["metrics"]), paired=t["paired"],
                               fits=t["fits"], counts=t["counts"], per_unit=t["per_unit"],
                               learning_curves=t["learning_curves"], ceilings=t["ceilings"])


def verdict(res: PerturbationResults, dataset: str, metrics=("pearson_delta", "mse")) -> str:
    """Plain-language verdict for one dataset: the best neural model (seed or published) against the best
    control (:func:`grnbench.report.best_neural_block`), then the seed model against the additive and
    linear baselines (and the others), by paired bootstrap over test units."""
    p = res.paired[(res.paired["dataset"] == dataset) & (res.paired["model"] == "perturb_transformer")]
    if p.empty:
        return f"No `{dataset}` run in this profile."
    parts = []
    for metric in metrics:
        q = p[p["metric"] == metric]
        if q.empty:
            continue
        direction = "higher" if get_metric(metric, TASK).maximize else "lower"
        cells = [f"`{r.reference}` {fmt_interval(r.diff, r.ci_low, r.ci_high, signed=True)} ({r.verdict})"
                 for r in q.itertuples()]
        parts.append(f"{metric} ({direction} is better), transformer minus " + "; ".join(cells))
    head = res.headline[(res.headline["dataset"] == dataset) & (res.headline["metric"] == "pearson_delta")]
    best = head.sort_values("value", ascending=False)
    lead = (f"Best pearson_delta: `{best['model'].iloc[0]}` ({best['value'].iloc[0]:.3f}); the transformer "
            f"{head.set_index('model')['value'].get('perturb_transformer', float('nan')):.3f}.") if len(best) else ""
    beaten = p[(p["metric"] == "pearson_delta") & p["reference"].isin(["additive", "ridge"])]
    wins = int((beaten["verdict"] == "better").sum())
    summary = f" It beats {wins} of {len(beaten)} of the additive and linear baselines on pearson_delta."
    block = best_neural_block(TASK, res.headline, res.paired, dataset=dataset)
    return (block + "\n\n" if block else "") + lead + summary + "\n\n" + "\n".join(f"- {x}." for x in parts)


def comparisons(res: PerturbationResults, metric: str = "pearson_delta") -> pd.DataFrame:
    """Paired rows of ``metric`` as ``difference [CI] (verdict)`` per dataset and baseline."""
    p = res.paired[res.paired["metric"] == metric].copy()
    p["cell"] = [f"{fmt_interval(d, lo, hi, signed=True)} ({v})"
                 for d, lo, hi, v in zip(p["diff"], p["ci_low"], p["ci_high"], p["verdict"])]
    return p.pivot_table(index=["dataset", "split"], columns="reference", values="cell", aggfunc="first")


def timing_table(res: PerturbationResults) -> pd.DataFrame:
    """Mean and maximum fit seconds per fold, per dataset and model."""
    t = res.fits.groupby(["dataset", "model"])["fit_seconds"].agg(["mean", "max", "count"]).round(2)
    rank = {m: i for i, m in enumerate(res.models)}
    return t.reindex(sorted(t.index, key=lambda k: (k[0], rank.get(k[1], len(rank)))))


def ceilings_by_dataset(res: PerturbationResults) -> pd.DataFrame:
    """The split-half noise ceiling of each dataset and split, averaged over its held-out units.

    Parameters
    ----------
    res : PerturbationResults
        With the ``ceilings`` table of the fit stages (:func:`.api.ceiling_rows`).

    Returns
    -------
    pandas.DataFrame
        ``dataset, split, units, split_half_r, ceiling``: ``split_half_r`` is the mean over units of
        how well two random halves of a unit's held-out cells predict each other's change
        (``pearson_delta``); ``ceiling`` the mean over units of the ``pearson_delta`` a perfect
        prediction would reach given the cells' sampling noise (Spearman-Brown; see
        :mod:`grnbench.metrics.perturbation`). Empty when no dataset has replicate cells (knockout
        profiles and cell pairs are single samples).
    """
    c = res.ceilings
    if c is None or not len(c):
        return pd.DataFrame(columns=["dataset", "split", "units", "split_half_r", "ceiling"])
    return (c.groupby(["dataset", "split"], sort=False)
             .agg(units=("unit", "size"), split_half_r=("split_half_r", "mean"), ceiling=("ceiling", "mean"))
             .reset_index())


def ceiling_table(res: PerturbationResults, metric: str = "pearson_delta", digits: int = 3) -> pd.DataFrame:
    """Every model's ``metric`` beside the dataset's split-half noise ceiling.

    Parameters
    ----------
    res : PerturbationResults
    metric : str
        A change-from-control correlation (default ``pearson_delta``; the ceiling is defined for it).
    digits : int
        Rounding of the shown values.

    Returns
    -------
    pandas.DataFrame
        Rows = (dataset, split) with a ceiling; columns ``split-half r``, ``ceiling``, then one per
        model (its headline ``metric``, seed-averaged), in display order.
    """
    by = ceilings_by_dataset(res)
    if not len(by):
        return pd.DataFrame()
    head = res.headline[res.headline["metric"] == metric]
    wide = head.pivot_table(index=["dataset", "split"], columns="model", values="value", aggfunc="first")
    wide = wide.reindex(columns=[m for m in res.models if m in wide.columns])
    out = by.set_index(["dataset", "split"])[["split_half_r", "ceiling"]].rename(
        columns={"split_half_r": "split-half r"}).join(wide, how="left")
    return out.round(digits)


def ceiling_sentence(res: PerturbationResults, metric: str = "pearson_delta") -> str:
    """One plain-language sentence per dataset with a noise ceiling: the ceiling and the best model's ``metric``.

    Returns
    -------
    str
        Markdown; says that there is no ceiling when no dataset has replicate cells.
    """
    table = ceiling_table(res, metric=metric, digits=6)
    if not len(table):
        return ("No noise ceiling in this profile's tables: only held-out units with replicate cells (a held-out cell "
                "type or perturbation) have one; knockout profiles and cell pairs are single samples.")
    parts = []
    units = ceilings_by_dataset(res).set_index(["dataset", "split"])["units"]
    for (ds, split), row in table.iterrows():
        models = row.drop(["split-half r", "ceiling"]).dropna()
        text = (f"`{ds}` ({split}, {int(units[(ds, split)])} held-out units): split-half r {row['split-half r']:.3f}, "
                f"ceiling {row['ceiling']:.3f}")
        if len(models):
            best = models.astype(float).idxmax()
            text += (f"; the best model, `{best}`, reaches {models[best]:.3f} "
                     f"({100 * models[best] / row['ceiling']:.0f}% of the ceiling)" if row["ceiling"] > 0 else "")
        parts.append(text + ".")
    return "Noise ceiling of `" + metric + "`: " + " ".join(parts)
