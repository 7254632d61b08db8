"""Metrics against hand-computed values, independent implementations and weight semantics."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import mean_absolute_error, r2_score

from grnbench.errors import DataValidationError
from grnbench.metrics import (bootstrap_weights_ci, counts_from_indices, mae, metric_matrix, pearson_r, per_gene_r2,
                              r2_flat, r2_uniform, rmse)
from grnbench.registry import get_metric, metric_ids

# y = [[1, 2], [3, 6]], p = [[1, 3], [2, 6]]
# gene 1: mean 2, SS_tot 2, SSE 1 -> R2 0.5; gene 2: mean 4, SS_tot 8, SSE 1 -> R2 0.875
# flat: 1 - 2/10 = 0.8; uniform: 0.6875; pooled Pearson: cov 13 / sqrt(14 * 14)
Y = np.array([[1.0, 2.0], [3.0, 6.0]])
P = np.array([[1.0, 3.0], [2.0, 6.0]])
HAND = {"r2_flat": 0.8, "r2_uniform": 0.6875, "pearson_r": 13 / 14, "rmse": np.sqrt(0.5), "mae": 0.5}


@pytest.mark.parametrize("metric", metric_ids("target_expression"))
def test_metric_hand_computed(metric):
    assert get_metric(metric, "target_expression").func(Y, P) == pytest.approx(HAND[metric], abs=1e-12)


def test_per_gene_r2_hand_computed():
    np.testing.assert_allclose(per_gene_r2(Y, P), [0.5, 0.875])


def test_metrics_agree_with_sklearn_and_scipy():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(40, 5)) + rng.normal(size=5) * 4
    p = y + rng.normal(size=y.shape)
    assert r2_flat(y, p) == pytest.approx(r2_score(y, p, multioutput="variance_weighted"))
    assert r2_uniform(y, p) == pytest.approx(r2_score(y, p))
    assert pearson_r(y, p) == pytest.approx(stats.pearsonr(y.ravel(), p.ravel())[0])
    assert mae(y, p) == pytest.approx(mean_absolute_error(y.ravel(), p.ravel()))
    assert rmse(y, p) == pytest.approx(np.sqrt(np.mean((y - p) ** 2)))


@pytest.mark.parametrize("metric", metric_ids("target_expression"))
def test_integer_weights_equal_repeated_cells(metric):
    rng = np.random.default_rng(4)
    y = rng.normal(size=(30, 4)) + 2
    p = y + rng.normal(size=y.shape)
    w = rng.integers(0, 4, size=30)
    f = get_metric(metric, "target_expression").func
    assert f(y, p, w) == pytest.approx(f(np.repeat(y, w, axis=0), np.repeat(p, w, axis=0)))


def test_batched_weights_give_one_value_per_row():
    w = np.array([[1, 1], [2, 1], [1, 2]])
    out = r2_flat(Y, P, w)
    assert out.shape == (3,)
    assert out[0] == pytest.approx(0.8)


def test_constant_gene_follows_sklearn_force_finite():
    y = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    exact = y.copy()
    off = y.copy()
    off[:, 1] = 4.0
    assert per_gene_r2(y, exact)[1] == 1.0
    assert per_gene_r2(y, off)[1] == 0.0
    assert r2_uniform(y, off) == pytest.approx(r2_score(y, off))


def test_metric_bad_input():
    with pytest.raises(DataValidationError, match="shape"):
        r2_flat(Y, P[:, :1])
    with pytest.raises(DataValidationError, match="NaN"):
        r2_flat(Y, np.array([[np.nan, 1], [1, 1]]))
    with pytest.raises(DataValidationError, match="weights"):
        r2_flat(Y, P, np.array([1, 2, 3]))


def test_counts_from_indices():
    np.testing.assert_array_equal(counts_from_indices(np.array([[0, 0, 2], [1, 2, 2]]), 3), [[2, 0, 1], [0, 1, 2]])


def test_bootstrap_ci_brackets_the_estimate_and_is_repeatable():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(80, 6)) + 1
    p = y + rng.normal(scale=0.8, size=y.shape)
    stat = metric_matrix([r2_flat, pearson_r], y, [p])
    a = bootstrap_weights_ci(stat, len(y), n_resamples=300, seed=1)
    b = bootstrap_weights_ci(stat, len(y), n_resamples=300, seed=1)
    np.testing.assert_array_equal(a.low, b.low)
    assert np.all(a.low < a.value) and np.all(a.value < a.high)
    np.testing.assert_allclose(a.value, [r2_flat(y, p), pearson_r(y, p)])


def test_bootstrap_of_a_mean_matches_scipy_percentile_interval():
    x = np.random.default_rng(5).normal(size=50)
    ours = bootstrap_weights_ci(lambda w: (w @ x) / w.sum(axis=1), len(x), n_resamples=500, seed=2,
                                method="percentile")
    ref = stats.bootstrap((x,), np.mean, n_resamples=500, method="percentile", rng=np.random.default_rng(2))
    assert ours.low[0] == pytest.approx(ref.confidence_interval.low)
    assert ours.high[0] == pytest.approx(ref.confidence_interval.high)


def test_r2_against_a_reference_test_set():
    rng = np.random.default_rng(6)
    y = rng.normal(size=(25, 3)) + 1
    p = y + rng.normal(scale=0.5, size=y.shape)
    mu = y.mean(axis=0)
    w = rng.integers(0, 3, size=25).astype(float)
    sse = ((y - p) ** 2).sum(axis=1)
    sst = ((y - mu) ** 2).sum(axis=1)
    # r2_flat: ratio of resampled per-cell sums, centred on the reference means
    assert r2_flat(y, p, w, reference=y) == pytest.approx(1 - (w @ sse) / (w @ sst))
    # r2_uniform: resampled mean squared error over the reference variance, gene by gene
    per_gene = 1 - ((w @ (y - p) ** 2) / w.sum()) / y.var(axis=0)
    assert r2_uniform(y, p, w, reference=y) == pytest.approx(per_gene.mean())
    for f in (r2_flat, r2_uniform):  # no weights: the usual R²
        assert f(y, p, reference=y) == pytest.approx(f(y, p))


def test_bootstrap_ci_of_the_mean_predictor_contains_its_estimate():
    rng = np.random.default_rng(7)
    y = rng.normal(size=(60, 4)) + 5
    p = np.tile(y.mean(axis=0) + 0.05, (60, 1))  # a "training mean" slightly off the test mean
    res = bootstrap_weights_ci(metric_matrix([r2_flat, r2_uniform], y, [p]), 60, n_resamples=400, seed=0)
    assert np.all(np.isfinite(res.low)) and np.all(res.low <= res.value) and np.all(res.value <= res.high)


def test_bootstrap_of_a_constant_statistic_collapses_to_it():
    # every test cell correct: each resample scores 1, so the interval is [1, 1] (not NaN)
    from grnbench.metrics.classification import accuracy

    y = np.array([0, 1, 1, 0, 2, 2])
    ci = bootstrap_weights_ci(lambda w: accuracy(y, y, weights=w), len(y), n_resamples=50)
    assert ci.value[0] == ci.low[0] == ci.high[0] == 1.0
