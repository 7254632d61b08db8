"""Pair splits of the edge-classification task.

Every split returns a pair table ``tf, target, label, part`` (``part`` in train/val/test);
no (tf, target) pair is in two parts.

* ``reference`` — the shipped GENELink / bridge-grn split, evaluated exactly as shipped.
* ``random`` — the GENELink protocol (``Train_Test_Split.py::train_val_test_set``)
  re-implemented for datasets without a shipped split: each TF's positives go 2/3 to training
  (a fifth of them to validation) and 1/3 to test; training and validation get one random
  non-target *of the same TF* per positive (1:1); the test set gets random non-edges until its
  positive rate equals the network density. Every test TF and target is also seen in training.
* ``heldout_tf`` — TFs are assigned to ``n_folds`` groups (:class:`sklearn.model_selection.GroupKFold`
  with shuffling); fold ``fold`` is the test set, the next fold validation, the rest training:
  no test TF appears as a TF in training. Training/validation: every positive of their TFs
  plus as many negatives drawn from the same TFs' non-targets (1:1); test: every candidate
  pair of the test TFs (all their non-targets), so its positive rate is those TFs' density
  (negatives subsampled uniformly only above ``max_test_pairs``).
* ``heldout_target`` — the same with target genes as the groups.
* ``c3`` — Park & Marcotte's hardest class (Nat Methods 9:1134, 2012, doi:10.1038/nmeth.2259):
  genes (TFs and non-TFs separately, so every part has TFs) are split into test (30%),
  validation (15%) and training genes; a pair belongs to a part only if its TF *and* its target
  are genes of that part, so no gene of a test pair appears in any training pair, as TF or as
  target. Pairs across parts are discarded. Training/validation: positives plus as many
  negatives of the same TFs; test: every candidate pair (subsampled above ``max_test_pairs``).

Negative sampling draws uniformly, seeded; positive rates per part are reported by
:func:`split_summary`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from ...errors import DataValidationError, UnknownIdError
from .datasets import EdgeData

__all__ = ["SPLITS", "make_split", "split_summary"]

SPLITS = ("reference", "random", "heldout_tf", "heldout_target", "c3")


def _grid(tfs, genes) -> pd.DataFrame:
    t = np.repeat(np.asarray(tfs, dtype=object), len(genes))
    g = np.tile(np.asarray(genes, dtype=object), len(tfs))
    grid = pd.DataFrame({"tf": t, "target": g})
    return grid[grid["tf"] != grid["target"]].reset_index(drop=True)


def _label(pairs: pd.DataFrame, edges: pd.DataFrame) -> np.ndarray:
    key = set(zip(edges["tf"], edges["target"]))
    return np.fromiter(((a, b) in key for a, b in zip(pairs["tf"], pairs["target"])), dtype=bool, count=len(pairs))


def _negatives_per_tf(neg: pd.DataFrame, n_by_tf: pd.Series, rng) -> pd.DataFrame:
    """Draw ``n_by_tf[tf]`` negatives of each TF (fewer if the TF has fewer non-targets)."""
    out = []
    for tf, idx in neg.groupby("tf", sort=False).indices.items():
        n = int(n_by_tf.get(tf, 0))
        if n:
            out.append(neg.iloc[rng.choice(idx, size=min(n, len(idx)), replace=False)])
    return pd.concat(out) if out else neg.iloc[:0]


def _random(data: EdgeData, rng) -> pd.DataFrame:
    grid = _grid(data.tfs, data.genes)
    grid["label"] = _label(grid, data.edges).astype(int)
    pos, neg = grid[grid["label"] == 1], grid[grid["label"] == 0]
    parts = []
    for _tf, idx in pos.groupby("tf", sort=False).indices.items():
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(len(idx) / 3))
        n_train = len(idx) - n_test
        n_val = int(round(n_train / 5))
        lab = np.array(["test"] * n_test + ["val"] * n_val + ["train"] * (n_train - n_val), dtype=object)
        parts.append(pos.iloc[idx].assign(part=lab))
    pos = pd.concat(parts)
    used = []
    for part in ("train", "val"):
        n_by_tf = pos[pos["part"] == part].groupby("tf").size()
        free = neg.drop(index=[i for u in used for i in u.index], errors="ignore")
        drawn = _negatives_per_tf(free, n_by_tf, rng).assign(part=part)
        used.append(drawn)
    free = neg.drop(index=[i for u in used for i in u.index])
    n_test_pos = int((pos["part"] == "test").sum())
    n_test_neg = min(len(free), int(round(n_test_pos * (1 - data.density) / data.density)))
    test_neg = free.iloc[rng.choice(len(free), size=n_test_neg, replace=False)].assign(part="test")
    return pd.concat([pos, *used, test_neg], ignore_index=True)


def _heldout(data: EdgeData, key: str, rng, seed: int, n_folds: int, fold: int, max_test_pairs: int) -> pd.DataFrame:
    grid = _grid(data.tfs, data.genes)
    grid["label"] = _label(grid, data.edges).astype(int)
    groups = grid[key].to_numpy()
    n_groups = len(set(groups))
    if n_groups < n_folds:
        raise DataValidationError(f"{data.dataset}: {n_groups} {key}s cannot fill {n_folds} folds")
    folds = np.empty(len(grid), dtype=int)
    for k, (_, test_idx) in enumerate(GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(grid, groups=groups)):
        folds[test_idx] = k
    part = np.where(folds == fold, "test", np.where(folds == (fold + 1) % n_folds, "val", "train"))
    grid["part"] = part
    out = []
    for name in ("train", "val"):
        sub = grid[grid["part"] == name]
        pos, neg = sub[sub["label"] == 1], sub[sub["label"] == 0]
        n_by_group = pos.groupby(key).size()
        if key == "tf":
            drawn = _negatives_per_tf(neg, n_by_group, rng)
        else:
            drawn = neg.iloc[rng.choice(len(neg), size=min(len(pos), len(neg)), replace=False)]
        out += [pos, drawn]
    out.append(_cap_test(grid[grid["part"] == "test"], max_test_pairs, rng))
    return pd.concat(out, ignore_index=True)


def _cap_test(test: pd.DataFrame, max_test_pairs: int, rng) -> pd.DataFrame:
    """Keep every positive test pair and a random subset of negatives, at most ``max_test_pairs`` in all."""
    if len(test) <= max_test_pairs:
        return test
    pos, neg = test[test["label"] == 1], test[test["label"] == 0]
    keep = max(0, max_test_pairs - len(pos))
    return pd.concat([pos, neg.iloc[np.sort(rng.choice(len(neg), size=min(keep, len(neg)), replace=False))]])


def _c3(data: EdgeData, rng, max_test_pairs: int, test_fraction: float = 0.3, val_fraction: float = 0.15
        ) -> pd.DataFrame:
    tfs = set(data.tfs)
    part_of = {}
    for pool in (sorted(tfs), sorted(g for g in data.genes if g not in tfs)):
        order = list(np.asarray(pool, dtype=object)[rng.permutation(len(pool))])
        n_test, n_val = int(round(test_fraction * len(order))), int(round(val_fraction * len(order)))
        for k, g in enumerate(order):
            part_of[g] = "test" if k < n_test else "val" if k < n_test + n_val else "train"
    grid = _grid(data.tfs, data.genes)
    a, b = grid["tf"].map(part_of), grid["target"].map(part_of)
    grid = grid[a == b].assign(part=a[a == b])
    grid["label"] = _label(grid, data.edges).astype(int)
    out = []
    for name in ("train", "val"):
        sub = grid[grid["part"] == name]
        pos, neg = sub[sub["label"] == 1], sub[sub["label"] == 0]
        out += [pos, _negatives_per_tf(neg, pos.groupby("tf").size(), rng)]
    out.append(_cap_test(grid[grid["part"] == "test"], max_test_pairs, rng))
    return pd.concat(out, ignore_index=True)


def make_split(data: EdgeData, split: str, *, seed: int = 0, n_folds: int = 5, fold: int = 0,
               max_test_pairs: int = 150_000) -> pd.DataFrame:
    """Pair table ``tf, target, label, part`` of one split.

    Parameters
    ----------
    data : EdgeData
    split : {"reference", "random", "heldout_tf", "heldout_target", "c3"}
    seed : int
        Seed of the fold assignment and negative sampling.
    n_folds, fold : int
        Group folds of the held-out splits and the test fold (validation = the next fold).
    max_test_pairs : int
        Cap on held-out test pairs (negatives subsampled uniformly above it).

    Raises
    ------
    grnbench.errors.UnknownIdError
        Unknown split, or ``reference`` for a dataset without a shipped split.
    grnbench.errors.DataValidationError
        If a part lacks positives or negatives (an empty class).
    """
    rng = np.random.default_rng(seed)
    if split == "reference":
        if data.reference is None:
            raise UnknownIdError(f"{data.dataset}: no shipped reference split (use 'random')")
        pairs = data.reference[["tf", "target", "label", "part"]].copy()
    elif split == "random":
        pairs = _random(data, rng)
    elif split == "heldout_tf":
        pairs = _heldout(data, "tf", rng, seed, n_folds, fold, max_test_pairs)
    elif split == "heldout_target":
        pairs = _heldout(data, "target", rng, seed, n_folds, fold, max_test_pairs)
    elif split == "c3":
        pairs = _c3(data, rng, max_test_pairs)
    else:
        raise UnknownIdError(f"unknown split id {split!r}; known: {', '.join(SPLITS)}")
    pairs["label"] = pairs["label"].astype(int)
    dup = pairs.duplicated(["tf", "target"], keep=False)
    if dup.any():
        first = pairs[dup].iloc[0]
        raise DataValidationError(f"{data.dataset}/{split}: pair {first['tf']} -> {first['target']} is in two parts")
    for part in ("train", "val", "test"):
        lab = pairs.loc[pairs["part"] == part, "label"]
        for cls, name in ((1, "positive"), (0, "negative")):
            if not (lab == cls).any():
                raise DataValidationError(f"{data.dataset}/{split}: the {part} part has no {name} pairs (empty class)")
    return pairs.reset_index(drop=True)


def split_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs, positives, positive rate, TFs and targets per part."""
    g = pairs.groupby("part", sort=False)
    out = pd.DataFrame({"pairs": g.size(), "positives": g["label"].sum(), "positive_rate": g["label"].mean(),
                        "tfs": g["tf"].nunique(), "targets": g["target"].nunique()})
    return out.reindex(["train", "val", "test"])
