"""Explicit registries of datasets, models and metrics (openproblems style).

Each entry is registered with a decorator that names its id and metadata::

    @register_model("ridge_parents", task="target_expression", is_baseline=True,
                    reference="doi:10.1080/00401706.1970.10488634")
    def ridge_parents(data):
        return ParentRidge(parents=data.parents)

Tests parametrise over :func:`model_ids`, :func:`metric_ids` and :func:`dataset_ids`, so a
newly registered entry gets its tests for free. Registration happens when the defining
module is imported; :func:`_ensure_loaded` imports the modules listed in
``_REGISTERING_MODULES`` (an explicit list, no discovery magic).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import UnknownIdError

__all__ = [
    "DatasetSpec",
    "ModelSpec",
    "MetricSpec",
    "register_dataset",
    "register_prior",
    "register_model",
    "register_metric",
    "get_dataset",
    "get_prior",
    "get_model",
    "get_metric",
    "dataset_ids",
    "prior_ids",
    "model_ids",
    "metric_ids",
    "tasks",
]

#: Modules whose import registers entries. Add a new task's modules here.
_REGISTERING_MODULES = (
    "grnbench.data.datasets",
    "grnbench.data.beeline",
    "grnbench.data.priors",
    "grnbench.tasks.target_expression.models",
    "grnbench.tasks.target_expression.metrics",
    "grnbench.tasks.cell_type_markers.models",
    "grnbench.tasks.cell_type_markers.metrics",
    "grnbench.tasks.edge_classification.models",
    "grnbench.tasks.edge_classification.metrics",
)


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset or prior network.

    Attributes
    ----------
    id : str
        Fixed id (e.g. ``"hhep"``, ``"collectri"``).
    loader : callable
        ``loader(**kwargs) -> anndata.AnnData`` for datasets; ``loader() ->
        pandas.DataFrame`` (tidy ``source, target, weight``) for priors.
    description : str
        One line for tables and the book.
    species : str
        ``"human"`` or ``"mouse"``.
    embedded : bool
        True if the data ship with a pip-installed package (works offline).
    sources : tuple
        :class:`grnbench.data.sources.Source` objects the loader reads.
    citation : str
        Publication(s) with DOI.
    licence : str
        Licence as stated by the distributing repository.
    """

    id: str
    loader: Callable[..., Any]
    description: str = ""
    species: str = "human"
    embedded: bool = False
    sources: tuple = ()
    citation: str = ""
    licence: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: a factory that builds an unfitted scikit-learn-style estimator.

    Attributes
    ----------
    id : str
        Fixed model id, unique within its task.
    task : str
        Task id (e.g. ``"target_expression"``).
    factory : callable
        ``factory(data) -> estimator``; ``data`` is the task's data object, so models
        that need the prior network (e.g. ``ridge_parents``) can read it.
    is_baseline : bool
        True for controls and baselines, False for the seed/neural systems.
    stochastic : bool
        True if ``random_state`` changes the fit (then it runs with several seeds).
    per_target : bool
        True if each target's prediction depends only on that target's training values
        (so a fit on one target explains that target exactly as the full fit does, up to
        seeded sampling); used by the SHAP notebook.
    reference : str
        Paper or DOI the method comes from.
    description : str
        One line for tables and the book.
    """

    id: str
    task: str
    factory: Callable[..., Any]
    is_baseline: bool = True
    stochastic: bool = False
    per_target: bool = False
    reference: str = ""
    description: str = ""

    def build(self, data: Any, **params: Any) -> Any:
        """Return a new unfitted estimator for ``data`` with ``params`` set."""
        est = self.factory(data)
        if params:
            est.set_params(**params)
        return est


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric: a pure array function.

    Attributes
    ----------
    id : str
        Fixed metric id, unique within its task.
    task : str
        Task id.
    func : callable
        ``func(y_true, y_pred, weights=None) -> float`` (or an array when ``weights``
        is a 2-D batch of bootstrap weights).
    maximize : bool
        True if larger is better.
    reference : str
        Definition source.
    description : str
        One line for tables and the book.
    """

    id: str
    task: str
    func: Callable[..., Any]
    maximize: bool = True
    reference: str = ""
    description: str = ""


@dataclass
class _Registry:
    kind: str
    entries: dict[tuple[str, str], Any] = field(default_factory=dict)

    def add(self, key: tuple[str, str], spec: Any) -> None:
        if key in self.entries:
            raise ValueError(f"{self.kind} {key[1]!r} is already registered for {key[0] or 'all tasks'!r}")
        self.entries[key] = spec

    def get(self, key: tuple[str, str]) -> Any:
        _ensure_loaded()
        try:
            return self.entries[key]
        except KeyError:
            task, name = key
            known = sorted(k[1] for k in self.entries if k[0] == task)
            where = f" for task {task!r}" if task else ""
            raise UnknownIdError(
                f"unknown {self.kind} id {name!r}{where}; registered: {', '.join(known) or 'none'}"
            ) from None

    def ids(self, task: str | None) -> list[str]:
        _ensure_loaded()
        return [k[1] for k in self.entries if task is None or k[0] == task]


_DATASETS = _Registry("dataset")
_PRIORS = _Registry("prior")
_MODELS = _Registry("model")
_METRICS = _Registry("metric")
_loaded = False


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _REGISTERING_MODULES:
        importlib.import_module(module)


def register_dataset(id: str, **meta: Any) -> Callable:
    """Register a dataset loader under ``id`` (decorator); see :class:`DatasetSpec`."""

    def deco(loader: Callable) -> Callable:
        _DATASETS.add(("", id), DatasetSpec(id=id, loader=loader, **meta))
        return loader

    return deco


def register_prior(id: str, **meta: Any) -> Callable:
    """Register a prior-network loader under ``id`` (decorator); see :class:`DatasetSpec`."""

    def deco(loader: Callable) -> Callable:
        _PRIORS.add(("", id), DatasetSpec(id=id, loader=loader, **meta))
        return loader

    return deco


def register_model(id: str, *, task: str, **meta: Any) -> Callable:
    """Register a model factory under ``(task, id)`` (decorator); see :class:`ModelSpec`."""

    def deco(factory: Callable) -> Callable:
        _MODELS.add((task, id), ModelSpec(id=id, task=task, factory=factory, **meta))
        return factory

    return deco


def register_metric(id: str, *, task: str, **meta: Any) -> Callable:
    """Register a metric function under ``(task, id)`` (decorator); see :class:`MetricSpec`."""

    def deco(func: Callable) -> Callable:
        _METRICS.add((task, id), MetricSpec(id=id, task=task, func=func, **meta))
        return func

    return deco


def get_dataset(id: str) -> DatasetSpec:
    """Return the :class:`DatasetSpec` registered as ``id``.

    Raises
    ------
    grnbench.errors.UnknownIdError
        If ``id`` is not registered (the message lists the registered ids).
    """
    return _DATASETS.get(("", id))


def get_prior(id: str) -> DatasetSpec:
    """Return the prior network registered as ``id``.

    Raises
    ------
    grnbench.errors.UnknownIdError
        If ``id`` is not registered (the message lists the registered ids).
    """
    return _PRIORS.get(("", id))


def get_model(id: str, task: str) -> ModelSpec:
    """Return the :class:`ModelSpec` registered as ``id`` for ``task``.

    Raises
    ------
    grnbench.errors.UnknownIdError
        If no such model is registered for the task.
    """
    return _MODELS.get((task, id))


def get_metric(id: str, task: str) -> MetricSpec:
    """Return the :class:`MetricSpec` registered as ``id`` for ``task``.

    Raises
    ------
    grnbench.errors.UnknownIdError
        If no such metric is registered for the task.
    """
    return _METRICS.get((task, id))


def dataset_ids() -> list[str]:
    """Ids of all registered datasets, in registration order."""
    return _DATASETS.ids(None)


def prior_ids() -> list[str]:
    """Ids of all registered prior networks, in registration order."""
    return _PRIORS.ids(None)


def model_ids(task: str | None = None) -> list[str]:
    """Ids of the models registered for ``task`` (all tasks if None), in registration order."""
    return _MODELS.ids(task)


def metric_ids(task: str | None = None) -> list[str]:
    """Ids of the metrics registered for ``task`` (all tasks if None), in registration order."""
    return _METRICS.ids(task)


def tasks() -> list[str]:
    """Task ids that have at least one registered model."""
    _ensure_loaded()
    return list(dict.fromkeys(k[0] for k in _MODELS.entries))
