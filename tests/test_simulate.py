"""The seed-scale simulator: shape, prior, determinism, that targets follow their parents, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from grnbench.data.simulate import SEED_SCALE, simulate_seed_scale
from grnbench.errors import DataValidationError


@pytest.fixture(scope="module")
def sim():
    return simulate_seed_scale(1500, 60, 400, 6000, seed=3)


def test_shape_and_prior(sim):
    a, prior = sim.adata, sim.prior
    assert a.shape == (1500, 460) and a.X.dtype == np.float32
    assert (a.var["role"] == "TF").sum() == 60 and (a.var["role"] == "target").sum() == 400
    assert len(prior) == 6000 and not prior.duplicated(["source", "target"]).any()
    assert set(prior["source"]) <= set(a.var_names[:60]) and set(prior["target"]) == set(a.var_names[60:])
    assert set(prior["weight"]) == {-1.0, 1.0} and 0.65 < (prior["weight"] > 0).mean() < 0.85
    n_par = prior.groupby("target").size().reindex(a.var_names[60:])
    assert (n_par.to_numpy() == a.var["n_parents"].to_numpy()[60:]).all()
    deg = prior.groupby("source").size()
    assert deg.max() > 5 * deg.median()  # heavy-tailed out-degree
    assert np.isfinite(a.X).all() and a.X.min() >= 0


def test_same_seed_same_data_other_seed_other_data(sim):
    again = simulate_seed_scale(1500, 60, 400, 6000, seed=3)
    assert np.array_equal(again.adata.X, sim.adata.X) and again.prior.equals(sim.prior)
    other = simulate_seed_scale(1500, 60, 400, 6000, seed=4)
    assert not np.array_equal(other.adata.X, sim.adata.X)


def test_targets_follow_their_parents(sim):
    """Least squares on a target's prior parents explains far more than on as many other TFs."""
    a, prior = sim.adata, sim.prior
    x = a.X[:, :60].astype(np.float64)
    col = {g: i for i, g in enumerate(a.var_names[:60])}
    rng = np.random.default_rng(0)

    def r2(cols, y):
        design = np.column_stack([np.ones(len(y)), x[:, cols]])
        resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
        return 1 - resid.var() / y.var()

    own, other = [], []
    for g in a.var_names[60:120]:
        parents = [col[s] for s in prior.loc[prior["target"] == g, "source"]]
        rest = rng.choice(sorted(set(range(60)) - set(parents)), size=min(len(parents), 60 - len(parents)),
                          replace=False)
        y = a[:, g].X.ravel().astype(np.float64)
        own.append(r2(parents, y))
        other.append(r2(list(rest), y))
    assert np.mean(own) > np.mean(other) + 0.2
    assert np.mean(own) <= sim.signal_r2.iloc[:60].mean() + 0.05  # the noise caps what a model can reach
    assert 0.7 < sim.signal_r2.mean() < 0.9  # signal_fraction 0.8 by default


def test_default_shape_is_the_seed_benchmark():
    assert SEED_SCALE == {"n_samples": 15_935, "n_tfs": 1_197, "n_targets": 16_100, "n_edges": 1_153_904}


def test_bad_input():
    with pytest.raises(DataValidationError, match="n_edges=10 must lie between"):
        simulate_seed_scale(100, 5, 20, 10)
    with pytest.raises(DataValidationError, match=">= 2"):
        simulate_seed_scale(1, 5, 20, 40)
    with pytest.raises(DataValidationError, match="signal_fraction must lie in"):
        simulate_seed_scale(100, 5, 20, 40, signal_fraction=1.0)
