"""Cell splits of the target-expression task: ``random`` and ``ood``.

Every split labels each cell ``train``, ``val`` or ``test``. Validation cells are drawn
from the training pool only and serve tuning and early stopping; models are fitted on
``train`` cells; ``test`` cells are scored once.

* ``random`` — 80/20 train/test of all cells (seeded), then ``val_fraction`` of the
  training pool as validation (for comparability with published random splits).
* ``ood`` — a held-out stage, condition or cell type is the test set; the model never sees
  it. The group comes from the dataset card's ``ood`` rule (hHEP mature hepatocytes, ``stage``
  mh1/mh2; Kang IFN-beta-stimulated cells; pbmc68k CD14+ monocytes), and a study profile can
  override it (the ``ood`` option of the fit stage).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import DataValidationError, UnknownIdError, format_names

__all__ = ["SPLITS", "make_split"]

SPLITS = ("random", "ood")

def make_split(
    obs: pd.DataFrame,
    split: str,
    *,
    dataset: str = "",
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.15,
    ood: dict | None = None,
) -> pd.Series:
    """Label cells ``train`` / ``val`` / ``test``.

    Parameters
    ----------
    obs : pandas.DataFrame
        Cell annotations (``AnnData.obs``), one row per cell.
    split : {"random", "ood"}
        Split id.
    dataset : str
        Dataset id (for messages).
    seed : int
        Seed of the random assignments.
    test_fraction : float
        Share of cells in the test set (``random`` only).
    val_fraction : float
        Share of the training pool used for validation.
    ood : dict, optional
        ``{"obs_key": column, "test": [values]}`` (the dataset card's ``ood`` rule).

    Returns
    -------
    pandas.Series
        Categorical ``train``/``val``/``test``, indexed like ``obs``.

    Raises
    ------
    grnbench.errors.UnknownIdError
        For an unknown split id, or ``ood`` for a dataset without a declared group.
    grnbench.errors.DataValidationError
        If the ``ood`` column is missing, a held-out value is absent, or a part is empty.
    """
    rng = np.random.default_rng(seed)
    n = len(obs)
    labels = np.full(n, "train", dtype=object)
    if split == "random":
        perm = rng.permutation(n)
        n_test = int(round(test_fraction * n))
        labels[perm[:n_test]] = "test"
        pool = perm[n_test:]
    elif split == "ood":
        spec = ood
        if spec is None:
            raise UnknownIdError(f"split 'ood' has no held-out group declared for dataset {dataset!r}: add an "
                                 "'ood' rule to its card or pass ood={'obs_key': ..., 'test': [...]}")
        key, held = spec["obs_key"], list(spec["test"])
        if key not in obs.columns:
            raise DataValidationError(f"{dataset}: obs column {key!r} for the ood split is missing (have {list(obs.columns)})")
        values = obs[key].astype(str)
        absent = [v for v in held if v not in set(values)]
        if absent:
            raise DataValidationError(
                f"{dataset}: held-out {key} value(s) {format_names(absent)} not found; present: {format_names(sorted(set(values)))}"
            )
        is_test = values.isin(held).to_numpy()
        labels[is_test] = "test"
        pool = rng.permutation(np.flatnonzero(~is_test))
    else:
        raise UnknownIdError(f"unknown split id {split!r}; known: {', '.join(SPLITS)}")
    n_val = int(round(val_fraction * len(pool)))
    labels[pool[:n_val]] = "val"
    out = pd.Series(pd.Categorical(labels, categories=["train", "val", "test"]), index=obs.index, name=f"split_{split}")
    empty = [c for c in ("train", "val", "test") if (out == c).sum() == 0]
    if empty:
        raise DataValidationError(f"{dataset}: split {split!r} leaves no {format_names(empty)} cells")
    return out
