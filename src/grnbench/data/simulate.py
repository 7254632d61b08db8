"""A seeded simulator of target-expression data at the LEMBAS-RNN benchmark's scale.

The benchmark that the target-expression task reproduces (Langridge 2026, the LEMBAS-RNN
benchmark; LEMBAS: Nilsson et al. 2022, doi:10.1038/s41467-022-30684-y) fits 16,100 target genes
from 1,197 TFs on ~15,935 bulk liver samples with a signed prior of ~1,153,904 TF -> gene edges.
Its data are private. :func:`simulate_seed_scale` writes data of that shape whose truth is known,
so that a user can measure whether grnbench runs at that size, how long it takes and how much
memory it needs.

The generative model (every choice seeded):

* **Prior.** Each TF's out-degree is drawn from a log-normal distribution (heavy right tail, as
  curated regulons are: a few TFs regulate thousands of genes, most a few dozen) and rescaled so
  that the degrees sum to ``n_edges``; each target then gets at least one parent. Signs are
  +1 (activation) with probability ``p_activation``, else -1, as in signed priors such as
  CollecTRI (Müller-Dott et al. 2023, doi:10.1093/nar/gkad841), whose edges are mostly activating.
* **TF expression** (log scale, like log1p CP10k or log2 TPM): a factor model — ``n_programs``
  shared programs with sparse loadings plus TF-specific noise — so that TFs are correlated in
  blocks, shifted to per-TF means drawn from a normal distribution and clipped at 0.
* **Targets** are generated from their prior parents only. Each edge's effect is a mix of a linear
  term and a Hill term ``x^h / (K^h + x^h)`` (``h`` = 2, ``K`` = the TF's median), mixed with a
  per-edge weight drawn uniformly, summed over parents with the edge's sign and a log-normal
  strength; the sum is standardised and passed through ``tanh`` (saturation), scaled to the
  target's amplitude and given Gaussian noise so that the signal explains ``signal_fraction`` of
  each target's variance on average (per target drawn around it, between 0.3 and 0.99), then
  shifted to a mean at least 3.5 standard deviations above 0 and clipped at 0.

The prior given to the models is exactly the generating network (no missing or false edges), so
it is the best case for a network-constrained model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataValidationError

__all__ = ["SEED_SCALE", "SimulatedData", "simulate_seed_scale"]

#: The LEMBAS-RNN benchmark's shape (its README: TF ~15,935 x 1,197; targets ~15,935 x 16,100;
#: network ~1,153,904 edges).
SEED_SCALE = {"n_samples": 15_935, "n_tfs": 1_197, "n_targets": 16_100, "n_edges": 1_153_904}


@dataclass
class SimulatedData:
    """What :func:`simulate_seed_scale` returns.

    Attributes
    ----------
    adata : anndata.AnnData
        Samples x genes (TFs first, then targets), float32 log-scale ``.X``; ``var['role']`` is
        ``"TF"`` or ``"target"``; ``var['n_parents']`` the number of prior parents of a target.
    prior : pandas.DataFrame
        ``source, target, weight`` (weight = sign, +1 or -1), one row per edge (decoupler's layout,
        which ``grnbench run --prior`` reads).
    signal_r2 : pandas.Series
        Per target, its noise-free signal's variance over its simulated variance (about the best
        R² a model can reach on it; targets are clipped at 0 after the noise is added, which a few
        low-mean targets feel).
    """

    adata: object
    prior: pd.DataFrame
    signal_r2: pd.Series


def _degrees(rng, n_tfs: int, n_targets: int, n_edges: int, sigma: float) -> np.ndarray:
    raw = rng.lognormal(mean=0.0, sigma=sigma, size=n_tfs)
    deg = np.maximum(1, np.floor(raw / raw.sum() * n_edges)).astype(np.int64)
    deg = np.minimum(deg, n_targets)
    short = n_edges - deg.sum()  # hand out what rounding and the cap left, largest TFs first
    order = np.argsort(-deg, kind="stable")
    i = 0
    while short > 0:
        j = order[i % n_tfs]
        if deg[j] < n_targets:
            deg[j] += 1
            short -= 1
        i += 1
    return deg


def simulate_seed_scale(n_samples: int = SEED_SCALE["n_samples"], n_tfs: int = SEED_SCALE["n_tfs"],
                        n_targets: int = SEED_SCALE["n_targets"], n_edges: int = SEED_SCALE["n_edges"], *,
                        n_programs: int = 30, degree_sigma: float = 1.2, p_activation: float = 0.75,
                        signal_fraction: float = 0.8, seed: int = 0) -> SimulatedData:
    """Simulate samples x (TFs + targets) expression and a signed prior of the seed benchmark's shape.

    Parameters
    ----------
    n_samples, n_tfs, n_targets, n_edges : int
        Shape; the defaults are :data:`SEED_SCALE`. ``n_edges`` must lie between ``n_targets``
        (one parent each) and ``n_tfs * n_targets``.
    n_programs : int
        Shared expression programs of the TFs (the rank of their correlation, plus noise).
    degree_sigma : float
        Sigma of the log-normal TF out-degree (larger = heavier tail).
    p_activation : float
        Share of activating (+1) edges.
    signal_fraction : float
        In (0, 1): on average, the share of a target's variance that comes from its parents.
    seed : int
        Seed of every random choice; the same seed gives the same data.

    Returns
    -------
    SimulatedData

    Raises
    ------
    grnbench.errors.DataValidationError
        For sizes below 2 or an impossible ``n_edges``, or fractions outside (0, 1).

    Notes
    -----
    Memory: the output matrix is ``n_samples x (n_tfs + n_targets)`` float32 (1.1 GB at the
    default shape); the simulation holds about three times that at its peak.
    """
    import anndata as ad
    import scipy.sparse as sp

    if min(n_samples, n_tfs, n_targets) < 2:
        raise DataValidationError(f"simulate_seed_scale: n_samples, n_tfs and n_targets must be >= 2; got "
                                  f"{n_samples}, {n_tfs}, {n_targets}")
    if not n_targets <= n_edges <= n_tfs * n_targets:
        raise DataValidationError(f"simulate_seed_scale: n_edges={n_edges} must lie between n_targets={n_targets} "
                                  f"and n_tfs * n_targets={n_tfs * n_targets}")
    for name, v in (("p_activation", p_activation), ("signal_fraction", signal_fraction)):
        if not 0 < v < 1:
            raise DataValidationError(f"simulate_seed_scale: {name} must lie in (0, 1); got {v}")
    rng = np.random.default_rng(seed)

    # prior: heavy-tailed TF out-degree, every target with >= 1 parent
    deg = _degrees(rng, n_tfs, n_targets, n_edges - n_targets, degree_sigma)
    rows = [rng.choice(n_targets, size=d, replace=False) for d in deg]
    src = np.repeat(np.arange(n_tfs), deg)
    dst = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    first = rng.choice(n_tfs, size=n_targets, replace=True, p=deg / deg.sum())  # guaranteed parent
    src, dst = np.concatenate([src, first]), np.concatenate([dst, np.arange(n_targets)])
    pairs = np.unique(src * n_targets + dst)  # a guaranteed parent may repeat an edge: top up
    while len(pairs) < n_edges:
        extra = rng.integers(0, n_tfs * n_targets, size=n_edges - len(pairs))
        pairs = np.unique(np.concatenate([pairs, extra]))
    if len(pairs) > n_edges:  # rounding gave too many: drop edges of targets that keep another parent
        rng.shuffle(pairs)
        t = pairs % n_targets
        count = np.bincount(t, minlength=n_targets)
        keep = np.ones(len(pairs), dtype=bool)
        extra = len(pairs) - n_edges
        for i in range(len(pairs)):
            if extra == 0:
                break
            if count[t[i]] > 1:
                keep[i], count[t[i]], extra = False, count[t[i]] - 1, extra - 1
        pairs = np.sort(pairs[keep])
    src, dst = pairs // n_targets, pairs % n_targets
    sign = np.where(rng.random(len(src)) < p_activation, 1.0, -1.0)

    # TF expression: shared programs with sparse loadings + TF noise, on a log scale
    loadings = rng.normal(size=(n_programs, n_tfs)) * (rng.random((n_programs, n_tfs)) < 0.2)
    z = rng.standard_normal((n_samples, n_programs)).astype(np.float32)
    x = z @ loadings.astype(np.float32) + rng.standard_normal((n_samples, n_tfs), dtype=np.float32)
    x /= x.std(axis=0, keepdims=True)
    mu = rng.normal(3.0, 1.0, size=n_tfs).astype(np.float32)
    sd = rng.uniform(0.3, 1.0, size=n_tfs).astype(np.float32)
    x = np.clip(mu + sd * x, 0.0, None)

    # targets from their parents: linear + Hill mix, signed, saturating
    k = np.maximum(np.median(x, axis=0), 1e-3)
    hill = x ** 2 / (k ** 2 + x ** 2)
    xs = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-6)
    hs = (hill - hill.mean(axis=0)) / np.maximum(hill.std(axis=0), 1e-6)
    mix = rng.random(len(src))
    strength = rng.lognormal(0.0, 0.5, size=len(src)) * sign
    w_lin = sp.csr_matrix(((1 - mix) * strength, (src, dst)), shape=(n_tfs, n_targets), dtype=np.float32)
    w_hill = sp.csr_matrix((mix * strength, (src, dst)), shape=(n_tfs, n_targets), dtype=np.float32)
    drive = np.asarray((w_lin.T @ xs.T).T, dtype=np.float32)
    drive += np.asarray((w_hill.T @ hs.T).T, dtype=np.float32)
    del xs, hs, hill
    drive /= np.maximum(drive.std(axis=0, keepdims=True), 1e-6)
    signal = np.tanh(drive, out=drive)  # saturation
    signal /= np.maximum(signal.std(axis=0, keepdims=True), 1e-6)
    amp = rng.uniform(0.3, 1.5, size=n_targets).astype(np.float32)
    frac = np.clip(rng.normal(signal_fraction, 0.1, size=n_targets), 0.3, 0.99).astype(np.float32)
    noise_sd = amp * np.sqrt((1 - frac) / frac)
    signal *= amp
    y = signal + rng.standard_normal((n_samples, n_targets), dtype=np.float32) * noise_sd
    var_signal = signal.var(axis=0)
    del signal
    # target means: log-scale levels, at least 3.5 sd above 0 so that the clip at 0 is rare
    y += np.maximum(rng.normal(4.0, 1.5, size=n_targets), 3.5 * amp / np.sqrt(frac)).astype(np.float32)
    np.clip(y, 0.0, None, out=y)
    var_y = y.var(axis=0)

    tf_names = [f"TF{i:04d}" for i in range(n_tfs)]
    target_names = [f"G{i:05d}" for i in range(n_targets)]
    n_parents = np.bincount(dst, minlength=n_targets)
    var = pd.DataFrame({"role": ["TF"] * n_tfs + ["target"] * n_targets,
                        "n_parents": np.concatenate([np.zeros(n_tfs, dtype=np.int64), n_parents])},
                       index=tf_names + target_names)
    obs = pd.DataFrame(index=[f"S{i:05d}" for i in range(n_samples)])
    adata = ad.AnnData(X=np.hstack([x, y]).astype(np.float32, copy=False), obs=obs, var=var)
    adata.uns["simulation"] = {"seed": seed, "n_edges": int(len(src)), "n_programs": n_programs,
                               "degree_sigma": degree_sigma, "p_activation": p_activation,
                               "signal_fraction": signal_fraction}
    names = np.asarray(tf_names + target_names, dtype=object)
    prior = pd.DataFrame({"source": names[src], "target": names[n_tfs + dst], "weight": sign})
    return SimulatedData(adata=adata, prior=prior,
                         signal_r2=pd.Series(var_signal / np.maximum(var_y, 1e-12), index=target_names))
