"""grnbench: do neural models learn gene regulation better than simple baselines?

Subpackages
-----------
data      sources, loaders (AnnData), prior networks, validation
metrics   pure array metrics and bootstrap confidence intervals
models    scikit-learn-style estimators shared across tasks
tasks     one subpackage per benchmark task (datasets, splits, models, metrics)
results   the tidy results table (atomic writes)
runner    papermill orchestration of study.yaml profiles; cli: ``grnbench run|data|list|book``
"""

__version__ = "0.1.0"
