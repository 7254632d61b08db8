"""Unsupervised edge scorers of the GRN-inference task (scikit-learn estimators).

Every scorer is fitted on an expression matrix (cells x genes, a :class:`pandas.DataFrame`) and
scores regulator -> target pairs::

    est = CorrelationScorer(method="pearson", regulators=tfs).fit(X)
    scores = est.predict(pairs)          # pairs: DataFrame with columns source, target
    top = est.edges(1000)                # the k highest-scoring edges

``fit`` also takes ``interventions`` (per cell, the gene it perturbs; empty where none) and
``perturbation`` (per cell, the kind of sample); scorers that cannot use them ignore them.
Scores are non-negative; larger means more likely an edge. Self-pairs score 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ...errors import DataValidationError, GeneMismatchError, format_names

__all__ = ["EdgeScorer", "CorrelationScorer", "TFVarianceScorer", "RandomEdgeScorer", "KnockoutZScore",
           "ArboretoScorer"]


def _genes(X) -> tuple[np.ndarray, pd.Index]:
    if not isinstance(X, pd.DataFrame):
        raise DataValidationError("X must be a pandas DataFrame (cells x genes) whose columns are gene names")
    genes = pd.Index(X.columns.astype(str))
    if genes.has_duplicates:
        raise DataValidationError(f"X: duplicated gene(s) {format_names(genes[genes.duplicated()].unique())}")
    x = X.to_numpy(dtype=np.float64)
    if not np.isfinite(x).all():
        bad = genes[~np.isfinite(x).all(axis=0)]
        raise DataValidationError(f"X: NaN or infinite expression in gene(s) {format_names(bad)}")
    if x.shape[0] < 2:
        raise DataValidationError(f"X has {x.shape[0]} cell(s); at least 2 are needed to score edges")
    return x, genes


def _subset(names, genes: pd.Index, what: str) -> list:
    if names is None:
        return list(genes)
    names = [str(g) for g in names]
    absent = [g for g in names if g not in genes]
    if absent:
        raise GeneMismatchError(f"{what} {format_names(absent)} are not columns of X")
    return names


class EdgeScorer(BaseEstimator):
    """Base class: subclasses implement :meth:`_score(x, genes, reg_idx, tgt_idx, interventions, perturbation)`
    returning an array of shape (n_regulators, n_targets).

    Parameters
    ----------
    regulators : list of str, optional
        Candidate sources (default: every gene of ``X``).
    targets : list of str, optional
        Candidate targets (default: every gene of ``X``).
    random_state : int or None

    Attributes
    ----------
    scores_ : pandas.DataFrame, shape (n_regulators, n_targets)
        Edge scores, regulators as rows; self-pairs are 0.
    """

    def __init__(self, regulators=None, targets=None, random_state=None):
        self.regulators = regulators
        self.targets = targets
        self.random_state = random_state

    def fit(self, X, y=None, *, interventions=None, perturbation=None):
        """Score every regulator -> target pair.

        Parameters
        ----------
        X : pandas.DataFrame, shape (n_cells, n_genes)
            Expression on the dataset's scale (log for scRNA-seq).
        y : ignored
        interventions : array-like of str, shape (n_cells,), optional
            The gene each cell's perturbation targets ("" for none).
        perturbation : array-like of str, shape (n_cells,), optional
            Kind of each sample (``knockout``, ``knockdown``, ``wildtype``, ...).

        Returns
        -------
        self

        Raises
        ------
        grnbench.errors.DataValidationError
            For non-DataFrame input, duplicated genes, NaN/Inf, fewer than 2 cells, or
            interventions of the wrong length.
        grnbench.errors.GeneMismatchError
            If a regulator or target is not a column of ``X``.
        """
        x, genes = _genes(X)
        regs = _subset(self.regulators, genes, "regulator(s)")
        tgts = _subset(self.targets, genes, "target(s)")
        n = x.shape[0]
        interventions = np.full(n, "", dtype=object) if interventions is None else np.asarray(interventions, dtype=object)
        perturbation = np.full(n, "", dtype=object) if perturbation is None else np.asarray(perturbation, dtype=object)
        for name, arr in (("interventions", interventions), ("perturbation", perturbation)):
            if arr.shape != (n,):
                raise DataValidationError(f"{name} has shape {arr.shape}; X has {n} cells")
        reg_idx, tgt_idx = genes.get_indexer(regs), genes.get_indexer(tgts)
        s = np.asarray(self._score(x, genes, reg_idx, tgt_idx, interventions, perturbation), dtype=np.float64)
        s = np.nan_to_num(s, nan=0.0)
        s[reg_idx[:, None] == tgt_idx[None, :]] = 0.0
        self.scores_ = pd.DataFrame(s, index=pd.Index(regs, name="source"), columns=pd.Index(tgts, name="target"))
        return self

    def _score(self, x, genes, reg_idx, tgt_idx, interventions, perturbation):  # pragma: no cover - interface
        raise NotImplementedError

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """Scores of ``pairs`` (columns ``source``, ``target``), shape (n_pairs,).

        Raises
        ------
        grnbench.errors.GeneMismatchError
            If a pair names a gene that is not a fitted regulator or target.
        """
        s = self.scores_
        ri = s.index.get_indexer(pairs["source"].astype(str))
        ci = s.columns.get_indexer(pairs["target"].astype(str))
        if (ri < 0).any() or (ci < 0).any():
            bad = sorted(set(pairs["source"][ri < 0]) | set(pairs["target"][ci < 0]))
            raise GeneMismatchError(f"{type(self).__name__}: pair gene(s) {format_names(bad)} were not fitted as "
                                    "regulator / target")
        return s.to_numpy()[ri, ci]

    def edges(self, k: int | None = None) -> pd.DataFrame:
        """The ``k`` highest-scoring edges (all non-self edges by default): ``source, target, score``.

        Ties are ordered by source then target name, so the table is deterministic.
        """
        s = self.scores_.stack().rename("score").reset_index()
        s = s[s["source"] != s["target"]].sort_values(["score", "source", "target"], ascending=[False, True, True],
                                                        kind="stable")
        return s.head(k).reset_index(drop=True) if k else s.reset_index(drop=True)


class CorrelationScorer(EdgeScorer):
    """|Pearson| or |Spearman| correlation of regulator and target across cells (BEELINE's
    correlation runner; Spearman = Pearson of ranks, scipy.stats.rankdata with average ties).

    Parameters
    ----------
    method : {"pearson", "spearman"}
    regulators, targets, random_state
        See :class:`EdgeScorer`. Genes constant across cells score 0.

    Notes
    -----
    Scores are rounded to 12 decimals: correlations that are equal in exact arithmetic (common
    in Boolean-simulated data) then tie on every CPU, instead of being ordered by the last bits of
    a BLAS product, whose summation order differs between CPUs.
    """

    def __init__(self, method="pearson", regulators=None, targets=None, random_state=None):
        super().__init__(regulators=regulators, targets=targets, random_state=random_state)
        self.method = method

    def _score(self, x, genes, reg_idx, tgt_idx, interventions, perturbation):
        if self.method not in ("pearson", "spearman"):
            raise ValueError(f"method must be 'pearson' or 'spearman', got {self.method!r}")
        if self.method == "spearman":
            from scipy.stats import rankdata

            x = rankdata(x, axis=0)
        z = x - x.mean(axis=0)
        sd = np.sqrt((z ** 2).sum(axis=0))
        z = z / np.where(sd > 0, sd, np.inf)
        return np.round(np.abs(z[:, reg_idx].T @ z[:, tgt_idx]), 12)


class TFVarianceScorer(EdgeScorer):
    """Every edge of a regulator scored by that regulator's variance across cells: how far
    hub/high-variance TFs alone go (a control)."""

    def _score(self, x, genes, reg_idx, tgt_idx, interventions, perturbation):
        return np.repeat(x[:, reg_idx].var(axis=0)[:, None], len(tgt_idx), axis=1)


class RandomEdgeScorer(EdgeScorer):
    """Uniform random scores (chance level), seeded by ``random_state``."""

    def _score(self, x, genes, reg_idx, tgt_idx, interventions, perturbation):
        rng = np.random.default_rng(0 if self.random_state is None else self.random_state)
        return rng.random((len(reg_idx), len(tgt_idx)))


class KnockoutZScore(EdgeScorer):
    """|z| of the target in the regulator's knockout: ``|x_j(KO i) - mean_j| / sd_j``, mean and sd
    of gene j over all knockout samples (the z-score method of Prill et al. 2010,
    doi:10.1371/journal.pone.0009202, a strong DREAM baseline).

    Needs samples whose ``perturbation`` is ``kind`` and whose ``interventions`` name the
    knocked-out gene; regulators without such a sample score 0.

    Raises
    ------
    grnbench.errors.DataValidationError
        (from :meth:`fit`) if there are fewer than 2 samples of ``kind``.
    """

    def __init__(self, kind="knockout", regulators=None, targets=None, random_state=None):
        super().__init__(regulators=regulators, targets=targets, random_state=random_state)
        self.kind = kind

    def _score(self, x, genes, reg_idx, tgt_idx, interventions, perturbation):
        ko = (perturbation == self.kind) & (interventions != "")
        if ko.sum() < 2:
            raise DataValidationError(f"knockout_zscore needs at least 2 samples with perturbation {self.kind!r} and a "
                                      f"named intervention; the data have {int(ko.sum())}")
        xk = x[ko]
        mu, sd = xk.mean(axis=0), xk.std(axis=0)
        z = np.abs(xk - mu) / np.where(sd > 0, sd, np.inf)
        out = np.zeros((len(reg_idx), len(tgt_idx)))
        by_gene = pd.Series(np.arange(int(ko.sum()))).groupby(interventions[ko]).apply(list)
        for r, g in enumerate(genes[reg_idx]):
            if g in by_gene.index:
                out[r] = z[by_gene[g]][:, tgt_idx].mean(axis=0)
        return out


def _arboreto_target(target, target_expr, *, regressor_type, regressor_kwargs, tf_matrix, tf_names, seed):
    """One regression of arboreto's pipeline (``arboreto.core``), without its silent retry/fallback."""
    from arboreto.core import EARLY_STOP_WINDOW_LENGTH, clean, fit_model, to_feature_importances

    m, names = clean(tf_matrix, list(tf_names), target)
    if m.size == 0:
        raise DataValidationError(f"no regulator other than {target} itself to predict it from")
    reg = fit_model(regressor_type, regressor_kwargs, m, target_expr, EARLY_STOP_WINDOW_LENGTH, seed)
    return target, names, to_feature_importances(regressor_type, regressor_kwargs, reg)


class ArboretoScorer(EdgeScorer):
    """GENIE3 or GRNBoost2 through arboreto's regressors, one Dask task per target.

    GENIE3 (Huynh-Thu et al. 2010, doi:10.1371/journal.pone.0012776): one random forest per
    target (1,000 trees, max_features="sqrt"), importance of each regulator. GRNBoost2 (Moerman
    et al. 2019, doi:10.1093/bioinformatics/bty916): stochastic gradient boosting with arboreto's
    out-of-bag early stopping. Settings are arboreto's (``arboreto.core.RF_KWARGS`` /
    ``SGBM_KWARGS``); each regression is ``arboreto.core.fit_model``.

    arboreto 0.1.6's own graph builder (``create_graph``) fails on current Dask
    (``dask.dataframe.from_delayed`` with dask-expr raises a TypeError), and its ``retry`` turns a
    failed regression into an empty result. This scorer maps the same per-target regressions
    over the run's Dask cluster (:func:`grnbench.compute.nested_map`: from inside a unit, the
    workers that run the units; in process, one after the other) and lets errors propagate.
    Each regression is seeded, so where it runs does not change the scores.

    Parameters
    ----------
    algorithm : {"genie3", "grnboost2"}
    n_workers : int
        Unused (kept for the registry's recorded parameters): the run's cluster decides.
    regulators, targets, random_state
        See :class:`EdgeScorer`; ``random_state`` seeds every regression (arboreto's ``seed``).
    """

    def __init__(self, algorithm="genie3", n_workers=2, regulators=None, targets=None, random_state=0):
        super().__init__(regulators=regulators, targets=targets, random_state=random_state)
        self.algorithm = algorithm
        self.n_workers = n_workers

    def _score(self, x, genes, reg_idx, tgt_idx, interventions, perturbation):
        from arboreto.core import RF_KWARGS, SGBM_KWARGS

        from ...compute import nested_map

        if self.algorithm not in ("genie3", "grnboost2"):
            raise ValueError(f"algorithm must be 'genie3' or 'grnboost2', got {self.algorithm!r}")
        rtype, kwargs = ("RF", RF_KWARGS) if self.algorithm == "genie3" else ("GBM", SGBM_KWARGS)
        seed = 0 if self.random_state is None else int(self.random_state)
        tf_names = list(genes[reg_idx])
        tf_matrix = np.ascontiguousarray(x[:, reg_idx])
        out = pd.DataFrame(0.0, index=tf_names, columns=list(genes[tgt_idx]))
        targets = list(genes[tgt_idx])
        results = nested_map(_arboreto_target, targets, [x[:, j] for j in tgt_idx],
                             shared={"regressor_type": rtype, "regressor_kwargs": kwargs, "tf_matrix": tf_matrix,
                                     "tf_names": tf_names, "seed": seed})
        for target, names, imp in results:
            out.loc[names, target] = imp
        return out.to_numpy()
