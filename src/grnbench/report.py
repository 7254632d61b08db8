"""Helpers shared by the report notebooks of every task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UnknownIdError

#: Task titles as the book's chapters name them.
TASK_TITLES = {"target_expression": "target expression", "edge_classification": "edge classification",
               "cell_type_markers": "cell-type markers", "grn_inference": "GRN inference",
               "perturbation_response": "perturbation response"}

__all__ = ["RichText", "fmt_interval", "load_tables", "interval_table", "seed_spread", "scoreboard",
           "scoreboard_text", "verdict_rows", "split_agreement", "neural_vs_control", "neural_vs_control_text",
           "best_neural_block", "BOARD_COLUMNS",
           "leaderboard", "metric_spread", "leaderboards", "LEADERBOARD_COLUMNS", "SPREAD_COLUMNS", "TASK_TITLES",
           "noise_ceilings", "ceiling_text", "CEILING_SUMMARY_COLUMNS", "NO_CEILING"]

#: Why a task has no noise ceiling on the primary metric. A task with one writes ``ceilings.csv``
#: (``dataset, split, unit, split_half_r, ceiling``) beside its ``metrics.csv``.
NO_CEILING = {
    "target_expression": ("none available: the datasets are single-cell profiles, one library per cell and no "
                          "technical replicates, so technical noise cannot be told apart from cell-to-cell variation"),
    "edge_classification": "not defined: the labels are a curated network, not a repeated measurement",
    "grn_inference": "not defined: the reference is a curated or simulated network, not a repeated measurement",
    "cell_type_markers": "not defined: the labels are curated cell-type annotations, not a repeated measurement",
    "perturbation_response": ("none in this dataset's tables: only held-out units with replicate cells (a cell type, a "
                              "perturbation) have one; knockout profiles and cell pairs are single samples"),
}
#: Columns of :func:`noise_ceilings`.
CEILING_SUMMARY_COLUMNS = ("task", "dataset", "split", "metric", "units", "split_half_r", "ceiling", "best_model",
                           "best_value", "share_of_ceiling", "note")


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

    root = paths.task_dir(results_dir, task)
    out = {}
    for name in (*required, *optional):
        frames = [read_table(root / ds / f"{name}.csv") for ds in datasets
                  if name in required or (root / ds / f"{name}.csv").is_file()]
        out[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return out



def interval_table(head: pd.DataFrame, metrics=("r2_flat",), digits: int = 3, order=None,
                   spread: pd.DataFrame | None = None) -> pd.DataFrame:
    """Wide table ``value [ci_low, ci_high]`` per (dataset, split, model) and metric.

    With ``spread`` (:func:`grnbench.results.split_spread`) a cell also shows ``± sd`` over split
    seeds where there are several.

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
    if spread is not None and len(spread) and (spread["n_splits"] > 1).any():
        keys = ["dataset", "split", "model", "metric"]
        sd = df[keys].merge(spread[keys + ["split_sd", "n_splits"]], on=keys, how="left")
        df["cell"] = [c + (f" ±{s:.{digits}f}" if n > 1 else "") for c, s, n in
                      zip(df["cell"], sd["split_sd"], sd["n_splits"].fillna(1))]
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


def verdict_rows(paired: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The paired rows of ``metric`` that carry a verdict: the first split seed, non-control models.

    Parameters
    ----------
    paired : pandas.DataFrame
        A task's paired table.
    metric : str
        Metric id.
    """
    p = paired[paired["metric"] == metric]
    if "split_seed" in p.columns and p["split_seed"].notna().any():
        p = p[p["split_seed"] == p.groupby(["dataset", "split"])["split_seed"].transform("min")]
    return p.reset_index(drop=True)


def split_agreement(paired: pd.DataFrame, metric: str) -> pd.DataFrame:
    """How many split seeds give each comparison's verdict: ``better / no difference / worse`` counts.

    Returns
    -------
    pandas.DataFrame
        ``dataset, split, model, reference[, k], n_splits, better, no_difference, worse``.
    """
    p = paired[paired["metric"] == metric]
    keys = ["dataset", "split", "model", "reference"] + (["k"] if "k" in p.columns else [])
    counts = p.groupby(keys)["verdict"].value_counts().unstack(fill_value=0)
    for col in ("better", "no difference", "worse"):
        if col not in counts.columns:
            counts[col] = 0
    out = counts[["better", "no difference", "worse"]].rename(columns={"no difference": "no_difference"})
    out.insert(0, "n_splits", out.sum(axis=1))
    return out.reset_index()


BOARD_COLUMNS = ["task", "dataset", "split", "metric", "model", "reference", "diff", "ci_low", "ci_high", "verdict"]


def neural_vs_control(task_id: str, head: pd.DataFrame, paired: pd.DataFrame, metric: str | None = None
                      ) -> pd.DataFrame:
    """Per dataset and split: the best neural model (seed or published) against the best control.

    The best neural model is the non-control model with the best headline value of ``metric``; it
    is compared (paired bootstrap, first split seed) with the control chosen on validation, or,
    where the split has no validation units or ``paired`` has no ``best_baseline`` column, with
    the best control on ``metric``. For rankings (a ``k`` column) the smallest compared k is used.

    Parameters
    ----------
    task_id : str
    head : pandas.DataFrame
        Headline metrics of the task (:func:`grnbench.results.headline`).
    paired : pandas.DataFrame
        Paired bootstrap table of the task (``model, reference, metric, diff, ci_low, ci_high, verdict``).
    metric : str, optional
        Default: the task's primary metric.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BOARD_COLUMNS`; empty when no neural model was compared with a control.
    """
    from .registry import get_metric, get_model
    from .tasks import get_task

    metric = metric or get_task(task_id).primary_metric
    maximize = get_metric(metric, task_id).maximize
    head = head[head["metric"] == metric]
    if "k" in head.columns and head["k"].notna().any() and "k" in paired.columns:  # rankings: the smallest k
        k = paired["k"].min()
        head, paired = head[head["k"] == k], paired[paired["k"] == k]
    rows = []
    pv = verdict_rows(paired, metric)
    for (ds, split), g in pv.groupby(["dataset", "split"], sort=False):
        h = head[(head["dataset"] == ds) & (head["split"] == split)]
        neural = h[[not get_model(m, task_id).is_baseline for m in h["model"]]]
        if neural.empty:
            continue
        best = neural.sort_values("value", ascending=not maximize)["model"].iloc[0]
        is_control = np.array([get_model(r, task_id).is_baseline and not get_model(r, task_id).chance
                               for r in g["reference"]], dtype=bool)
        cand = g[(g["model"] == best).to_numpy() & is_control]
        # the control chosen on validation; tables written before that column count as unchosen
        picked = cand["best_baseline"].astype(bool) if "best_baseline" in cand else pd.Series(False, cand.index)
        chosen = cand[picked] if picked.any() else cand
        if chosen.empty:
            continue
        if len(chosen) > 1:  # no validation choice: the strongest control on this metric
            ref_scores = h.set_index("model")["value"]
            chosen = chosen.assign(score=chosen["reference"].map(ref_scores))
            chosen = chosen.sort_values("score", ascending=not maximize).iloc[:1]
        r = chosen.iloc[0]
        rows.append({"task": task_id, "dataset": ds, "split": split, "metric": metric, "model": best,
                     "reference": r["reference"], "diff": r["diff"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                     "verdict": r["verdict"]})
    return pd.DataFrame(rows, columns=BOARD_COLUMNS)


def neural_vs_control_text(rows: pd.DataFrame) -> str:
    """One Markdown sentence per row of :func:`neural_vs_control` (or :func:`scoreboard`).

    Parameters
    ----------
    rows : pandas.DataFrame
        Columns :data:`BOARD_COLUMNS`.

    Returns
    -------
    str
        "Does the best neural model beat the best control?" answered per dataset and split, naming
        both models, with the paired difference and its 95% CI; empty when ``rows`` is.
    """
    out = []
    for r in rows.itertuples():
        out.append(f"- **{r.dataset}**, `{r.split}`: the best neural model is `{r.model}`; against the best control "
                   f"`{r.reference}` its {r.metric} differs by {fmt_interval(r.diff, r.ci_low, r.ci_high, signed=True)}"
                   f" ({r.verdict}).")
    return "\n".join(out)


def best_neural_block(task_id: str, head: pd.DataFrame, paired: pd.DataFrame, **where) -> str:
    """The opening of a chapter verdict: does the best neural model (seed or published) beat the best control?

    Parameters
    ----------
    task_id : str
    head, paired : pandas.DataFrame
        The task's headline and paired tables.
    **where
        Column filters, e.g. ``split="heldout_tf"`` or ``dataset="kang_ifnb"`` (applied to both).

    Returns
    -------
    str
        A bold question and one sentence per dataset and split (:func:`neural_vs_control_text`),
        or ``""`` when no neural model was compared with a control there.
    """
    for col, value in where.items():
        head, paired = head[head[col] == value], paired[paired[col] == value]
    rows = neural_vs_control(task_id, head, paired)
    if rows.empty:
        return ""
    return ("**Does the best neural model — seed or published — beat the best control?** (primary metric "
            f"`{rows['metric'].iloc[0]}`, paired bootstrap, 95% CI)\n\n" + neural_vs_control_text(rows))


def scoreboard(results_dir: str | Path) -> pd.DataFrame:
    """Per task, dataset and split: the best neural model against the best control (primary metric).

    Reads every ``<results_dir>/<task>/<dataset>/paired.csv`` and ``metrics.csv`` and applies
    :func:`neural_vs_control` to each.

    Returns
    -------
    pandas.DataFrame
        ``task, dataset, split, metric, model, reference, diff, ci_low, ci_high, verdict``.
    """
    from . import paths
    from .results import headline, read_table
    from .tasks import TASKS

    root = paths.resolve(results_dir)
    parts = []
    for task_id in TASKS:
        for part in sorted(paths.task_dir(root, task_id).glob("*/paired.csv")):
            paired = read_table(part)
            if paired.empty:
                continue
            parts.append(neural_vs_control(task_id, headline(read_table(part.with_name("metrics.csv"))), paired))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=BOARD_COLUMNS)


def scoreboard_text(board: pd.DataFrame) -> str:
    """Markdown summary of :func:`scoreboard`: per task, how often the best neural model beats its control.

    The best neural model of a row is whichever non-control model scored best there — the task's
    seed system or a published comparator — and the sentence names each such model with the number
    of dataset/split combinations where it was the best.

    Parameters
    ----------
    board : pandas.DataFrame
        Output of :func:`scoreboard`.

    Returns
    -------
    str
        One Markdown bullet per task.
    """
    if board.empty:
        return "No task with a neural model and a control ran in this profile."
    lines = []
    for task, g in board.groupby("task", sort=False):
        n = len(g)
        counts = g["verdict"].value_counts()
        best = g["model"].value_counts()
        names = ", ".join(f"`{m}` in {c}" for m, c in sorted(best.items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"- **{task}** ({g['metric'].iloc[0]}): the best neural model ({names}) beats its control in "
                     f"{counts.get('better', 0)} of {n} dataset/split combinations, is indistinguishable in "
                     f"{counts.get('no difference', 0)} and worse in {counts.get('worse', 0)}.")
    return "\n".join(lines)


LEADERBOARD_COLUMNS = ["task", "rank", "model", "role", "mean_rank", "n_settings", "n_tied_best", "n_best",
                       "mean_value", "metric"]


def _settings(head: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Headline rows of ``metric``, one per dataset, split and model (rankings: the smallest k)."""
    h = head[head["metric"] == metric]
    if "k" in h.columns and h["k"].notna().any():
        h = h[h["k"] == h.groupby(["dataset", "split"])["k"].transform("min")]
    return h.drop_duplicates(["dataset", "split", "model"])


def leaderboard(task_id: str, head: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """Every model of a task ranked by its mean rank over the task's datasets and splits.

    Per dataset and split (a *setting*), models are ranked on the headline value of ``metric``
    (1 = best; equal values share the mean rank). A model is **tied with the best** in a setting
    when its 95% CI overlaps the best model's CI there (the test's resampling, see the methods
    page); ``n_best`` counts the settings where it is the best itself. The table is sorted by mean
    rank, then by ``n_tied_best`` (descending), and ``rank`` is its 1-based position. Mean ranks
    over settings are the rank aggregation of benchmark suites such as geneRNIB and
    scPerturBench (Wei et al. 2025).

    Parameters
    ----------
    task_id : str
    head : pandas.DataFrame
        Headline metrics of the task (:func:`grnbench.results.headline`), several datasets/splits.
    metric : str, optional
        Default: the task's primary metric.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LEADERBOARD_COLUMNS`; ``role`` is ``neural`` (seed or published model),
        ``control`` or ``chance``; ``n_settings`` counts the settings a model ran in (a model
        missing from some settings is ranked over the ones it ran in). Empty without rows.
    """
    from .registry import get_metric, get_model
    from .tasks import get_task

    metric = metric or get_task(task_id).primary_metric
    maximize = get_metric(metric, task_id).maximize
    h = _settings(head, metric)
    if h.empty:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    parts = []
    for _, g in h.groupby(["dataset", "split"], sort=False):
        g = g.assign(rank=g["value"].rank(ascending=not maximize, method="average"))
        best = g.sort_values("value", ascending=not maximize).iloc[0]
        lo, hi = g["ci_low"].fillna(g["value"]), g["ci_high"].fillna(g["value"])
        blo = best["ci_low"] if pd.notna(best["ci_low"]) else best["value"]
        bhi = best["ci_high"] if pd.notna(best["ci_high"]) else best["value"]
        parts.append(g.assign(tied=(lo <= bhi) & (hi >= blo), is_best=g["model"] == best["model"]))
    ranked = pd.concat(parts, ignore_index=True)
    out = ranked.groupby("model", sort=False).agg(mean_rank=("rank", "mean"), n_settings=("rank", "size"),
                                                  n_tied_best=("tied", "sum"), n_best=("is_best", "sum"),
                                                  mean_value=("value", "mean")).reset_index()

    def role(m: str) -> str:
        spec = get_model(m, task_id)
        return "chance" if spec.chance else "control" if spec.is_baseline else "neural"

    out["role"] = out["model"].map(role)
    out = out.sort_values(["mean_rank", "n_tied_best"], ascending=[True, False], kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out["task"], out["metric"] = task_id, metric
    out[["n_tied_best", "n_best"]] = out[["n_tied_best", "n_best"]].astype(int)
    return out[LEADERBOARD_COLUMNS]


SPREAD_COLUMNS = ["task", "metric", "n_settings", "median_range", "separating", "share_separating"]


def metric_spread(task_id: str, head: pd.DataFrame) -> pd.DataFrame:
    """Which metrics separate a task's models at all.

    For every metric, per dataset and split: the range of the models' headline values (best minus
    worst, chance controls excluded) and whether the best and the worst model's 95% CIs are
    disjoint (the metric *separates* them there). geneRNIB keeps a metric only where methods
    differ on it; a metric that separates the models in few settings says little.

    Parameters
    ----------
    task_id : str
    head : pandas.DataFrame
        Headline metrics of the task (:func:`grnbench.results.headline`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SPREAD_COLUMNS`, sorted by ``share_separating`` (descending).
    """
    from .registry import get_metric, get_model

    rows = []
    for metric, hm in head.groupby("metric", sort=True):
        try:
            maximize = get_metric(metric, task_id).maximize
        except UnknownIdError:  # a metric no longer registered for the task (an old table)
            continue
        h = _settings(hm, metric)
        h = h[[not get_model(m, task_id).chance for m in h["model"]]]
        ranges, sep = [], []
        for _, g in h.groupby(["dataset", "split"], sort=False):
            if len(g) < 2 or g["value"].isna().all():
                continue
            g = g.sort_values("value", ascending=not maximize)
            top, bottom = g.iloc[0], g.iloc[-1]
            ranges.append(float(top["value"] - bottom["value"]) * (1 if maximize else -1))
            lo_t, hi_b = top["ci_low"], bottom["ci_high"]
            hi_t, lo_b = top["ci_high"], bottom["ci_low"]
            sep.append(bool(pd.notna(lo_t) and pd.notna(hi_b) and (lo_t > hi_b or lo_b > hi_t)))
        if ranges:
            rows.append({"task": task_id, "metric": metric, "n_settings": len(ranges),
                         "median_range": float(np.median(ranges)), "separating": int(sum(sep)),
                         "share_separating": float(np.mean(sep))})
    out = pd.DataFrame(rows, columns=SPREAD_COLUMNS)
    return out.sort_values(["share_separating", "median_range"], ascending=False, kind="stable").reset_index(drop=True)


def leaderboards(results_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leaderboard and metric spread of every task with results (see :func:`leaderboard`, :func:`metric_spread`).

    Reads every ``<results_dir>/<task>/<dataset>/metrics.csv`` (the datasets of a task together).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Columns :data:`LEADERBOARD_COLUMNS` and :data:`SPREAD_COLUMNS`, all tasks.
    """
    from . import paths
    from .results import headline, read_table
    from .tasks import TASKS

    root = paths.resolve(results_dir)
    boards, spreads = [], []
    for task_id in TASKS:
        parts = [read_table(p) for p in sorted(paths.task_dir(root, task_id).glob("*/metrics.csv"))]
        parts = [p for p in parts if len(p)]
        if not parts:
            continue
        head = headline(pd.concat(parts, ignore_index=True))
        boards.append(leaderboard(task_id, head))
        spreads.append(metric_spread(task_id, head))
    cat = (lambda xs, cols: pd.concat([x for x in xs if len(x)], ignore_index=True) if any(len(x) for x in xs)
           else pd.DataFrame(columns=cols))
    return cat(boards, LEADERBOARD_COLUMNS), cat(spreads, SPREAD_COLUMNS)


def noise_ceilings(results_dir: str | Path) -> pd.DataFrame:
    """Per task, dataset and split with results: the noise ceiling of the primary metric and the best model.

    Reads every ``<results_dir>/<task>/<dataset>/metrics.csv`` and, where a fit stage wrote one,
    ``ceilings.csv`` (today: perturbation response's split-half ceiling of ``pearson_delta``,
    :func:`grnbench.metrics.perturbation.split_half_delta` and
    :func:`~grnbench.metrics.perturbation.noise_ceiling`, averaged over held-out units).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CEILING_SUMMARY_COLUMNS`. ``best_model``/``best_value``: the model with the
        best headline value of the primary metric (first split seed, seed-averaged);
        ``share_of_ceiling`` = ``best_value / ceiling``. Settings without a ceiling have NaN there
        and the reason in ``note`` (:data:`NO_CEILING`).
    """
    from . import paths
    from .registry import get_metric
    from .results import headline, read_table
    from .tasks import TASKS, get_task

    root = paths.resolve(results_dir)
    rows = []
    for task_id in TASKS:
        metric = get_task(task_id).primary_metric
        maximize = get_metric(metric, task_id).maximize
        for part in sorted(paths.task_dir(root, task_id).glob("*/metrics.csv")):
            head = _settings(headline(read_table(part)), metric)  # rankings: the smallest k, as the leaderboard
            ceil_path = part.with_name("ceilings.csv")
            ceil = read_table(ceil_path) if ceil_path.is_file() else pd.DataFrame(columns=["dataset", "split"])
            for (ds, split), sub in head.groupby(["dataset", "split"], sort=False):
                sub = sub.dropna(subset=["value"])
                best = sub.loc[sub["value"].idxmax() if maximize else sub["value"].idxmin()] if len(sub) else None
                c = ceil[(ceil["dataset"] == ds) & (ceil["split"] == split)]
                row = {"task": task_id, "dataset": ds, "split": split, "metric": metric, "units": len(c),
                       "split_half_r": c["split_half_r"].mean() if len(c) else np.nan,
                       "ceiling": c["ceiling"].mean() if len(c) else np.nan,
                       "best_model": best["model"] if best is not None else None,
                       "best_value": float(best["value"]) if best is not None else np.nan}
                row["share_of_ceiling"] = (row["best_value"] / row["ceiling"] if len(c) and row["ceiling"] > 0
                                           else np.nan)
                row["note"] = "split-half ceiling" if len(c) else NO_CEILING.get(task_id, "none available")
                rows.append(row)
    return pd.DataFrame(rows, columns=list(CEILING_SUMMARY_COLUMNS))


def ceiling_text(ceilings: pd.DataFrame) -> str:
    """Markdown: the settings with a noise ceiling (:func:`noise_ceilings`), then why the others have none.

    Parameters
    ----------
    ceilings : pandas.DataFrame
        Columns :data:`CEILING_SUMMARY_COLUMNS`.

    Returns
    -------
    str
        One bullet per setting with a ceiling (the ceiling, the split-half r, the number of
        held-out units and the best model's value as a share of the ceiling), or a sentence that
        there is none; then one bullet per task, and per reason, for the settings without one.
    """
    have = ceilings[ceilings["ceiling"].notna()]
    lines = []
    for r in have.itertuples():
        line = (f"- **{TASK_TITLES.get(r.task, r.task)}**, `{r.dataset}` ({r.split}): ceiling {r.ceiling:.3f} on "
                f"{r.metric} (split-half r {r.split_half_r:.3f}, {int(r.units)} held-out units)")
        if r.best_model is not None and np.isfinite(r.share_of_ceiling):
            line += f"; the best model, `{r.best_model}`, reaches {r.best_value:.3f}, {100 * r.share_of_ceiling:.0f}% of it"
        lines.append(line + ".")
    if not lines:
        lines.append("No dataset and split of this profile has a noise ceiling: no held-out unit here is a mean over "
                     "replicate cells.")
    none = ceilings[ceilings["ceiling"].isna()]
    if len(none):
        lines += ["", "Without a ceiling:", ""]
        for (task, note), sub in none.groupby(["task", "note"], sort=False):
            lines.append(f"- **{TASK_TITLES.get(task, task)}** ({sub['dataset'].nunique()} dataset(s)): {note}.")
    return "\n".join(lines)
