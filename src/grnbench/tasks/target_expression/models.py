"""Models of the target-expression task (ids fixed).

Every factory takes the task data (:class:`~.datasets.TargetExpressionData`) and returns an
unfitted estimator with ``fit(X, Y, validation=None)`` / ``predict(X)``.
"""

from __future__ import annotations

from ...models import MLR, BatchedXGBRF, MeanRegressor, MLPRegressor, ParentRidge, RidgeAllTFs, TunedXGBRF
from .lembas import LembasRegressor
from ...registry import register_model

TASK = "target_expression"

#: Validation grid of the MLP (each combination trains with early stopping on validation cells).
MLP_GRID = {"dropout": [0.1, 0.5], "weight_decay": [1e-4, 1e-2]}


@register_model("mean", task=TASK, per_target=True, uses_validation=False, is_baseline=True, stochastic=False,
                reference="no-information control", description="each target's training mean")
def mean(data):
    return MeanRegressor()


@register_model("mlr", task=TASK, per_target=True, uses_validation=False, is_baseline=True, stochastic=False,
                reference="LEMBAS-RNN benchmark MLR (sklearn LinearRegression; Langridge 2026)",
                description="least squares on all TFs (minimum-norm when under-determined)")
def mlr(data):
    return MLR()


@register_model("ridge", task=TASK, per_target=True, uses_validation=False, is_baseline=True, stochastic=False,
                reference="Hoerl & Kennard 1970, doi:10.1080/00401706.1970.10488634",
                description="ridge on all TFs, penalty per target by leave-one-out CV")
def ridge(data):
    return RidgeAllTFs()


@register_model("ridge_parents", task=TASK, per_target=True, uses_validation=False, is_baseline=True, stochastic=False,
                reference="Hoerl & Kennard 1970; prior-masked linear control (this study)",
                description="ridge per target on its prior parents only, penalty by 5-fold CV")
def ridge_parents(data):
    return ParentRidge(parents=data.parents)


@register_model("xgbrf_seed", task=TASK, per_target=True, uses_validation=False, is_baseline=True, stochastic=False,
                reference="LEMBAS-RNN benchmark XGBRF (Langridge 2026); Chen & Guestrin 2016, doi:10.1145/2939672.2939785",
                description="the seed's XGBRF: 3 trees, reg:squarederror, random_state=888, batches of 1,000 targets")
def xgbrf_seed(data):
    return BatchedXGBRF(n_estimators=3, batch_size=1000, random_state=888)


@register_model("xgbrf", task=TASK, per_target=True, is_baseline=True, stochastic=True,
                reference="Chen & Guestrin 2016, doi:10.1145/2939672.2939785; Breiman 2001, doi:10.1023/A:1010933404324",
                description="XGBRF, 20 trees per target, 64 bins; depth and column sampling tuned on validation cells (50 targets)")
def xgbrf(data):
    return TunedXGBRF(n_estimators=20)


@register_model("mlp", task=TASK, is_baseline=False, stochastic=True,
                reference="multi-output MLP, Adam (Kingma & Ba 2015), early stopping",
                description="torch MLP, all TFs -> all targets, 256 hidden units, early stopping; dropout and weight decay tuned on validation")
def mlp(data):
    return MLPRegressor(param_grid=MLP_GRID)


@register_model("lembas_seed", task=TASK, is_baseline=False, stochastic=True, controls=("ridge_parents", "mlr"),
                reference="LEMBAS-RNN benchmark settings (Langridge 2026); Nilsson et al. 2022, doi:10.1038/s41467-022-30684-y",
                description="LEMBAS RNN with the seed's settings: max_steps=10, target_steps=150, exp_factor=50, "
                            "leak=0.01, tolerance 1e-20 (spectral target 0.736)")
def lembas_seed(data):
    return LembasRegressor(network=data.network, max_steps=10, tol=1e-20, target_steps=150, epsilon=1e-20,
                           exp_factor=50.0, leak=0.01, updates=800)


@register_model("lembas", task=TASK, is_baseline=False, stochastic=True, controls=("ridge_parents", "mlr"),
                reference="Nilsson et al. 2022, doi:10.1038/s41467-022-30684-y",
                description="LEMBAS RNN run to a steady state: up to 150 steps, tol 1e-6, spectral target 0.940 "
                            "(epsilon 1e-4, 150 steps), exp_factor=20")
def lembas(data):
    return LembasRegressor(network=data.network, max_steps=150, tol=1e-6, target_steps=150, epsilon=1e-4,
                           exp_factor=20.0, leak=0.01, updates=800, warm_start=True)
