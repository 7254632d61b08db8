"""TF -> target edge classifiers: the two-tower model and its controls.

Every model is a scikit-learn estimator on a *pair table* ``X`` (a DataFrame with columns
``tf`` and ``target``, gene names) and 0/1 labels ``y``: ``fit(X, y, validation=None)``,
``predict_proba(X)`` of shape (n_pairs, 2), ``predict(X)`` with the decision threshold
``threshold_`` (chosen to maximise F1 on the validation pairs when given, else 0.5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ...errors import DataValidationError, format_names
from ...metrics.binary import best_f1_threshold
from ...models.base import EarlyStopping, seed_everything, show_progress, torch_threads
from ...models.device import resolve_device

__all__ = ["DegreeScorer", "PairFeatureClassifier", "RandomScorer", "TwoTowerClassifier", "TwoTowerEnsemble",
           "check_pairs"]


def check_pairs(X, y=None, genes=None, name="pairs"):
    """Validate a pair table (and labels); return ``(X, y)`` with ``y`` as an int array.

    Raises
    ------
    grnbench.errors.DataValidationError
        Missing ``tf``/``target`` columns, labels that are not 0/1, a class absent from
        the labels, or genes not in ``genes``.
    """
    if not isinstance(X, pd.DataFrame) or not {"tf", "target"} <= set(X.columns):
        raise DataValidationError(f"{name}: expected a DataFrame with columns 'tf' and 'target'")
    if genes is not None:
        absent = sorted((set(X["tf"]) | set(X["target"])) - set(genes))
        if absent:
            raise DataValidationError(f"{name}: gene(s) {format_names(absent)} are not in the expression matrix")
    if y is None:
        return X, None
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise DataValidationError(f"{name}: {len(X)} pairs but labels of shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise DataValidationError(f"{name}: labels must be 0/1")
    for cls, label in ((1, "positive"), (0, "negative")):
        if not (y == cls).any():
            raise DataValidationError(f"{name}: no {label} pairs (empty class)")
    return X, y.astype(int)


class _PairModel(ClassifierMixin, BaseEstimator):
    def _set_threshold(self, validation):
        self.threshold_ = 0.5
        if validation is not None:
            xv, yv = check_pairs(validation[0], validation[1], name="validation pairs")
            self.threshold_ = best_f1_threshold(yv, self.predict_proba(xv)[:, 1])

    def predict(self, X):
        """0/1 labels: ``predict_proba(X)[:, 1] >= threshold_``."""
        check_is_fitted(self, "threshold_")
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)


def _proba(p):
    p = np.asarray(p, dtype=float)
    return np.column_stack([1 - p, p])


class DegreeScorer(_PairModel):
    """Model-free degree control: score = positive training edges of the TF + those of the target.

    Uses no expression. Under the transductive GENELink split every test TF and target is seen in
    training, so node degree alone is a strong predictor (Stock et al. 2025, "Hidden sampling
    biases inflate performance in gene regulatory network inference", bioRxiv). Scores are
    divided by (max training score + 1) to lie in [0, 1).

    Parameters
    ----------
    random_state : int, optional
        Unused (deterministic).
    """

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y, validation=None):
        """Count positive training edges per TF and per target."""
        X, y = check_pairs(X, y)
        pos = X[y == 1]
        self.tf_degree_ = pos["tf"].value_counts()
        self.target_degree_ = pos["target"].value_counts()
        self.scale_ = float((self.tf_degree_.max() if len(self.tf_degree_) else 0)
                            + (self.target_degree_.max() if len(self.target_degree_) else 0) + 1)
        self.classes_ = np.array([0, 1])
        self._set_threshold(validation)
        return self

    def predict_proba(self, X):
        """Shape (n_pairs, 2); column 1 = normalised degree score."""
        check_is_fitted(self, "scale_")
        X, _ = check_pairs(X)
        s = X["tf"].map(self.tf_degree_).fillna(0).to_numpy() + X["target"].map(self.target_degree_).fillna(0).to_numpy()
        return _proba(s / self.scale_)


class RandomScorer(_PairModel):
    """Uniform random scores (seeded): the chance level of every metric."""

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X, y, validation=None):
        check_pairs(X, y)
        self.classes_ = np.array([0, 1])
        self._calls = 0
        self._set_threshold(validation)
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "classes_")
        X, _ = check_pairs(X)
        rng = np.random.default_rng([int(self.random_state or 0), self._calls])
        self._calls += 1
        return _proba(rng.random(len(X)))


class PairFeatureClassifier(_PairModel):
    """Logistic regression or XGBoost on expression pair features (fitted on training pairs only).

    Features (:data:`grnbench.tasks.edge_classification.features.PAIR_FEATURES`): Pearson,
    Spearman, binned mutual information, TF and target mean and variance.

    Parameters
    ----------
    expression : pandas.DataFrame
        Cells x genes, log scale.
    kind : {"logreg", "xgb"}
        Standardised L2 logistic regression (C = 1), or XGBoost (Chen & Guestrin 2016,
        doi:10.1145/2939672.2939785; 300 trees, depth 4, learning rate 0.05, hist).
    n_jobs : int
        XGBoost threads.
    random_state : int
    """

    def __init__(self, expression=None, kind="logreg", n_jobs=2, random_state=0):
        self.expression = expression
        self.kind = kind
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _features(self, X):
        from .features import PairFeaturizer

        if getattr(self, "_featurizer", None) is None:
            if self.expression is None:
                raise DataValidationError("PairFeatureClassifier needs the expression matrix (expression=...)")
            self._featurizer = PairFeaturizer(self.expression)
        return self._featurizer.transform(X)

    def fit(self, X, y, validation=None):
        """Compute pair features of the training pairs and fit the classifier."""
        X, y = check_pairs(X, y)
        self._featurizer = None
        f = self._features(X)
        if self.kind == "logreg":
            self.model_ = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(f, y)
        elif self.kind == "xgb":
            from xgboost import XGBClassifier

            self.model_ = XGBClassifier(n_estimators=300, max_depth=4, learning_rate=0.05, subsample=0.8,
                                        tree_method="hist", n_jobs=self.n_jobs, random_state=self.random_state,
                                        eval_metric="logloss").fit(f, y)
        else:
            raise DataValidationError(f"unknown pair classifier kind {self.kind!r} (logreg, xgb)")
        self.classes_ = np.array([0, 1])
        self._set_threshold(validation)
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        X, _ = check_pairs(X)
        return self.model_.predict_proba(self._features(X))


class TwoTowerClassifier(_PairModel):
    """Two-tower TF -> target scorer with learnable gene embeddings (the seed system).

    Each gene's input is a learnable embedding (one table shared by both towers) concatenated
    with its expression profile (``gene_features``); a TF tower and a target tower (MLPs) map
    inputs to vectors ``u``, ``v``; the logit is ``cos(u, v) / tau`` and the probability its
    sigmoid. Binary cross-entropy, Adam, early stopping on the validation loss.

    Parameters
    ----------
    gene_features : pandas.DataFrame
        Genes x features (label-free expression profiles, e.g.
        :func:`grnbench.tasks.edge_classification.datasets.gene_profiles`).
    inputs : {"both", "embedding", "expression"}
        Ablation: which per-gene inputs the towers see.
    emb_dim : int
        Embedding dimension (the seed: 512).
    hidden : tuple of int
        Hidden widths of each tower (the seed: (2048, 1024)).
    out_dim : int
        Output dimension of each tower (the seed: 512).
    tau : float
        Cosine temperature (the seed: 0.05).
    dropout, lr, weight_decay, batch_size, max_epochs, patience, n_threads, progress
        Training settings (the seed: Adam lr 0.005, weight decay 0.01).
    random_state : int
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``
        (:func:`grnbench.models.device.resolve_device`); the fitted network is kept on the CPU.

    Attributes
    ----------
    best_epoch_ : int
    history_ : list of dict
        Training and validation loss per epoch.
    device_ : str
        Where it trained.
    """

    def __init__(self, gene_features=None, inputs="both", emb_dim=64, hidden=(256,), out_dim=64, tau=0.05, dropout=0.1,
                 lr=1e-3, weight_decay=1e-4, batch_size=512, max_epochs=60, patience=8, n_threads=1, progress=None,
                 random_state=0, device="auto"):
        self.gene_features = gene_features
        self.inputs = inputs
        self.emb_dim = emb_dim
        self.hidden = hidden
        self.out_dim = out_dim
        self.tau = tau
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.n_threads = n_threads
        self.progress = progress
        self.random_state = random_state
        self.device = device

    def _module(self, n_genes, n_feat):
        import torch
        import torch.nn as nn

        use_emb = self.inputs in ("both", "embedding")
        use_feat = self.inputs in ("both", "expression")
        if not (use_emb or use_feat):
            raise DataValidationError(f"inputs must be 'both', 'embedding' or 'expression', got {self.inputs!r}")
        width = (self.emb_dim if use_emb else 0) + (n_feat if use_feat else 0)

        def tower():
            layers, w = [], width
            for h in self.hidden:
                layers += [nn.Linear(w, h), nn.ReLU(), nn.Dropout(self.dropout)]
                w = h
            layers.append(nn.Linear(w, self.out_dim))
            return nn.Sequential(*layers)

        tau, emb_dim = self.tau, self.emb_dim if use_emb else 1

        class TwoTower(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(n_genes, emb_dim)  # unused for inputs="expression"
                nn.init.normal_(self.embedding.weight, std=0.1)
                self.tf_tower, self.target_tower = tower(), tower()

            def gene_input(self, idx, feats):
                parts = []
                if use_emb:
                    parts.append(self.embedding(idx))
                if use_feat:
                    parts.append(feats[idx])
                return torch.cat(parts, dim=1)

            def forward(self, a, b, feats):
                u = self.tf_tower(self.gene_input(a, feats))
                v = self.target_tower(self.gene_input(b, feats))
                return nn.functional.cosine_similarity(u, v, dim=1) / tau

        return TwoTower()

    def _index(self, X):
        X, _ = check_pairs(X, genes=self.genes_)
        return self.genes_.get_indexer(X["tf"]), self.genes_.get_indexer(X["target"])

    def fit(self, X, y, validation=None):
        """Train on training pairs; early stopping (and the F1 threshold) on ``validation`` pairs.

        Raises
        ------
        grnbench.errors.DataValidationError
            Missing ``gene_features``, pair genes absent from them, labels not 0/1, an empty class.
        """
        import torch
        import torch.nn as nn
        from tqdm.auto import tqdm

        if self.gene_features is None:
            raise DataValidationError("TwoTowerClassifier needs gene_features (genes x features)")
        self.genes_ = pd.Index(self.gene_features.index)
        X, y = check_pairs(X, y, genes=self.genes_, name="training pairs")
        if validation is None:
            rng = np.random.default_rng(self.random_state)
            mask = rng.random(len(X)) < 0.15
            validation = (X[mask], y[mask])
            X, y = X[~mask], y[~mask]
        xv, yv = check_pairs(validation[0], validation[1], genes=self.genes_, name="validation pairs")
        self.classes_ = np.array([0, 1])
        dev = resolve_device(self.device)
        with torch_threads(self.n_threads):
            seed_everything(self.random_state)
            feats = torch.as_tensor(self.gene_features.to_numpy(dtype=np.float32))
            module = self._module(len(self.genes_), feats.shape[1]).to(dev)
            a, b = (torch.as_tensor(i) for i in self._index(X))
            av, bv = (torch.as_tensor(i) for i in self._index(xv))
            yt, yvt = torch.as_tensor(y, dtype=torch.float32), torch.as_tensor(yv, dtype=torch.float32)
            feats_dev, a, b, av, bv, yt, yvt = (t.to(dev) for t in (feats, a, b, av, bv, yt, yvt))
            opt = torch.optim.Adam(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            loss_fn = nn.BCEWithLogitsLoss()
            gen = torch.Generator().manual_seed(int(self.random_state or 0))
            stopper, self.history_ = EarlyStopping(self.patience, min_delta=1e-5), []
            bar = tqdm(range(self.max_epochs), desc="two-tower", disable=not show_progress(self.progress), leave=False)
            for epoch in bar:
                module.train()
                order = torch.randperm(len(yt), generator=gen)
                total = 0.0
                for s in range(0, len(yt), self.batch_size):
                    idx = order[s:s + self.batch_size]
                    opt.zero_grad()
                    loss = loss_fn(module(a[idx], b[idx], feats_dev), yt[idx])
                    loss.backward()
                    opt.step()
                    total += loss.item() * len(idx)
                module.eval()
                with torch.no_grad():
                    val = float(loss_fn(module(av, bv, feats_dev), yvt))
                self.history_.append({"epoch": epoch, "train_loss": total / len(yt), "val_loss": val})
                if stopper.step(module, val, epoch):
                    break
            stopper.restore(module)
            self.best_epoch_ = stopper.best_epoch
        self.module_, self._feats, self.device_ = module.to("cpu"), feats, str(dev)
        self._set_threshold((xv, yv))
        return self

    def __getstate__(self):
        """Pickle the fitted network as its ``state_dict`` (its class is local to :meth:`_module`)."""
        state = dict(self.__dict__)
        module = state.pop("module_", None)
        if module is not None:
            state["_module_state"] = {k: v.detach().clone() for k, v in module.state_dict().items()}
        return state

    def __setstate__(self, state):
        state = dict(state)
        weights = state.pop("_module_state", None)
        self.__dict__.update(state)
        if weights is not None:
            module = self._module(len(self.genes_), self._feats.shape[1])
            module.load_state_dict(weights)
            module.eval()
            self.module_ = module

    def predict_proba(self, X):
        """Shape (n_pairs, 2); column 1 = sigmoid(cos(u, v) / tau)."""
        import torch

        check_is_fitted(self, "module_")
        a, b = self._index(X)
        out = []
        with torch_threads(self.n_threads), torch.no_grad():
            for s in range(0, len(a), 65536):
                logit = self.module_(torch.as_tensor(a[s:s + 65536]), torch.as_tensor(b[s:s + 65536]), self._feats)
                out.append(torch.sigmoid(logit).numpy().astype(float))
        return _proba(np.concatenate(out) if out else np.zeros(0))


class TwoTowerEnsemble(_PairModel):
    """Mean probability of ``n_members`` two-tower models with seeds ``random_state + i`` (the seed's 5-model ensemble).

    Parameters
    ----------
    base : TwoTowerClassifier
        The member (cloned per seed).
    n_members : int
    random_state : int
    """

    def __init__(self, base=None, n_members=5, random_state=0):
        self.base = base
        self.n_members = n_members
        self.random_state = random_state

    def fit(self, X, y, validation=None):
        seed0 = int(self.random_state or 0)
        self.members_ = [clone(self.base).set_params(random_state=seed0 + i).fit(X, y, validation=validation)
                         for i in range(self.n_members)]
        self.classes_ = np.array([0, 1])
        self._set_threshold(validation)
        return self

    @classmethod
    def from_members(cls, members, validation=None):
        """An ensemble of already fitted members (no refit)."""
        ens = cls(base=members[0], n_members=len(members))
        ens.members_ = list(members)
        ens.classes_ = np.array([0, 1])
        ens._set_threshold(validation)
        return ens

    def predict_proba(self, X):
        check_is_fitted(self, "members_")
        return np.mean([m.predict_proba(X) for m in self.members_], axis=0)
