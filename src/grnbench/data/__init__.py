"""Data layer: sources (mirror -> cache -> download, sha256-verified), loaders, priors, validation."""

from . import beeline  # noqa: F401  (registers the BEELINE edge datasets)
from .datasets import load_dataset
from .priors import load_prior, prior_ids, prior_summary
from .sources import PackageFile, RemoteFile, WheelMember
from .validation import validate_expression, validate_prior

__all__ = [
    "load_dataset",
    "load_prior",
    "prior_ids",
    "prior_summary",
    "PackageFile",
    "RemoteFile",
    "WheelMember",
    "validate_expression",
    "validate_prior",
]
