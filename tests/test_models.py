"""Every registered target-expression model on a tiny dataset, plus model-specific checks."""

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, Ridge, RidgeCV
from sklearn.model_selection import KFold

from grnbench.errors import GeneMismatchError
from grnbench.models import MLR, BatchedXGBRF, MLPRegressor, ParentRidge, RidgeAllTFs
from grnbench.models.linear import DEFAULT_ALPHAS
from grnbench.registry import get_model, model_ids

TASK = "target_expression"
MODELS = model_ids(TASK)


def _parts(tiny):
    n = tiny.adata.n_obs
    train, val, test = np.arange(n) < 36, (np.arange(n) >= 36) & (np.arange(n) < 46), np.arange(n) >= 46
    return tiny.X(train), tiny.Y(train), tiny.X(val), tiny.Y(val), tiny.X(test)


def _fit(spec, tiny, seed=0, **params):
    est = spec.build(tiny, **params)
    if spec.stochastic:
        est = clone(est).set_params(random_state=seed)
    xtr, ytr, xv, yv, _ = _parts(tiny)
    return est.fit(xtr, ytr, validation=(xv, yv))


FAST = {"xgbrf": {"n_estimators": 3, "n_tune_targets": 4}, "mlp": {"max_epochs": 30, "hidden": (16,)},
        "lembas": {"updates": 20}, "lembas_seed": {"updates": 20}}


def test_registry_lists_the_fixed_ids():
    assert MODELS == ["mean", "mlr", "ridge", "ridge_parents", "xgbrf_seed", "xgbrf", "mlp", "lembas_seed", "lembas"]


@pytest.mark.parametrize("model", MODELS)
def test_fit_predict_shape_and_determinism(model, tiny):
    spec = get_model(model, TASK)
    params = FAST.get(model, {})
    a = _fit(spec, tiny, **params)
    b = _fit(spec, tiny, **params)
    x_test = _parts(tiny)[4]
    pa, pb = a.predict(x_test), b.predict(x_test)
    assert pa.shape == (len(x_test), len(tiny.targets))
    assert np.isfinite(pa).all()
    np.testing.assert_array_equal(pa, pb)


@pytest.mark.parametrize("model", MODELS)
def test_clone_gives_an_unfitted_copy_with_the_same_params(model, tiny):
    est = get_model(model, TASK).build(tiny)
    copy = clone(est)
    assert type(copy) is type(est)
    assert set(copy.get_params()) == set(est.get_params())
    assert "random_state" in est.get_params()
    assert not hasattr(copy, "n_features_in_")


@pytest.mark.parametrize("model", MODELS)
def test_new_data_with_other_genes_names_them(model, tiny):
    spec = get_model(model, TASK)
    est = _fit(spec, tiny, **FAST.get(model, {}))
    x_test = _parts(tiny)[4]
    bad = x_test.drop(columns=["TF1"]).assign(NEWTF=1.0)
    with pytest.raises(GeneMismatchError, match=r"missing gene\(s\) 'TF1'.*extra gene\(s\) 'NEWTF'"):
        est.predict(bad)
    shuffled = x_test[list(reversed(x_test.columns))]
    np.testing.assert_allclose(est.predict(shuffled), est.predict(x_test))
    with pytest.raises(GeneMismatchError, match="fitted on 6 input genes"):
        est.predict(x_test.to_numpy()[:, :5])


@pytest.mark.parametrize("model", [m for m in MODELS if get_model(m, TASK).stochastic])
def test_stochastic_models_depend_on_the_seed(model, tiny):
    spec = get_model(model, TASK)
    x_test = _parts(tiny)[4]
    p0 = _fit(spec, tiny, seed=0, **FAST.get(model, {})).predict(x_test)
    p1 = _fit(spec, tiny, seed=1, **FAST.get(model, {})).predict(x_test)
    assert not np.array_equal(p0, p1)


def test_mlr_equals_sklearn_least_squares(tiny):
    xtr, ytr = (d.astype(float) for d in _parts(tiny)[:2])  # grnbench models compute in float64
    ref = LinearRegression().fit(xtr, ytr)
    np.testing.assert_allclose(MLR().fit(xtr, ytr).predict(xtr), ref.predict(xtr), atol=1e-8)


def test_ridge_equals_sklearn_ridgecv(tiny):
    xtr, ytr = (d.astype(float) for d in _parts(tiny)[:2])
    ref = RidgeCV(alphas=np.asarray(DEFAULT_ALPHAS), alpha_per_target=True).fit(xtr, ytr)
    ours = RidgeAllTFs().fit(xtr, ytr)
    np.testing.assert_allclose(ours.predict(xtr), ref.predict(xtr), atol=1e-8)
    np.testing.assert_allclose(ours.alpha_, ref.alpha_)


def test_parent_ridge_matches_a_per_target_sklearn_loop():
    rng = np.random.default_rng(1)
    n, p, t = 70, 10, 7
    x = rng.normal(size=(n, p))
    mask = rng.random((p, t)) < 0.35
    mask[:, 0] = False  # a target without parents: predicted by its mean
    y = x @ (rng.normal(size=(p, t)) * mask) + rng.normal(size=(n, t)) * 1.5 + 2
    model = ParentRidge(parents=mask, chunk_size=3).fit(x, y)
    alphas = np.asarray(DEFAULT_ALPHAS)
    folds = list(KFold(5, shuffle=True, random_state=0).split(x))
    for j in range(t):
        par = np.flatnonzero(mask[:, j])
        if len(par) == 0:
            np.testing.assert_allclose(model.predict(x)[:, j], y[:, j].mean())
            assert np.isnan(model.alpha_[j])
            continue
        sse = [sum(((Ridge(alpha=a).fit(x[tr][:, par], y[tr, j]).predict(x[te][:, par]) - y[te, j]) ** 2).sum()
                   for tr, te in folds) for a in alphas]
        best = alphas[int(np.argmin(sse))]
        ref = Ridge(alpha=best).fit(x[:, par], y[:, j])
        assert model.alpha_[j] == best
        np.testing.assert_allclose(model.coef_[par, j], ref.coef_, atol=1e-8)
        assert model.intercept_[j] == pytest.approx(ref.intercept_)
        assert np.all(model.coef_[~mask[:, j], j] == 0)


def test_batched_xgbrf_is_the_seeds_xgbrf_when_one_batch(tiny):
    xtr, ytr = _parts(tiny)[:2]
    ours = BatchedXGBRF(n_estimators=3, random_state=888).fit(xtr, ytr)
    ref = xgb.XGBRFRegressor(n_estimators=3, objective="reg:squarederror", random_state=888, n_jobs=2,
                             tree_method="hist").fit(xtr.to_numpy(), ytr.to_numpy())
    np.testing.assert_allclose(ours.predict(xtr), ref.predict(xtr.to_numpy()), rtol=1e-6)


def test_batched_xgbrf_batches_cover_all_targets(tiny):
    xtr, ytr = _parts(tiny)[:2]
    model = BatchedXGBRF(batch_size=3).fit(xtr, ytr)
    assert [len(b) for b in model.batches_] == [3, 3, 2]
    assert model.predict(xtr).shape == ytr.shape


def test_mlp_stops_early_and_keeps_the_best_epoch():
    rng = np.random.default_rng(2)
    x = pd.DataFrame(rng.normal(size=(80, 5)), columns=list("abcde"))
    y = pd.DataFrame(rng.normal(size=(80, 3)))  # pure noise: validation loss cannot keep improving
    model = MLPRegressor(max_epochs=200, patience=5, hidden=(32,)).fit(x, y)
    assert len(model.history_) < 200
    val = [h[1] for h in model.history_]
    assert model.best_epoch_ == int(np.argmin(val))
    assert len(model.history_) == model.best_epoch_ + 1 + 5


def test_early_stopping_keeps_the_best_state_and_stops_after_patience():
    import torch

    from grnbench.models.base import EarlyStopping

    module = torch.nn.Linear(1, 1)
    stopper = EarlyStopping(patience=2, min_delta=0.01)
    losses = [1.0, 0.5, 0.495, 0.6, 0.4]  # 0.495 is not a gain of more than min_delta
    stops = []
    for epoch, loss in enumerate(losses):
        with torch.no_grad():
            module.weight.fill_(float(epoch))
        stops.append(stopper.step(module, loss, epoch))
    assert stops == [False, False, False, True, False]
    assert stopper.best_epoch == 4 and stopper.best == 0.4
    stopper = EarlyStopping(patience=2, min_delta=0.01)
    for epoch, loss in enumerate(losses[:4]):
        with torch.no_grad():
            module.weight.fill_(float(epoch))
        stopper.step(module, loss, epoch)
    stopper.restore(module)
    assert module.weight.item() == 1.0 and not module.training  # the state of epoch 1 (loss 0.5)
