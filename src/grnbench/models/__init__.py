"""Shared scikit-learn-style estimators (fit/predict, random_state)."""

from .base import GeneAwareMixin, seed_everything, torch_threads
from .linear import MLR, MeanRegressor, ParentRidge, RidgeAllTFs
from .mlp import MLPRegressor
from .trees import BatchedXGBRF, TunedXGBRF

__all__ = [
    "GeneAwareMixin",
    "seed_everything",
    "torch_threads",
    "MLR",
    "MeanRegressor",
    "ParentRidge",
    "RidgeAllTFs",
    "MLPRegressor",
    "BatchedXGBRF",
    "TunedXGBRF",
]
