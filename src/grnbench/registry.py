"""Explicit registries of datasets, models and metrics (openproblems style).

Each entry is registered with a decorator that names its id and metadata::

    @register_model("ridge_parents", task="target_expression", is_baseline=True,
                    reference="doi:10.1080/00401706.1970.10488634")
    def ridge_parents(data):
        return ParentRidge(parents=data.parents)

Tests parametrise over :func:`model_ids`, :func:`metric_ids` and :func:`dataset_ids`, so a
newly registered entry gets its tests for free. Registration happens when the defining
module is imported. The registry is a leaf: it imports no other grnbench module. Which modules
register entries is decided above it, by :mod:`grnbench.catalog` (the data modules, each task's
``models`` and ``metrics``, and users' cards), which the package installs as the registry's
loader (:func:`set_loader`); cards add entries through :func:`add_dataset` / :func:`add_prior`.
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
    "display_order",
    "tasks",
    "add_dataset",
    "add_prior",
    "set_loader",
]


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset or prior network: the fields of its card (:mod:`grnbench.data.cards`).

    Attributes
    ----------
    id : str
        Fixed id (e.g. ``"hhep"``, ``"collectri"``).
    loader : callable or None
        Custom loader (``loader() -> AnnData`` or ``-> DataFrame`` for priors); None for
        card-based entries, which the generic loader reads by ``format``.
    description : str
        One line for tables and the book.
    organism : str
        ``"human"`` or ``"mouse"``.
    gene_ids : str
        Kind of gene identifier (``symbol``, ``ensembl``, ``uniprot``).
    embedded : bool
        True if the data ship with a pip-installed package (works offline).
    sources : tuple
        :class:`grnbench.data.sources.Source` objects the loader reads.
    source_names : tuple of str
        A name per source (the reader's key for it).
    format : str
        Reader of the generic loader (``h5ad``, ``csv_genes_by_cells``, ...).
    reader : dict
        Options of the reader.
    layer : str or None
        Matrix used as ``.X``: None (``.X``), ``"raw"`` or a layer name.
    scale : str
        What that matrix holds (:data:`grnbench.data.cards.SCALES`).
    scale_note : str
        The scale in words, kept in ``uns['scale']``.
    obs : dict
        ``new name -> column`` of the obs columns kept (all if empty).
    label_key : str or None
        Cell-type label column.
    ood : dict or None
        Held-out group ``{"obs_key", "test"[, "train"]}`` of the ``ood`` splits.
    prior : str or None
        Prior network id the dataset pairs with.
    explain_genes : tuple of str
        Targets explained with SHAP.
    tasks : dict
        Task id -> task-specific settings.
    citation : str
        Publication(s) with DOI.
    licence : str
        Licence as stated by the distributing repository.
    card : str
        The card file (empty for entries registered in code).
    """

    id: str
    loader: Callable[..., Any] | None = None
    description: str = ""
    organism: str = "human"
    gene_ids: str = "symbol"
    embedded: bool = False
    sources: tuple = ()
    source_names: tuple = ()
    format: str = ""
    reader: dict = field(default_factory=dict)
    layer: str | None = None
    scale: str = "log1p"
    scale_note: str = ""
    obs: dict = field(default_factory=dict)
    label_key: str | None = None
    ood: dict | None = None
    prior: str | None = None
    explain_genes: tuple = ()
    tasks: dict = field(default_factory=dict)
    citation: str = ""
    licence: str = ""
    card: str = ""

    def task_settings(self, task: str) -> dict:
        """Settings of ``task`` from the card (empty if none)."""
        return dict(self.tasks.get(task) or {})


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
    controls : tuple of str
        Controls this model is always compared with (paired bootstrap), besides the best
        control of the split (e.g. the RNN against the linear model on the same parents).
    chance : bool
        A chance-level control (random scores or genes): compared against, never "the best control".
    ensemble_of : str, optional
        Id of a stochastic model whose fitted seeds this model combines (no refit); the
        factory's estimator class provides ``from_members(members, validation=None)``.
    ablations : dict of str -> tuple
        ``parameter -> alternative values``: the engine refits the model with each value
        (``ablation_seeds``) and reports them next to the default.
    uses_validation : bool
        False for models that neither tune nor stop early on the validation units; the engine
        then fits them on all non-test units (training plus validation).
    """

    id: str
    task: str
    factory: Callable[..., Any]
    is_baseline: bool = True
    stochastic: bool = False
    per_target: bool = False
    reference: str = ""
    description: str = ""
    controls: tuple = ()
    chance: bool = False
    ensemble_of: str | None = None
    ablations: dict = field(default_factory=dict)
    uses_validation: bool = True

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
    per_task: bool = False
    entries: dict[tuple[str, str], Any] = field(default_factory=dict)

    def add(self, key: tuple[str, str], spec: Any) -> None:
        if key in self.entries:
            raise ValueError(f"{self.kind} {key[1]!r} is already registered for {key[0] or 'all tasks'!r}")
        self.entries[key] = spec

    def get(self, key: tuple[str, str]) -> Any:
        _ensure_loaded(key[0] if self.per_task else "")
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
        _ensure_loaded(task if self.per_task else "")
        return [k[1] for k in self.entries if task is None or k[0] == task]


_DATASETS = _Registry("dataset")
_PRIORS = _Registry("prior")
_MODELS = _Registry("model", per_task=True)
_METRICS = _Registry("metric", per_task=True)
#: ``"module:function"`` that imports the registering modules (set by the package: grnbench.catalog).
_LOADER: list = []


def set_loader(ref: str) -> None:
    """Name the function that imports the modules registering entries: ``"module:function"``.

    ``function(task)`` is called before every lookup; ``task`` is a task id, ``""`` (datasets and
    priors only) or None (everything). The package sets ``"grnbench.catalog:ensure_loaded"``.
    """
    _LOADER[:] = [ref]


def _ensure_loaded(task: str | None = None) -> None:
    if _LOADER:
        module, func = _LOADER[0].split(":")
        getattr(importlib.import_module(module), func)(task)


def _add(registry: _Registry, spec: DatasetSpec, replace: bool, is_builtin: Callable[[DatasetSpec], bool]) -> None:
    key = ("", spec.id)
    if key in registry.entries:
        old = registry.entries[key]
        if old.card != spec.card and (is_builtin(old) or not replace):
            raise ValueError(f"card {spec.card}: {registry.kind} id {spec.id!r} is already registered "
                             f"(by {old.card or 'grnbench'}); choose another id")
        del registry.entries[key]
    registry.add(key, spec)


def add_dataset(spec: DatasetSpec, *, replace: bool = False, is_builtin: Callable | None = None) -> None:
    """Add (or, with ``replace``, replace) a dataset entry, e.g. from a card.

    Parameters
    ----------
    spec : DatasetSpec
    replace : bool
        Replace an entry of the same id that came from another card (re-reading a user's card).
    is_builtin : callable, optional
        ``is_builtin(old_spec) -> bool``: entries it accepts are never replaced.

    Raises
    ------
    ValueError
        If the id is taken by a built-in entry, or by another card without ``replace``.
    """
    _add(_DATASETS, spec, replace, is_builtin or (lambda old: not old.card))


def add_prior(spec: DatasetSpec, *, replace: bool = False, is_builtin: Callable | None = None) -> None:
    """Add (or replace) a prior-network entry; as :func:`add_dataset`."""
    _add(_PRIORS, spec, replace, is_builtin or (lambda old: not old.card))


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


def display_order(task: str, present=None) -> list[str]:
    """Model ids of ``task`` in display order: chance-level controls, other controls, then the rest.

    Within each group the registration order is kept. ``present`` (optional) restricts the
    list to these ids; ids not registered for the task are appended in their given order.
    """
    ids = model_ids(task)
    specs = [get_model(m, task) for m in ids]
    order = ([s.id for s in specs if s.chance] + [s.id for s in specs if s.is_baseline and not s.chance]
             + [s.id for s in specs if not s.is_baseline])
    if present is None:
        return order
    present = list(dict.fromkeys(present))
    return [m for m in order if m in present] + [m for m in present if m not in order]
