"""One subpackage per benchmark task; each registers its models and metrics on import."""
