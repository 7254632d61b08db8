"""grnbench: do neural models learn gene regulation better than simple baselines?

Subpackages
-----------
data      sources, loaders (AnnData), prior networks, validation
metrics   pure array metrics and bootstrap confidence intervals
models    scikit-learn-style estimators shared across tasks
tasks     one subpackage per benchmark task (datasets, splits, models, metrics)
results   the tidy results table (atomic writes)
registry  ids of datasets, priors, models and metrics (a leaf); catalog decides what registers them
engine    one benchmark loop for every task; units (one fit each) on Dask (compute), kept in a store (units)
study     study.yaml: templates, profiles, id checks; runner: papermill execution; book: the Jupyter Book;
          status: which stages are current; cli: ``grnbench run|status|data|list|book``
"""

from . import registry as _registry

_registry.set_loader("grnbench.catalog:ensure_loaded")

__version__ = "0.1.0"
