"""Figures of the book (seaborn/matplotlib). Each function returns the Figure.

Off-scale values are clipped to the axis and marked, so one diverging model (e.g. MLR
extrapolating on held-out cells) does not hide the differences among the others.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

__all__ = ["metric_intervals", "per_gene_distribution", "observed_vs_predicted", "shap_importance", "fit_times",
           "residual_distribution", "lembas_history", "save_figure", "metric_vs_k", "masking_curves", "marker_dotplot",
           "learning_curve", "training_curves", "verdict_grid", "scoreboard_panels", "scale_growth"]


def save_figure(fig, path) -> None:
    """Save ``fig`` as PNG (dpi 120) atomically next to the results."""
    from pathlib import Path

    from .results import _atomic_write

    path = Path(path)
    _atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png"))


def metric_intervals(table: pd.DataFrame, metric: str, *, xlim=(-1.0, 1.0), order=None, ceilings=None):
    """Point estimates with 95% CIs, one panel per dataset, splits side by side.

    Parameters
    ----------
    table : pandas.DataFrame
        Results rows (one per dataset, split, model) with ``value, ci_low, ci_high``.
    metric : str
        Metric id to plot.
    xlim : tuple
        Axis range; values outside are drawn at the edge with a triangle and their value.
    order : list of str, optional
        Model order (top to bottom).
    ceilings : dict of str -> float, optional
        Dataset -> a noise ceiling of ``metric`` (e.g.
        :func:`grnbench.tasks.perturbation_response.report.ceilings_by_dataset`), drawn as a dashed
        vertical line in that dataset's panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ceilings = ceilings or {}
    df = table[table["metric"] == metric]
    datasets = list(dict.fromkeys(df["dataset"]))
    splits = list(dict.fromkeys(df["split"]))
    order = order or list(dict.fromkeys(df["model"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 0.45 * len(order) + 1.6),
                             squeeze=False, sharey=True)
    palette = dict(zip(splits, sns.color_palette("colorblind", len(splits))))
    lo_lim, hi_lim = xlim
    for ax, ds in zip(axes[0], datasets):
        sub = df[df["dataset"] == ds]
        for k, split in enumerate(splits):
            part = sub[sub["split"] == split].set_index("model").reindex(order)
            y = np.arange(len(order)) + (k - (len(splits) - 1) / 2) * 0.25
            val = part["value"].to_numpy(float)
            lo, hi = part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float)
            clipped = np.clip(val, lo_lim, hi_lim)
            ax.errorbar(clipped, y, xerr=[np.clip(clipped - np.clip(lo, lo_lim, hi_lim), 0, None),
                                          np.clip(np.clip(hi, lo_lim, hi_lim) - clipped, 0, None)],
                        fmt="o", color=palette[split], label=split, capsize=2, ms=4)
            for yy, v in zip(y, val):
                if np.isfinite(v) and (v < lo_lim or v > hi_lim):
                    ax.annotate(f"{v:.1f}", (np.clip(v, lo_lim, hi_lim), yy), textcoords="offset points",
                                xytext=(4, -3), fontsize=7, color=palette[split])
                    ax.plot(np.clip(v, lo_lim, hi_lim), yy, marker="<" if v < lo_lim else ">", color=palette[split])
        ax.axvline(0, color="grey", lw=0.8, ls=":")
        if ds in ceilings and np.isfinite(ceilings[ds]):
            ax.axvline(ceilings[ds], color="black", lw=1.0, ls="--", label="noise ceiling")
        ax.set_xlim(lo_lim - 0.05 * (hi_lim - lo_lim), hi_lim + 0.05 * (hi_lim - lo_lim))
        ax.set_yticks(range(len(order)), order)
        ax.invert_yaxis()
        ax.set_title(ds)
        ax.set_xlabel(f"{metric} (95% CI)")
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    axes[0][-1].legend(handles.values(), handles.keys(), title="split", loc="center left", bbox_to_anchor=(1.02, 0.5),
                       fontsize=8)
    fig.tight_layout()
    return fig


def per_gene_distribution(per_gene: pd.DataFrame, *, split: str, clip=(-1.0, 1.0), order=None):
    """Box plots of per-gene test R² by model, one panel per dataset (seed 0 / fixed seed).

    Values are clipped to ``clip`` for display; the share of genes below the lower bound
    is written under each box.
    """
    df = per_gene[per_gene["split"] == split].copy()
    first_seed = df.groupby(["dataset", "model"])["seed"].transform("min")
    df = df[df["seed"] == first_seed]
    datasets = list(dict.fromkeys(df["dataset"]))
    order = order or list(dict.fromkeys(df["model"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False, sharey=True)
    for ax, ds in zip(axes[0], datasets):
        sub = df[df["dataset"] == ds].assign(r2_clipped=lambda d: d["r2"].clip(*clip))
        sns.boxplot(data=sub, x="model", y="r2_clipped", order=order, ax=ax, color="#9ecae1", fliersize=1.5,
                    linewidth=0.8)
        below = sub.groupby("model")["r2"].apply(lambda s: (s < clip[0]).mean()).reindex(order)
        for i, frac in enumerate(below):
            if frac > 0:
                ax.text(i, clip[0] - 0.08, f"{frac:.0%}<{clip[0]:g}", ha="center", fontsize=6.5)
        ax.axhline(0, color="grey", lw=0.8, ls=":")
        ax.set_ylim(clip[0] - 0.15, clip[1] + 0.02)
        ax.set_title(f"{ds} ({split})")
        ax.set_xlabel("")
        ax.set_ylabel("per-gene test R² (clipped)")
        ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return fig


def observed_vs_predicted(predictions: pd.DataFrame, *, dataset: str, split: str, models=None):
    """Scatter of observed vs predicted expression for the recorded genes (first seed)."""
    df = predictions[(predictions["dataset"] == dataset) & (predictions["split"] == split)]
    first_seed = df.groupby("model")["seed"].transform("min")
    df = df[df["seed"] == first_seed]
    genes = list(dict.fromkeys(df["gene"]))
    models = models or list(dict.fromkeys(df["model"]))
    fig, axes = plt.subplots(len(genes), len(models), figsize=(1.9 * len(models), 2.0 * len(genes)),
                             squeeze=False, sharex="row", sharey="row")
    for r, gene in enumerate(genes):
        g = df[df["gene"] == gene]
        lim = (min(g["observed"].min(), g["predicted"].min()), max(g["observed"].max(), g["predicted"].max()))
        for c, model in enumerate(models):
            ax = axes[r][c]
            m = g[g["model"] == model]
            ax.scatter(m["observed"], m["predicted"].clip(*lim), s=6, alpha=0.6)
            ax.plot(lim, lim, color="grey", lw=0.8, ls=":")
            if r == 0:
                ax.set_title(model, fontsize=8)
            if c == 0:
                ax.set_ylabel(f"{gene}\npredicted", fontsize=8)
            if r == len(genes) - 1:
                ax.set_xlabel("observed", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(f"{dataset}, {split} split, test cells", fontsize=9)
    fig.tight_layout()
    return fig


def shap_importance(importance: pd.DataFrame, *, gene: str, top: int = 10):
    """Top TFs by mean |SHAP| per model for one gene; prior parents in a separate colour."""
    df = importance[importance["gene"] == gene]
    models = list(dict.fromkeys(df["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(2.4 * len(models), 0.28 * top + 1.2), squeeze=False)
    colours = {True: "#d95f02", False: "#7570b3"}
    for ax, model in zip(axes[0], models):
        sub = df[(df["model"] == model) & (df["mean_abs_shap"] > 0)].nsmallest(top, "rank")
        ax.barh(sub["tf"], sub["mean_abs_shap"], color=[colours[bool(p)] for p in sub["is_parent"]])
        ax.invert_yaxis()
        ax.set_title(model, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("mean |SHAP|", fontsize=7)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
    fig.legend(handles, ["prior parent", "not a parent"], loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.suptitle(f"{gene}: top {top} TFs by mean |SHAP|", fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def fit_times(table: pd.DataFrame, order=None):
    """Fit seconds per model (log scale), one bar group per dataset x split."""
    df = table.drop_duplicates(["dataset", "split", "model", "seed"])
    df = df.assign(case=df["dataset"] + " / " + df["split"])
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.barplot(data=df, x="model", y="fit_seconds", hue="case", order=order, ax=ax, errorbar=None,
                palette="colorblind")
    ax.set_yscale("log")
    ax.set_ylabel("fit seconds (log)")
    ax.set_xlabel("")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=7, title="")
    fig.tight_layout()
    return fig


def residual_distribution(steady_state: pd.DataFrame, tol: float = 1e-6):
    """ECDF of the steady-state residual (max |Δh| of the last iteration) per test cell.

    One panel per dataset and split, one curve per LEMBAS variant (all seeds pooled); the
    dotted line marks the convergence tolerance of ``lembas``.
    """
    df = steady_state.assign(log10_residual=np.log10(steady_state["residual"].clip(lower=1e-12)),
                             case=steady_state["dataset"] + " / " + steady_state["split"])
    cases = list(dict.fromkeys(df["case"]))
    fig, axes = plt.subplots(1, len(cases), figsize=(3.4 * len(cases), 2.8), squeeze=False, sharey=True)
    for ax, case in zip(axes[0], cases):
        sns.ecdfplot(data=df[df["case"] == case], x="log10_residual", hue="model", ax=ax, palette="colorblind")
        ax.axvline(np.log10(tol), color="grey", ls=":", lw=0.8)
        ax.set_title(case, fontsize=9)
        ax.set_xlabel("log10 residual (max |Δh|)")
    fig.tight_layout()
    return fig


def lembas_history(history: pd.DataFrame):
    """LEMBAS training curves per variant: fit/validation loss, spectral radius, sign violations."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    for model, h in history.groupby("model", sort=False):
        axes[0].plot(h["epoch"], h["fit_loss"], label=f"{model} train")
        if "val_loss" in h and h["val_loss"].notna().any():
            axes[0].plot(h["epoch"], h["val_loss"], ls="--", label=f"{model} validation")
        axes[1].plot(h["epoch"], h["spectral_radius"], label=model)
        axes[2].plot(h["epoch"], h["sign_violations"], label=model)
    axes[0].set_ylabel("MSE (scaled)")
    axes[0].set_yscale("log")
    axes[1].set_ylabel("spectral radius of f'-scaled W")
    axes[2].set_ylabel("edges violating the prior sign")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def metric_vs_k(headline: pd.DataFrame, metric: str, *, order=None):
    """Metric against the number of kept genes k (log2 axis), 95% CI bands, one panel per dataset x split.

    Parameters
    ----------
    headline : pandas.DataFrame
        Cell-type-marker headline rows (one per dataset, split, model, metric, k).
    metric : str
        Metric id (``accuracy``, ``balanced_accuracy``, ``macro_f1``).
    order : list of str, optional
        Rankings to draw; ``random`` is drawn grey and dashed (the control band).
    """
    df = headline[headline["metric"] == metric].assign(case=lambda d: d["dataset"] + " / " + d["split"])
    cases = list(dict.fromkeys(df["case"]))
    order = order or list(dict.fromkeys(df["model"]))
    colors = dict(zip([m for m in order if m != "random"], sns.color_palette("colorblind", len(order))))
    colors["random"] = (0.5, 0.5, 0.5)
    fig, axes = plt.subplots(1, len(cases), figsize=(3.6 * len(cases), 3.0), squeeze=False, sharey=True)
    for ax, case in zip(axes[0], cases):
        sub = df[df["case"] == case]
        for model in order:
            part = sub[sub["model"] == model].sort_values("k")
            if part.empty:
                continue
            ls = "--" if model == "random" else "-"
            ax.plot(part["k"], part["value"], ls=ls, marker="o", ms=3, color=colors[model], label=model)
            ax.fill_between(part["k"], part["ci_low"], part["ci_high"], color=colors[model], alpha=0.15, lw=0)
        ax.set_xscale("log", base=2)
        ax.set_title(case, fontsize=9)
        ax.set_xlabel("genes kept (k)")
    axes[0][0].set_ylabel(f"{metric} (95% CI)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def masking_curves(masking: pd.DataFrame, *, metric: str = "accuracy"):
    """The seed's evaluation: accuracy as the lowest-ranked genes are masked, ranked vs random orders.

    One panel per dataset x split; one colour per ranking; solid = the ranking's order,
    dashed = random orders (mean over draws and seeds).
    """
    df = masking.assign(case=masking["dataset"] + " / " + masking["split"])
    df = df.groupby(["case", "model", "order", "n_kept"], as_index=False)[metric].mean()
    cases = list(dict.fromkeys(df["case"]))
    models = list(dict.fromkeys(df["model"]))
    colors = dict(zip(models, sns.color_palette("colorblind", len(models))))
    fig, axes = plt.subplots(1, len(cases), figsize=(3.6 * len(cases), 3.0), squeeze=False, sharey=True)
    for ax, case in zip(axes[0], cases):
        for model in models:
            for kind, ls in (("ordered", "-"), ("random", "--")):
                part = df[(df["case"] == case) & (df["model"] == model) & (df["order"] == kind)].sort_values("n_kept")
                if len(part):
                    ax.plot(part["n_kept"], part[metric], ls=ls, color=colors[model], label=f"{model} ({kind})")
        ax.set_title(case, fontsize=9)
        ax.set_xlabel("genes left unmasked")
    axes[0][0].set_ylabel(f"test {metric}")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def marker_dotplot(dotplot: pd.DataFrame, *, dataset: str, split: str):
    """Dot plot of a ranking's top genes by cell type: colour = mean expression (z-scored per gene),
    size = fraction of cells expressing (scanpy's dot-plot convention)."""
    df = dotplot[(dotplot["dataset"] == dataset) & (dotplot["split"] == split)].copy()
    genes = list(dict.fromkeys(df["gene"]))
    types = sorted(dict.fromkeys(df["cell_type"]))
    z = df.groupby("gene")["mean_expression"].transform(lambda v: (v - v.mean()) / (v.std() or 1.0))
    df["z"] = z
    fig, ax = plt.subplots(figsize=(0.38 * len(genes) + 2.2, 0.32 * len(types) + 1.4))
    xs = df["gene"].map({g: i for i, g in enumerate(genes)})
    ys = df["cell_type"].map({t: i for i, t in enumerate(types)})
    sc = ax.scatter(xs, ys, s=10 + 140 * df["fraction_expressing"], c=df["z"], cmap="viridis", edgecolor="none")
    ax.set_xticks(range(len(genes)), genes, rotation=90, fontsize=7)
    ax.set_yticks(range(len(types)), types, fontsize=7)
    ax.set_xlim(-0.6, len(genes) - 0.4)
    ax.set_ylim(-0.6, len(types) - 0.4)
    ax.set_title(f"{dataset} / {split}: top genes of the ranking", fontsize=9)
    fig.colorbar(sc, ax=ax, label="mean expression (z per gene)", fraction=0.04)
    fig.tight_layout()
    return fig


def learning_curve(curve: pd.DataFrame, history: pd.DataFrame, *, reference: float | None = None,
                   plateau: int | None = None):
    """Held-out Pearson r by epoch (per fold and pooled) next to the training loss.

    Parameters
    ----------
    curve : pandas.DataFrame
        ``fold, epoch, pearson_r`` (``fold = -1``: pooled).
    history : pandas.DataFrame
        ``fold, epoch, fit_loss`` per epoch.
    reference : float, optional
        A published r drawn as a dotted line.
    plateau : int, optional
        Epoch marked with a vertical line.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for fold, g in curve.groupby("fold"):
        pooled = fold == -1
        axes[0].plot(g["epoch"], g["pearson_r"], color="black" if pooled else None, lw=2 if pooled else 1,
                     label="pooled" if pooled else f"fold {fold}")
    for fold, g in history.groupby("fold"):
        axes[1].plot(g["epoch"], g["fit_loss"], lw=1, label=f"fold {fold}")
    if reference is not None:
        axes[0].axhline(reference, color="grey", ls=":", lw=1, label="paper")
    for ax in axes:
        if plateau is not None:
            ax.axvline(plateau, color="tab:red", ls="--", lw=1)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("held-out Pearson r")
    axes[1].set_ylabel("training MSE")
    axes[1].set_yscale("log")
    fig.tight_layout()
    return fig


def training_curves(curves: pd.DataFrame, *, max_panels: int = 12):
    """Training and validation loss by epoch of every neural fit (first seed), one panel per model x split.

    Parameters
    ----------
    curves : pandas.DataFrame
        ``dataset, split, model, seed, epoch, train_loss, val_loss, best_epoch`` (the engine's
        ``learning_curves`` table).
    """
    first = curves[curves["seed"] == curves.groupby(["dataset", "split", "model"])["seed"].transform("min")]
    if "split_seed" in first:
        first = first[first["split_seed"] == first.groupby(["dataset", "split", "model"])["split_seed"].transform("min")]
    if "fold" in first:
        first = first[first["fold"] == 0]
    keys = list(first.groupby(["dataset", "split", "model"], sort=False).groups)[:max_panels]
    ncol = min(4, len(keys)) or 1
    nrow = max(1, int(np.ceil(len(keys) / ncol)))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False)
    for ax, key in zip(axes.ravel(), keys):
        g = first[(first["dataset"] == key[0]) & (first["split"] == key[1]) & (first["model"] == key[2])]
        ax.plot(g["epoch"], g["train_loss"], label="train")
        if "val_loss" in g and g["val_loss"].notna().any():
            ax.plot(g["epoch"], g["val_loss"], ls="--", label="validation")
        best = g["best_epoch"].dropna()
        if len(best):
            ax.axvline(best.iloc[0], color="grey", lw=0.8, ls=":")
        ax.set_title(f"{key[2]} · {key[0]} · {key[1]}", fontsize=8)
        ax.set_yscale("log")
        ax.set_xlabel("epoch", fontsize=8)
    for ax in axes.ravel()[len(keys):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def verdict_grid(paired: pd.DataFrame, metric: str, *, maximize: bool = True, title: str = "",
                 clip_quantile: float = 0.95, compact_cells: int = 60):
    """Paired differences (model minus control) as a heat map, a 95% CI in each cell.

    One axis holds the comparisons (``model − reference``), the other the (dataset, split)
    pairs; the longer of the two runs down the page, so a study of many datasets gives a tall
    figure that stays legible at book width instead of a wide strip. Blue cells favour the model,
    red cells the control (oriented by ``maximize``); ``*`` marks a 95% CI that excludes zero.
    The colour scale is symmetric; when the largest absolute difference is more than twice the
    ``clip_quantile`` quantile, the scale is clipped at that quantile (the colour bar then shows
    arrows), so one outlying dataset does not wash out the rest; the printed numbers are never
    clipped. Grids of more than ``compact_cells`` cells print the difference and the star only
    (the CIs are in the comparisons table beside it).

    Parameters
    ----------
    paired : pandas.DataFrame
        Paired rows of one metric (``dataset, split, model, reference, diff, ci_low, ci_high,
        verdict``; an optional ``k`` column is added to the comparison label).
    metric : str
        Metric shown (title, colour-bar label).
    maximize : bool
        Whether larger values of the metric are better.
    title : str
        Figure title (default: the metric and the star's meaning).
    clip_quantile : float
        Quantile in (0, 1] of ``|diff|`` at which the colour scale saturates (1 = no clipping).
    compact_cells : int
        Above this many cells, print ``diff`` and the star without the CI.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``paired`` lacks one of the columns above or ``clip_quantile`` is outside (0, 1].
    """
    need = ["dataset", "split", "model", "reference", "diff", "ci_low", "ci_high", "verdict"]
    missing = [c for c in need if c not in paired.columns]
    if missing:
        raise ValueError(f"verdict_grid: paired table lacks column(s) {missing}")
    if not 0 < clip_quantile <= 1:
        raise ValueError(f"verdict_grid: clip_quantile must be in (0, 1], got {clip_quantile}")
    df = paired.copy()
    n_data = (df["dataset"] + df["split"]).nunique()
    df["comparison"] = df["model"] + " − " + df["reference"]
    if "k" in df.columns and df["k"].notna().any():
        df["comparison"] = df["comparison"] + " (k=" + df["k"].astype("Int64").astype(str) + ")"
    df["gain"] = df["diff"] * (1 if maximize else -1)
    n_comp = df["comparison"].nunique()
    rows, cols = ("data", "comparison") if n_data > n_comp else ("comparison", "data")
    df["data"] = df["dataset"] + (" · " if rows == "data" else "\n") + df["split"]  # column labels: two lines
    compact = n_data * n_comp > compact_cells
    df["label"] = [(f"{d:+.3f}" if compact else f"{d:+.3f}\n[{lo:+.3f}, {hi:+.3f}]")
                   + ("" if v == "no difference" else " *")
                   for d, lo, hi, v in zip(df["diff"], df["ci_low"], df["ci_high"], df["verdict"])]
    diff = df.pivot_table(index=rows, columns=cols, values="gain", aggfunc="first", sort=False)
    labels = df.pivot_table(index=rows, columns=cols, values="label", aggfunc="first", sort=False)
    labels = labels.reindex(index=diff.index, columns=diff.columns)
    gains = np.abs(diff.to_numpy(dtype=float))
    gains = gains[np.isfinite(gains)]
    top = float(gains.max()) if gains.size else 1.0
    lim = float(np.quantile(gains, clip_quantile)) if gains.size else 1.0
    lim = lim if 0 < lim and top > 2 * lim else (top or 1.0)  # clip only a real outlier (> 2x the quantile)
    cell_w, cell_h = (1.0, 0.32) if compact else (2.1, 0.55)
    fig, ax = plt.subplots(figsize=(2.6 + cell_w * diff.shape[1], 1.4 + cell_h * diff.shape[0]))
    label = f"Δ{metric}" + ("" if maximize else " (sign flipped: lower is better)")
    sns.heatmap(diff, annot=labels.fillna(""), fmt="", cmap="RdBu", center=0, vmin=-lim, vmax=lim,
                cbar_kws={"label": label, "extend": "both" if top > lim else "neither"},
                annot_kws={"fontsize": 7 if compact else 6.5}, ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel("")
    if cols == "comparison":
        ax.tick_params(axis="x", labelrotation=40)
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("right")
    clipped = f"; colour clipped at |Δ| = {lim:.3g}" if top > lim else ""
    ax.set_title(title or f"paired Δ{metric} (* = 95% CI excludes 0{clipped})", fontsize=9)
    fig.tight_layout()
    return fig


#: Verdict colours of the scoreboard figures (colour-blind-safe blue/orange, grey for no difference).
VERDICT_COLORS = {"better": "#1f77b4", "worse": "#d95f02", "no difference": "#8c8c8c"}


def scoreboard_panels(board: pd.DataFrame, *, width: float = 7.0):
    """The answer at a glance: one panel per task, each on its own scale.

    Each row is a dataset and split; the point is the paired difference (best neural model, seed
    or published, minus the best control) on the task's primary metric with its 95% bootstrap CI,
    coloured by the verdict (better / no difference / worse: the CI excludes 0 or not). The model
    that was the best neural one is named on the right. Panels share nothing, so a task whose
    metric varies on another scale (e.g. GRN inference's AUPRC ratio) does not flatten the others.

    Parameters
    ----------
    board : pandas.DataFrame
        :func:`grnbench.report.scoreboard` rows: ``task, dataset, split, metric, model, reference,
        diff, ci_low, ci_high, verdict``.
    width : float
        Figure width in inches (7 fits the book's text column).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.lines import Line2D

    from .report import TASK_TITLES

    tasks = list(dict.fromkeys(board["task"]))
    sizes = [int((board["task"] == t).sum()) for t in tasks]
    fig, axes = plt.subplots(len(tasks), 1, figsize=(width, 0.9 * len(tasks) + 0.2 * sum(sizes)),
                             gridspec_kw={"height_ratios": [max(n, 1) + 2 for n in sizes]}, squeeze=False)
    for ax, task in zip(axes[:, 0], tasks):
        g = board[board["task"] == task].reset_index(drop=True)
        y = np.arange(len(g))[::-1]
        colors = g["verdict"].map(VERDICT_COLORS).fillna("#8c8c8c")
        ax.errorbar(g["diff"], y, xerr=[g["diff"] - g["ci_low"], g["ci_high"] - g["diff"]], fmt="none",
                    ecolor=list(colors), elinewidth=1.6)
        ax.scatter(g["diff"], y, c=list(colors), s=16, zorder=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([f"{d} · {s}" for d, s in zip(g["dataset"], g["split"])], fontsize=7)
        ax.set_ylim(-0.7, len(g) - 0.3)
        right = ax.twinx()
        right.set_ylim(ax.get_ylim())
        right.set_yticks(y)
        right.set_yticklabels(g["model"], fontsize=6, color="#555555")
        right.tick_params(length=0)
        ax.set_title(f"{TASK_TITLES.get(task, task)} — Δ{g['metric'].iloc[0]} (best neural − best control)",
                     fontsize=8, loc="left")
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", lw=0.3, alpha=0.5)
    handles = [Line2D([], [], marker="o", ls="", color=c, label=v) for v, c in VERDICT_COLORS.items()]
    axes[0, 0].legend(handles=handles, fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.12), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


def scale_growth(table: pd.DataFrame, *, reference: dict | None = None):
    """Fit time and peak memory against the number of targets, one line per model (log-log).

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of ``benchmarks/results/seed_scale.csv``: ``model, n_targets, status, fit_seconds``
        (seconds, summed over a fit's units) and ``peak_rss_gb`` (GiB, the run's process tree).
        A ``forecast`` column, where present and true, marks a projection, not a fit: drawn
        hollow. Other rows whose ``status`` is not ``ok`` (failed, timed out) are left out.
    reference : dict, optional
        A reported time to mark: ``{"label": str, "n_targets": int, "low": seconds, "high":
        seconds}`` (the LEMBAS-RNN benchmark's README: XGBRF on 16,100 targets in 20-60 min on a
        multi-core machine), drawn as a vertical bar.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: fit seconds (log) and peak GiB (linear, up to 24 GiB) against targets (log); a dotted grey
        line of slope 1 through the smallest run of each model shows linear growth.
    """
    forecast = table["forecast"].eq(True) if "forecast" in table else pd.Series(False, table.index)
    ok = table[table["status"].eq("ok") | forecast].assign(forecast=forecast)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    palette = dict(zip(sorted(ok["model"].unique()), sns.color_palette("colorblind", ok["model"].nunique())))
    for ax, col, label in ((axes[0], "fit_seconds", "fit seconds"), (axes[1], "peak_rss_gb", "peak memory (GiB)")):
        for model, g in ok.groupby("model", sort=True):
            g = g.sort_values("n_targets")
            c = palette[model]
            ax.plot(g["n_targets"], g[col], "-", color=c, label=model, lw=1.2)
            real, fc = g[~g["forecast"]], g[g["forecast"]]
            ax.plot(real["n_targets"], real[col], "o", color=c, ms=4)
            ax.plot(fc["n_targets"], fc[col], "o", mfc="white", color=c, ms=5)
            if col == "fit_seconds" and len(real):
                x0, y0 = real["n_targets"].iloc[0], real[col].iloc[0]
                xs = np.array([x0, ok["n_targets"].max()])
                ax.plot(xs, y0 * xs / x0, ":", color="0.6", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("targets")
        ax.set_ylabel(label)
    axes[0].set_yscale("log")
    if reference:
        axes[0].vlines(reference["n_targets"], reference["low"], reference["high"], color="black", lw=3)
        axes[0].annotate(reference["label"], (reference["n_targets"], reference["low"]), fontsize=7,
                         xytext=(-6, -2), textcoords="offset points", ha="right", va="top")
    axes[1].set_ylim(0, 26)
    axes[1].axhline(24, color="0.4", ls="--", lw=0.8)
    axes[1].annotate("24 GiB", (ok["n_targets"].min(), 24), fontsize=7, xytext=(2, 2), textcoords="offset points")
    axes[1].legend(*axes[0].get_legend_handles_labels(), fontsize=7, title="", frameon=False, loc="center left")
    fig.tight_layout()
    return fig
