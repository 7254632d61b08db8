"""Shared fixtures: a tiny synthetic task, and access to the real-data mirror.

Tests that need real data use the ``mirror`` fixture, which also gives them the ``mirror``
marker: ``make test`` deselects them (``-m "not mirror"``) and ``make test-real`` runs only
them. Where ``$GRNBENCH_DATA_DIR`` is unset they are skipped — unless
``$GRNBENCH_REQUIRE_DATA=1`` (set by ``make test-real`` and ``.ci/run``), in which case they
fail: a missing mirror is an error, never a skip.
"""

from __future__ import annotations

import os

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from grnbench.tasks.target_expression import build_task_data


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "mirror" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mirror)


@pytest.fixture
def mirror():
    path = os.environ.get("GRNBENCH_DATA_DIR")
    if not path:
        if os.environ.get("GRNBENCH_REQUIRE_DATA") == "1":
            pytest.fail("GRNBENCH_DATA_DIR is not set but GRNBENCH_REQUIRE_DATA=1 (CI must have the data mirror)")
        pytest.skip("real-data test: set GRNBENCH_DATA_DIR to the data mirror (e.g. ../shared/data)")
    return path


def make_adata(n_cells=60, seed=0):
    """Cells x genes, log-scale, with targets driven by their prior parents plus noise."""
    rng = np.random.default_rng(seed)
    tfs = [f"TF{i}" for i in range(6)]
    targets = [f"G{j}" for j in range(8)]
    x = rng.gamma(2.0, 1.0, size=(n_cells, len(tfs)))
    w = np.zeros((len(tfs), len(targets)))
    edges = []
    for j in range(len(targets)):
        parents = rng.choice(len(tfs), size=1 + j % 3, replace=False)
        for i in parents:
            sign = 1.0 if (i + j) % 4 else -1.0
            w[i, j] = sign * rng.uniform(0.5, 1.0)
            edges.append((tfs[i], targets[j], sign))
    y = np.clip(x @ w + 3 + rng.normal(scale=0.3, size=(n_cells, len(targets))), 0, None)
    obs = pd.DataFrame({"cell_type": np.where(np.arange(n_cells) % 4 == 0, "B", "T")},
                       index=[f"c{i}" for i in range(n_cells)])
    adata = ad.AnnData(X=np.hstack([x, y]).astype(np.float32), obs=obs,
                       var=pd.DataFrame(index=tfs + targets))
    adata.uns["scale"] = "synthetic log scale"
    prior = pd.DataFrame(edges, columns=["source", "target", "weight"])
    # an edge to a gene not in the data and a TF not in the data: both must be ignored
    prior = pd.concat([prior, pd.DataFrame([("TF0", "NOT_IN_DATA", 1.0), ("ABSENT_TF", "G0", 1.0)],
                                           columns=prior.columns)], ignore_index=True)
    return adata, prior


@pytest.fixture
def tiny():
    adata, prior = make_adata()
    return build_task_data(adata, prior, dataset="tiny", prior_id="synthetic")


def pytest_configure(config):
    """Neural-model numbers in nbval cells are compared with a measured tolerance (tests/nbval_tolerance.py)."""
    if config.getoption("--nbval-lax", default=False) or config.getoption("--nbval", default=False):
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).parent))
        from nbval.plugin import IPyNbCell
        from nbval_tolerance import install

        install(IPyNbCell)
