"""Read the target-expression results of a profile and turn them into tables and verdicts.

Report notebooks call these functions; they read only the results tables written by the
fit and SHAP stages, never the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ... import paths
from ...registry import display_order, get_metric, get_model
from ...report import RichText, interval_table, load_tables, seed_spread
from ...results import headline, read_table

__all__ = ["ligand_screen_summary", "controls_verdict", "steady_state_summary", "RichText", "TaskResults",
           "load_results", "interval_table", "verdicts", "seed_spread", "time_ratio", "best_table", "mlr_note"]

TASK = "target_expression"


@dataclass
class TaskResults:
    """All tables of the task for one profile (see :func:`load_results`)."""

    metrics: pd.DataFrame
    headline: pd.DataFrame
    per_gene: pd.DataFrame
    predictions: pd.DataFrame
    paired: pd.DataFrame
    counts: pd.DataFrame
    shap: pd.DataFrame | None
    shap_importance: pd.DataFrame | None
    steady_state: pd.DataFrame | None = None
    learning_curves: pd.DataFrame | None = None

    @property
    def models(self) -> list[str]:
        """Models present, in the registry's display order (controls first)."""
        return display_order(TASK, self.metrics["model"])


def load_results(results_dir: str | Path, datasets: list[str]) -> TaskResults:
    """Load the task's tables for ``datasets`` from ``<results_dir>/target_expression/<dataset>/``.

    Raises
    ------
    FileNotFoundError
        If a dataset's tables are missing (run its fit stage first); the message names the file.
    """
    t = load_tables(results_dir, TASK, datasets, ("metrics", "per_gene", "predictions", "paired", "counts"),
                    ("shap_summary", "shap_importance", "steady_state", "learning_curves"))
    return TaskResults(metrics=t["metrics"], headline=headline(t["metrics"]), per_gene=t["per_gene"],
                       predictions=t["predictions"], paired=t["paired"], counts=t["counts"], shap=t["shap_summary"],
                       shap_importance=t["shap_importance"], steady_state=t["steady_state"],
                       learning_curves=t["learning_curves"])


def _fmt(v, lo, hi):
    return f"{v:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def verdicts(res: TaskResults, metric: str = "r2_flat") -> dict[str, str]:
    """Plain-language verdict per split (Markdown), from the paired bootstrap table.

    Returns
    -------
    dict
        split -> Markdown paragraph listing, per dataset, the best baseline and whether each
        non-baseline model beats it (paired 95% CI of the difference excludes 0).
    """
    out = {}
    head = res.headline[res.headline["metric"] == metric].set_index(["dataset", "split", "model"])
    for split in dict.fromkeys(res.paired["split"]):
        lines = []
        for ds in dict.fromkeys(res.paired["dataset"]):
            pr = res.paired[(res.paired["dataset"] == ds) & (res.paired["split"] == split) & (res.paired["metric"] == metric)
                            & res.paired["best_baseline"].astype(bool)]
            if pr.empty:
                continue
            ref = pr["reference"].iloc[0]
            ref_row = head.loc[(ds, split, ref)]
            parts = [f"**{ds}**: the best baseline is `{ref}` ({metric} {ref_row['value']:.3f} "
                     f"[{ref_row['ci_low']:.3f}, {ref_row['ci_high']:.3f}])."]
            for _, r in pr.iterrows():
                if get_model(r["model"], TASK).is_baseline:
                    continue
                word = {"better": "beats it", "worse": "is worse than it",
                        "no difference": "is not distinguishable from it"}[r["verdict"]]
                parts.append(f"`{r['model']}` {word} (Δ{metric} {_fmt(r['diff'], r['ci_low'], r['ci_high'])}).")
            worse = [m for m in pr[pr["verdict"] == "worse"]["model"] if get_model(m, TASK).is_baseline]
            if worse:
                parts.append(f"Baselines significantly worse than `{ref}`: {', '.join(f'`{m}`' for m in worse)}.")
            lines.append(" ".join(parts))
        out[split] = "\n\n".join(lines)
    return out


def time_ratio(res: TaskResults, a: str = "xgbrf", b: str = "xgbrf_seed") -> pd.DataFrame:
    """Fit-time ratio and r2_flat of two models per dataset and split (seed-mean times)."""
    head = res.headline[res.headline["metric"] == "r2_flat"]
    rows = []
    for (ds, split), g in head.groupby(["dataset", "split"], sort=False):
        g = g.set_index("model")
        if a in g.index and b in g.index:
            rows.append({"dataset": ds, "split": split, f"{a}_fit_s": g.loc[a, "fit_seconds"],
                         f"{b}_fit_s": g.loc[b, "fit_seconds"],
                         "time_ratio": g.loc[a, "fit_seconds"] / g.loc[b, "fit_seconds"],
                         f"{a}_r2_flat": g.loc[a, "value"], f"{b}_r2_flat": g.loc[b, "value"]})
    return pd.DataFrame(rows)



def best_table(res: TaskResults, metric: str = "r2_flat") -> pd.DataFrame:
    """Per dataset and split: the best model overall and the best baseline, with CIs.

    Returns
    -------
    pandas.DataFrame
        ``dataset, split, best_model, best, best_baseline, baseline`` (formatted ``v [lo, hi]``).
    """
    head = res.headline[res.headline["metric"] == metric]
    rows = []
    for (ds, split), g in head.groupby(["dataset", "split"], sort=False):
        g = g.sort_values("value", ascending=not get_metric(metric, TASK).maximize)
        base = g[[get_model(m, TASK).is_baseline for m in g["model"]]]
        fmt = lambda r: f"{r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"  # noqa: E731
        rows.append({"dataset": ds, "split": split, "best_model": g.iloc[0]["model"], "best": fmt(g.iloc[0]),
                     "best_baseline": base.iloc[0]["model"], "baseline": fmt(base.iloc[0])})
    return pd.DataFrame(rows)


def mlr_note(res: TaskResults) -> str:
    """Markdown: training cells vs TFs and what least squares (``mlr``) does with them."""
    head = res.headline[res.headline["metric"] == "r2_flat"].set_index(["dataset", "split", "model"])["value"]
    lines = []
    for _, c in res.counts.iterrows():
        ds = c["dataset"]
        if (ds, "random", "mlr") not in head.index:
            continue
        parts = [f"**{ds}**: {int(c['train_random'])} training cells for {int(c['tfs'])} TFs;",
                 f"`mlr` r2_flat {head[(ds, 'random', 'mlr')]:.3f} on the random split"]
        if (ds, "ood", "mlr") in head.index:
            parts.append(f"and {head[(ds, 'ood', 'mlr')]:.3f} on the held-out state")
        if (ds, "random", "ridge") in head.index:
            parts.append(f"(`ridge`: {head[(ds, 'random', 'ridge')]:.3f} and {head.get((ds, 'ood', 'ridge'), float('nan')):.3f}).")
        lines.append(" ".join(parts))
    return "\n\n".join(lines)


def controls_verdict(res: TaskResults, metric: str = "r2_flat") -> str:
    """Markdown: each model against the controls its registry entry names (e.g. LEMBAS against
    ``ridge_parents``, a linear model on the same parents, and ``mlr``)."""
    pr = res.paired[(res.paired["metric"] == metric)
                    & np.array([r in get_model(m, TASK).controls for m, r in zip(res.paired["model"], res.paired["reference"])],
                                 dtype=bool)]
    words = {"better": "beats", "worse": "is worse than", "no difference": "is not distinguishable from"}
    lines = []
    for (ds, split), g in pr.groupby(["dataset", "split"], sort=False):
        parts = [f"`{r['model']}` {words[r['verdict']]} `{r['reference']}` "
                 f"(Δ{metric} {_fmt(r['diff'], r['ci_low'], r['ci_high'])})" for _, r in g.iterrows()]
        lines.append(f"**{ds}, {split}**: " + "; ".join(parts) + ".")
    return "\n\n".join(lines) if lines else "No model with named controls ran in this profile."


def steady_state_summary(res: TaskResults, tol: float = 1e-6) -> pd.DataFrame:
    """Per dataset, split and LEMBAS variant: iterations used and residuals on test cells."""
    ss = res.steady_state
    if ss is None or ss.empty:
        return pd.DataFrame()
    agg = ss.groupby(["dataset", "split", "model"]).agg(
        cells=("residual", "size"), steps_median=("steps", "median"), steps_max=("steps", "max"),
        residual_median=("residual", "median"), residual_max=("residual", "max"),
        converged=("residual", lambda r: float((r < tol).mean())))
    return agg


def ligand_screen_summary(results_dir: str | Path) -> str:
    """Markdown sentence on the LEMBAS ligand-screen CV of this profile (or that it did not run)."""
    path = paths.task_dir(results_dir, TASK, "lembas_ligand_screen") / "metrics.csv"
    if not path.is_file():
        return "The ligand-screen cross-validation is not part of this profile (it needs the LEMBAS data files)."
    m = read_table(path)
    r = m[m["metric"] == "pearson_r"].groupby("model")["value"].agg(["mean", "min", "max", "count"])

    def fmt(model):
        if model not in r.index:
            return "n/a"
        row = r.loc[model]
        spread = f" (seeds {row['min']:.2f}–{row['max']:.2f})" if row["count"] > 1 else ""
        return f"{row['mean']:.2f}{spread}"

    return (f"Ligand-screen cross-validation (28 folds of 3 held-out conditions, as in the paper; pooled Pearson r "
            f"of held-out TF activities): `lembas` {fmt('lembas')} against the paper's ≈ 0.8; controls `ridge` "
            f"{fmt('ridge')}, `mlp` {fmt('mlp')}, `mean` {fmt('mean')}.")
