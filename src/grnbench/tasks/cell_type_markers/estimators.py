"""Gene rankings for cell-type classification: SelectorMLP and linear / marker / random controls.

Every ranker is a scikit-learn estimator: ``fit(X, y, validation=None)`` sets ``ranking_``
(gene names, most important first). Classifiers among them also ``predict``.

SelectorMLP (the seed system; cf. Covert et al. 2023, PERSIST, doi:10.1038/s41467-023-37392-1):
an MLP classifier whose first layer multiplies each standardised gene by a learnable weight;
an L1 penalty on those weights makes them sparse and genes are ranked by |weight|.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from ...errors import DataValidationError
from ...models.device import resolve_device
from ...models.base import (EarlyStopping, GeneAwareMixin, search_validation, seed_everything, show_progress, split_validation,
                   torch_threads)

__all__ = ["SelectorMLPClassifier", "LinearRanker", "WilcoxonRanker", "RandomRanker", "ranking_from_weights",
           "topk_validation_accuracy"]


def ranking_from_weights(names, weights) -> list[str]:
    """Gene names ordered by decreasing |weight| (ties broken by name order, stable).

    Parameters
    ----------
    names : sequence of str, length n_genes
    weights : array-like, shape (n_genes,) or (n_classes, n_genes)
        For a matrix, a gene's score is its largest |weight| over classes.
    """
    w = np.abs(np.asarray(weights, dtype=float))
    score = w.max(axis=0) if w.ndim == 2 else w
    order = np.argsort(-score, kind="stable")
    return [str(names[i]) for i in order]


def topk_validation_accuracy(predict, ranking_idx, x_val, y_val, fill, ks) -> float:
    """Mean validation accuracy of a fitted classifier when only its top-k genes are kept.

    The seed's masking evaluation on validation cells, used as the tuning criterion of the
    rankers (a ranker is tuned for the quality of its ranking, not only of its classifier).

    Parameters
    ----------
    predict : callable
        ``predict(x) -> labels`` for an array of shape (n_cells, n_genes).
    ranking_idx : array of int, shape (n_genes,)
        Gene columns, most important first.
    x_val : ndarray, shape (n_cells, n_genes)
    y_val : ndarray, shape (n_cells,)
    fill : ndarray, shape (n_genes,)
        Value of a masked gene (the training mean).
    ks : sequence of int
        Numbers of genes kept; the score is the mean accuracy over them.
    """
    accs = []
    for k in ks:
        xm = np.array(x_val, dtype=float, copy=True)
        masked = np.asarray(ranking_idx)[k:]
        xm[:, masked] = np.asarray(fill, dtype=float)[masked]
        accs.append(float(np.mean(predict(xm) == y_val)))
    return float(np.mean(accs))


def _names(est, x):
    names = getattr(est, "feature_names_in_", None)
    return list(names) if names is not None else [f"x{i}" for i in range(x.shape[1])]


def _check_labels(y, min_per_class: int = 1):
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataValidationError(f"labels must be 1-D, got shape {y.shape}")
    if pd.isna(pd.Series(y)).any():
        raise DataValidationError("labels contain missing values")
    counts = pd.Series(y).value_counts()
    small = counts[counts < min_per_class]
    if len(small):
        raise DataValidationError(
            f"class(es) {', '.join(repr(str(c)) for c in small.index)} have fewer than {min_per_class} training "
            "cell(s); drop small classes first (the capped split's min_cluster_size)"
        )
    return y


class SelectorMLPClassifier(GeneAwareMixin, ClassifierMixin, BaseEstimator):
    """MLP classifier with a per-gene selection layer made sparse by an L1 penalty.

    Parameters
    ----------
    hidden : tuple of int
        Hidden layer widths after the selection layer.
    l1 : float
        L1 strength on the selection weights (penalty ``l1 * sum |s_g|``).
    dropout, lr, weight_decay, batch_size, max_epochs, patience, validation_fraction
        Training settings (Adam; early stopping and checkpointing on the penalised validation
        loss, cross-entropy + ``l1 * sum |s|``).
    selection_lr : float
        Adam learning rate of the selection weights (the MLP uses ``lr``); larger, so that
        the L1 penalty can move weights from their start at 1 within a short training.
    param_grid : dict of str -> list, optional
        Validation grid (e.g. over ``l1`` and ``hidden``).
    tune_ks : tuple of int, optional
        Tuning criterion: with ``tune_ks`` the combination with the best
        :func:`topk_validation_accuracy` (validation accuracy with only the top-k genes kept,
        averaged over ``tune_ks``) is kept; without, plain validation accuracy.
    n_threads : int
        Torch threads.
    progress : bool, optional
        tqdm bar over epochs.
    random_state : int
        Seed.
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``
        (:func:`grnbench.models.device.resolve_device`); the fitted network is kept on the CPU.

    Attributes
    ----------
    selection_weights_ : ndarray, shape (n_genes,)
    history_ : list of dict
        Training and validation loss (penalised) per epoch of the kept fit.
    ranking_ : list of str
        Genes by decreasing |selection weight|.
    classes_ : ndarray
    """

    def __init__(self, hidden=(128,), l1=1e-3, dropout=0.1, lr=1e-3, selection_lr=1e-2, weight_decay=0.0,
                 batch_size=128, max_epochs=200, patience=15, validation_fraction=0.15, param_grid=None, tune_ks=None,
                 n_threads=1, progress=None, random_state=0, device="auto"):
        self.hidden = hidden
        self.l1 = l1
        self.dropout = dropout
        self.lr = lr
        self.selection_lr = selection_lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.param_grid = param_grid
        self.tune_ks = tune_ks
        self.n_threads = n_threads
        self.progress = progress
        self.random_state = random_state
        self.device = device

    def fit(self, X, y, validation=None):
        """Train (and tune on validation cells if ``param_grid``).

        Parameters
        ----------
        X : DataFrame or array, shape (n_cells, n_genes)
            Log-normalised expression.
        y : array-like, shape (n_cells,)
            Cell-type labels.
        validation : tuple (X_val, y_val), optional
            Cells for early stopping and tuning; else ``validation_fraction`` of ``X``.
        """
        x, _ = self._record_genes(X)
        y = _check_labels(y, min_per_class=2)
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        codes = self._encoder.transform(y).astype(float)
        rng = np.random.default_rng(0 if self.random_state is None else self.random_state)
        val = None
        if validation is not None:
            val = (validation[0], self._encoder.transform(_check_labels(validation[1])).astype(float))
        x, codes, x_val, c_val = split_validation(x, codes, val, self.validation_fraction, rng, self._check_genes)
        codes, c_val = codes.ravel().astype(int), c_val.ravel().astype(int)
        if not self.param_grid:
            self._train(x, codes, x_val, c_val)
        else:
            def fit_and_score(params):
                trial = clone(self).set_params(param_grid=None, **params)
                trial.n_features_in_, trial.classes_ = self.n_features_in_, self.classes_
                trial._train(x, codes, x_val, c_val)
                if self.tune_ks:
                    order = np.argsort(-np.abs(trial.selection_weights_), kind="stable")
                    return topk_validation_accuracy(trial._predict_codes, order, x_val, c_val, trial.x_mean_,
                                                    self.tune_ks), trial
                return float(np.mean(trial._predict_codes(x_val) == c_val)), trial

            self.best_params_, best, self.tuning_ = search_validation(self.param_grid, fit_and_score)
            for attr in ("x_mean_", "x_std_", "module_", "selection_weights_", "best_epoch_", "history_", "device_"):
                setattr(self, attr, getattr(best, attr))
        self.ranking_ = ranking_from_weights(_names(self, x), self.selection_weights_)
        return self

    def _train(self, x, codes, x_val, c_val):
        import torch
        import torch.nn as nn
        from tqdm.auto import tqdm

        n_classes = len(self.classes_)
        dev = resolve_device(self.device)
        with torch_threads(self.n_threads):
            seed_everything(self.random_state)
            self.x_mean_, self.x_std_ = x.mean(0), np.where(x.std(0) > 0, x.std(0), 1.0)
            xt = torch.as_tensor((x - self.x_mean_) / self.x_std_, dtype=torch.float32)
            xv = torch.as_tensor((x_val - self.x_mean_) / self.x_std_, dtype=torch.float32)
            yt, yv = torch.as_tensor(codes), torch.as_tensor(c_val)
            xt, xv, yt, yv = (t.to(dev) for t in (xt, xv, yt, yv))
            layers, width = [], x.shape[1]
            for h in self.hidden:
                layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(self.dropout)]
                width = h
            layers.append(nn.Linear(width, n_classes))
            module = _selector_module(x.shape[1], nn.Sequential(*layers)).to(dev)
            opt = torch.optim.Adam([{"params": module.mlp.parameters(), "weight_decay": self.weight_decay},
                                    {"params": [module.weights], "lr": self.selection_lr, "weight_decay": 0.0}],
                                   lr=self.lr)
            gen = torch.Generator().manual_seed(int(self.random_state or 0))
            loss_fn = nn.CrossEntropyLoss()
            stopper = EarlyStopping(self.patience, min_delta=1e-6)
            self.history_ = []
            bar = tqdm(range(self.max_epochs), desc="SelectorMLP", disable=not show_progress(self.progress), leave=False)
            for epoch in bar:
                module.train()
                order = torch.randperm(len(xt), generator=gen)
                total = 0.0
                for start in range(0, len(xt), self.batch_size):
                    idx = order[start:start + self.batch_size]
                    opt.zero_grad()
                    loss = loss_fn(module(xt[idx]), yt[idx]) + self.l1 * module.weights.abs().sum()
                    loss.backward()
                    opt.step()
                    total += loss.item() * len(idx)
                module.eval()
                with torch.no_grad():  # the penalised objective, so sparsification counts as progress
                    val = float(loss_fn(module(xv), yv) + self.l1 * module.weights.abs().sum())
                self.history_.append({"epoch": epoch, "train_loss": total / len(xt), "val_loss": val})
                if stopper.step(module, val, epoch):
                    break
            stopper.restore(module)
            self.best_epoch_ = stopper.best_epoch
        self.module_, self.device_ = module.to("cpu"), str(dev)
        self.selection_weights_ = self.module_.weights.detach().numpy().astype(float).copy()

    def _predict_codes(self, x):
        import torch

        with torch_threads(self.n_threads), torch.no_grad():
            logits = self.module_(torch.as_tensor((x - self.x_mean_) / self.x_std_, dtype=torch.float32))
        return logits.argmax(dim=1).numpy()

    def predict(self, X):
        """Predicted cell types, shape (n_cells,).

        Raises
        ------
        grnbench.errors.GeneMismatchError
            If the genes of ``X`` differ from those seen in ``fit``.
        """
        check_is_fitted(self, "module_")
        return self._encoder.inverse_transform(self._predict_codes(self._check_genes(X)))


def _selector_module(n_genes, mlp):
    """Torch module: selection layer ``x * s`` (``s`` starts at 1) followed by ``mlp``."""
    import torch
    import torch.nn as nn

    class Selector(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.ones(n_genes))
            self.mlp = mlp

        def forward(self, x):
            return self.mlp(x * self.weights)

    return Selector()


class LinearRanker(GeneAwareMixin, ClassifierMixin, BaseEstimator):
    """Linear classifier on standardised genes; genes ranked by their largest |coefficient|.

    Parameters
    ----------
    kind : {"svm", "logreg_l1"}
        ``svm``: :class:`sklearn.svm.LinearSVC` (one-vs-rest; the seed's SVM baseline);
        ``logreg_l1``: L1-penalised logistic regression, one-vs-rest (liblinear; 10-30x faster
        than multinomial saga on 2,000 genes with the same sparsity pattern).
    C : float
        Inverse regularisation strength.
    C_grid : tuple of float, optional
        If given, ``C`` is chosen on the validation cells: by :func:`topk_validation_accuracy`
        over ``tune_ks`` if given, else by plain validation accuracy.
    tune_ks : tuple of int, optional
    random_state : int
        Seed of the solvers.

    Attributes
    ----------
    coef_ : ndarray, shape (n_classifiers, n_genes)
        Coefficients on standardised genes (one row per one-vs-rest classifier).
    ranking_ : list of str
        Genes by decreasing max |coefficient|.
    """

    def __init__(self, kind="svm", C=1.0, C_grid=None, tune_ks=None, random_state=0):
        self.kind = kind
        self.C = C
        self.C_grid = C_grid
        self.tune_ks = tune_ks
        self.random_state = random_state

    def _model(self, C):
        if self.kind == "svm":
            clf = LinearSVC(C=C, max_iter=5000, random_state=self.random_state)
        elif self.kind == "logreg_l1":
            clf = OneVsRestClassifier(LogisticRegression(l1_ratio=1.0, C=C, solver="liblinear",
                                                         random_state=self.random_state))
        else:
            raise DataValidationError(f"unknown linear ranker kind {self.kind!r} (svm, logreg_l1)")
        return make_pipeline(StandardScaler(), clf)

    def fit(self, X, y, validation=None):
        """Fit (choosing ``C`` on validation cells if ``C_grid``) and rank genes."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        x, _ = self._record_genes(X)
        y = _check_labels(y, min_per_class=2)
        with warnings.catch_warnings():  # saga/LinearSVC may stop at max_iter on near-separable data
            warnings.simplefilter("ignore", ConvergenceWarning)
            if self.C_grid and validation is not None:
                xv, yv = self._check_genes(validation[0]), _check_labels(validation[1])

                def fit_and_score(params):
                    m = self._model(params["C"]).fit(x, y)
                    if self.tune_ks:
                        w = np.abs(_coef(m[-1])).max(axis=0)
                        order = np.argsort(-w, kind="stable")
                        return topk_validation_accuracy(m.predict, order, xv, yv, m[0].mean_, self.tune_ks), m
                    return float(np.mean(m.predict(xv) == yv)), m

                self.best_params_, self.model_, self.tuning_ = search_validation({"C": list(self.C_grid)},
                                                                                 fit_and_score)
            else:
                self.model_ = self._model(self.C).fit(x, y)
        self.classes_ = self.model_.classes_
        self.coef_ = _coef(self.model_[-1])
        self.ranking_ = ranking_from_weights(_names(self, x), self.coef_)
        return self

    def predict(self, X):
        """Predicted cell types, shape (n_cells,)."""
        check_is_fitted(self, "model_")
        return self.model_.predict(self._check_genes(X))


def _coef(clf) -> np.ndarray:
    """Coefficients, shape (n_classifiers, n_genes), of a linear model or a one-vs-rest wrapper."""
    if isinstance(clf, OneVsRestClassifier):
        return np.vstack([e.coef_ for e in clf.estimators_])
    return np.atleast_2d(clf.coef_)


class WilcoxonRanker(GeneAwareMixin, BaseEstimator):
    """Marker genes by scanpy's Wilcoxon rank-sum test, merged round-robin over cell types.

    ``scanpy.tl.rank_genes_groups(method="wilcoxon")`` (Wolf et al. 2018,
    doi:10.1186/s13059-017-1382-0) is run on the training cells (one group vs the rest); the
    ranking takes each type's best gene in turn, then each type's second best, skipping genes
    already taken.

    Parameters
    ----------
    random_state : int, optional
        Unused (deterministic).
    """

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y, validation=None):
        """Rank genes (``validation`` is ignored)."""
        import warnings

        import anndata as ad
        import scanpy as sc

        x, _ = self._record_genes(X)
        y = _check_labels(y, min_per_class=2)
        names = _names(self, x)
        adata = ad.AnnData(X=x.astype(np.float32), obs=pd.DataFrame({"label": pd.Categorical(y.astype(str))},
                                                                  index=[str(i) for i in range(len(y))]),
                           var=pd.DataFrame(index=names))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scanpy warns about fragmented frames / pre-logged data
            sc.tl.rank_genes_groups(adata, "label", method="wilcoxon", n_genes=len(names), use_raw=False)
        ranked = adata.uns["rank_genes_groups"]["names"]
        groups = ranked.dtype.names
        seen, order = set(), []
        for row in ranked:
            for g in groups:
                gene = str(row[g])
                if gene not in seen:
                    seen.add(gene)
                    order.append(gene)
        self.ranking_ = order + [g for g in names if g not in seen]
        self.per_class_ = {g: [str(v) for v in ranked[g][:10]] for g in groups}
        return self


class RandomRanker(GeneAwareMixin, BaseEstimator):
    """A random gene order (the control every ranking must beat).

    Parameters
    ----------
    random_state : int
        Seed of the permutation.
    """

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X, y=None, validation=None):
        """Draw the order (``y`` and ``validation`` are ignored)."""
        x, _ = self._record_genes(X)
        names = _names(self, x)
        perm = np.random.default_rng(self.random_state).permutation(len(names))
        self.ranking_ = [names[i] for i in perm]
        return self
