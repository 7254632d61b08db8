"""Cell splits of the cell-type-marker task: ``capped`` and ``ood``.

* ``capped`` — the seed's class-capped split: classes with fewer than ``min_cluster_size``
  cells are dropped; within each class cells are shuffled (seeded) and assigned to test,
  validation and train with per-class fractions *and* caps, so large classes do not dominate.
* ``ood`` — the card's held-out condition (Kang 2018: genes are selected and models trained on
  control cells, capped split of the control cells into train/validation, and tested on all
  IFN-beta-stimulated cells of the retained classes): the classifier must survive a strong
  perturbation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import DataValidationError, UnknownIdError, format_names

__all__ = ["SPLITS", "make_split", "DEFAULT_CAPS"]

SPLITS = ("capped", "ood")

#: Caps of datasets whose card sets none: (min_cluster_size, test_cap, val_cap, train_cap).
DEFAULT_CAPS = (10, 50, 25, 250)


def _capped(labels: pd.Series, rng, min_cluster_size, test_cap, val_cap, train_cap, test_fraction, val_fraction,
            test=True):
    out = pd.Series("drop", index=labels.index, dtype=object)
    for cls, idx in labels.groupby(labels, observed=True).groups.items():
        idx = np.asarray(idx)
        if len(idx) < min_cluster_size:
            continue
        idx = idx[rng.permutation(len(idx))]
        n_test = min(test_cap, max(1, int(round(test_fraction * len(idx))))) if test else 0
        n_val = min(val_cap, max(1, int(round(val_fraction * len(idx)))))
        out[idx[:n_test]] = "test"
        out[idx[n_test:n_test + n_val]] = "val"
        out[idx[n_test + n_val:n_test + n_val + train_cap]] = "train"
    return out


def make_split(obs: pd.DataFrame, split: str, *, dataset: str = "", seed: int = 0, caps: tuple | None = None,
               test_fraction: float = 0.2, val_fraction: float = 0.15, label_key: str = "label",
               ood: dict | None = None) -> pd.Series:
    """Label cells ``train`` / ``val`` / ``test`` / ``drop``.

    Parameters
    ----------
    obs : pandas.DataFrame
        Cell annotations with the label column.
    split : {"capped", "ood"}
    dataset : str
        Dataset id (for messages).
    seed : int
        Seed of the shuffles.
    caps : tuple, optional
        ``(min_cluster_size, test_cap, val_cap, train_cap)`` (the card's; default :data:`DEFAULT_CAPS`).
    test_fraction, val_fraction : float
        Per-class shares before the caps apply.
    label_key : str
        Label column.
    ood : dict, optional
        ``{"obs_key": column, "test": [values], "train": [values]}`` of the ``ood`` split
        (the card's ``ood`` rule; without ``train``, every other value trains).

    Returns
    -------
    pandas.Series
        ``train``/``val``/``test``/``drop`` per cell (``drop``: class too small or beyond a cap).

    Raises
    ------
    grnbench.errors.UnknownIdError
        Unknown split, or ``ood`` for a dataset without a declared shift.
    grnbench.errors.DataValidationError
        Missing label column, ``min_cluster_size`` below 3, or an empty part. Classes below
        ``min_cluster_size`` (e.g. a class with one cell) are dropped and listed in
        ``result.attrs['dropped_classes']``.
    """
    if label_key not in obs.columns:
        raise DataValidationError(f"{dataset}: label column {label_key!r} is missing (have {list(obs.columns)})")
    labels = obs[label_key].astype(str)
    min_size, test_cap, val_cap, train_cap = caps or DEFAULT_CAPS
    if min_size < 3:
        raise DataValidationError("min_cluster_size must be >= 3 (a class needs train, validation and test cells)")
    rng = np.random.default_rng(seed)
    if split == "capped":
        out = _capped(labels, rng, min_size, test_cap, val_cap, train_cap, test_fraction, val_fraction)
    elif split == "ood":
        spec = ood
        if spec is None:
            raise UnknownIdError(f"split 'ood' is not defined for dataset {dataset!r}: its card has no 'ood' rule "
                                 "on a column other than the labels")
        key = spec["obs_key"]
        if key not in obs.columns:
            raise DataValidationError(f"{dataset}: obs column {key!r} for the ood split is missing")
        values = obs[key].astype(str)
        target = values.isin([str(v) for v in spec["test"]]).to_numpy()
        train = spec.get("train")
        source = values.isin([str(v) for v in train]).to_numpy() if train else ~target
        out = pd.Series("drop", index=obs.index, dtype=object)
        out[source] = _capped(labels[source], rng, min_size, 0, val_cap, train_cap, 0.0, val_fraction, test=False)
        kept = set(labels[source][out[source] != "drop"])
        out[target & labels.isin(kept).to_numpy()] = "test"
    else:
        raise UnknownIdError(f"unknown split id {split!r}; known: {', '.join(SPLITS)}")
    empty = [part for part in ("train", "val", "test") if (out == part).sum() == 0]
    if empty:
        raise DataValidationError(f"{dataset}: split {split!r} leaves no {format_names(empty)} cells")
    result = out.astype(pd.CategoricalDtype(["train", "val", "test", "drop"]))
    result.attrs["dropped_classes"] = sorted(set(labels) - set(labels[out != "drop"]))
    return result
