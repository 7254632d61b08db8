"""Command line: ``grnbench run | book | data | list | example``.

Examples::

    grnbench run --profile embedded          # execute the notebooks, then build the book
    grnbench run --profile full --no-book    # the real-data study, notebooks only
    grnbench run --adata my.h5ad --prior my_prior.tsv --label-key cell_type \
        --ood-key condition --ood-values stim --out results/mine    # your own data
    grnbench book --profile full             # rebuild the book from executed notebooks
    grnbench data --check                    # fetch and sha256-verify every data file
    grnbench list models
    grnbench example --out examples/         # the worked example's input files

Errors caused by input (a bad file, column, gene or id) are printed as one line without a
traceback; the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys

from pathlib import Path

from .errors import DataValidationError, GrnbenchError

__all__ = ["main"]


def _cmd_run(args) -> int:
    from .runner import build_book, run_profile

    if args.adata:
        from .byod import run_own_data

        if not args.out:
            raise DataValidationError("--adata needs --out (the results folder of your data)")
        result = run_own_data(args.adata, args.prior, out=args.out, quick=args.quick, book=not args.no_book,
                              name=args.name, label_key=args.label_key, ood_key=args.ood_key,
                              ood_values=args.ood_values, scale=args.scale, layer=args.layer,
                              truth_path=args.truth, perturbation_key=args.perturbation_key,
                              control_value=args.control_value, cell_type_key=args.cell_type_key,
                              gene_column=args.gene_column)
        print(f"results in {Path(args.out).resolve()}" + (f"; book: {result}" if not args.no_book else ""))
        return 0
    own_flags = [f for f in ("prior", "truth", "label_key", "ood_key", "ood_values", "perturbation_key", "control_value",
                             "cell_type_key", "gene_column", "out", "name", "layer") if getattr(args, f)]
    if own_flags:
        raise DataValidationError(f"--{own_flags[0].replace('_', '-')} needs --adata (your own data)")
    report = run_profile(args.profile, force=args.force, only=args.only or None, study_path=args.study,
                         results_dir=args.results_dir, scheduler=args.scheduler)
    ran = sum(r["status"] == "ran" for r in report.rows)
    seconds = sum(r["seconds"] for r in report.rows)
    print(f"profile {args.profile}: {ran} stage(s) ran, {len(report.rows) - ran} skipped, {seconds:.1f} s; "
          f"results in {report.results_dir}")
    if args.export:
        from .runner import export_notebooks

        written = export_notebooks(args.profile, args.export, study_path=args.study)
        print(f"copied {len(written)} executed notebooks to {args.export}")
    if not args.no_book:
        build_book(args.profile, results_dir=report.results_dir, study_path=args.study)
    return 0


def _cmd_example(args) -> int:
    from .byod import write_example

    files = write_example(args.out)
    print("\n".join(f"{k}: {v}" for k, v in files.items()))
    return 0


def _cmd_book(args) -> int:
    from .runner import build_book

    build_book(args.profile, strict=not args.no_strict)
    return 0


def _cmd_status(args) -> int:
    from .status import format_status, profile_status, replace_marked_block, status_markdown

    rows = profile_status(args.profile, results_dir=args.results_dir, study_path=args.study)
    md = status_markdown(rows, args.profile) if args.markdown or args.write else None
    print(md if args.markdown else format_status(rows, max_reason=0 if args.full else 160))
    if args.write:
        replace_marked_block(args.write, f"status {args.profile}", md)
    return 0 if all(r.state == "current" for r in rows) else 2


def _sources():
    from .data.priors import PRIOR_SOURCES
    from .registry import dataset_ids, get_dataset

    for ds in dataset_ids():
        for src in get_dataset(ds).sources:
            yield ds, src
    for prior, src in PRIOR_SOURCES.items():
        yield prior, src


def _cmd_data(args) -> int:
    failed = 0
    for name, src in _sources():
        line = f"{name:18s} {src.relpath}\n{'':18s} {src.url}\n{'':18s} sha256 {src.sha256}"
        if args.check:
            try:
                path = src.fetch()
                line += f"\n{'':18s} OK {path}"
            except GrnbenchError as exc:
                failed += 1
                line += f"\n{'':18s} FAILED {exc}"
        print(line)
    return 1 if failed else 0


def _cmd_list(args) -> int:
    from . import registry
    from .data.priors import get_prior, prior_ids
    from .runner import load_study

    if args.what == "datasets":
        for ds in registry.dataset_ids():
            spec = registry.get_dataset(ds)
            print(f"{ds:22s} {'embedded' if spec.embedded else 'remote  '} {spec.description}")
    elif args.what == "priors":
        for p in prior_ids():
            spec = get_prior(p)
            print(f"{p:18s} {'embedded' if spec.embedded else 'remote  '} {spec.description}")
    elif args.what == "models":
        for task in registry.tasks():
            for m in registry.model_ids(task):
                spec = registry.get_model(m, task)
                kind = "baseline" if spec.is_baseline else "model   "
                print(f"{task:18s} {m:14s} {kind} {spec.description}")
    elif args.what == "metrics":
        for task in registry.tasks():
            for m in registry.metric_ids(task):
                spec = registry.get_metric(m, task)
                print(f"{task:18s} {m:12s} {'max' if spec.maximize else 'min'} {spec.description}")
    elif args.what == "tasks":
        from .tasks import get_task

        for task in registry.tasks():
            t = get_task(task)
            print(f"{task:22s} splits: {', '.join(t.splits)}; primary metric: {t.primary_metric}")
    elif args.what == "profiles":
        for name, prof in load_study()["profiles"].items():
            print(f"{name:10s} {prof.get('description', '')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``grnbench`` console script; returns the exit code."""
    parser = argparse.ArgumentParser(prog="grnbench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="execute a profile's notebooks with papermill, then build its book")
    p.add_argument("--profile", default="embedded")
    p.add_argument("--force", action="store_true", help="re-run stages that are up to date")
    p.add_argument("--only", nargs="*", help="run only these stage ids")
    p.add_argument("--no-book", action="store_true", help="do not build the book")
    p.add_argument("--export", metavar="DIR", help="copy the executed notebooks to DIR in stage order (nbval)")
    p.add_argument("--study", metavar="FILE", help="study file (default: the project's study.yaml)")
    p.add_argument("--results-dir", metavar="DIR", help="results folder (default: results/<profile>)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler for the fits: tcp://HOST:8786, 'local' (default: one LocalCluster sized to "
                        "the machine) or 'inprocess'; default $GRNBENCH_SCHEDULER")
    own = p.add_argument_group("your own data (instead of --profile)")
    own.add_argument("--adata", metavar="H5AD", help="expression, cells x genes (.h5ad)")
    own.add_argument("--prior", metavar="FILE", help="prior network: source,target,weight or TF,Gene,Interaction "
                                                     "(TSV/CSV, optionally .gz)")
    own.add_argument("--truth", metavar="FILE", help="reference network of GRN inference (formats as --prior; "
                     "default: the prior)")
    own.add_argument("--label-key", metavar="COL", help="obs column with cell-type labels (cell-type markers)")
    own.add_argument("--perturbation-key", metavar="COL", help="obs column naming each cell's perturbation "
                     "(perturbation response)")
    own.add_argument("--control-value", metavar="VALUE", help="value of --perturbation-key that marks control cells")
    own.add_argument("--cell-type-key", metavar="COL", help="obs column of cell types (held-out-cell-type split of "
                     "perturbation response)")
    own.add_argument("--gene-column", metavar="COL", help="var column with the gene names to use (e.g. symbols beside "
                     "an Ensembl index)")
    own.add_argument("--ood-key", metavar="COL", help="obs column of a condition/stage/cell type to hold out")
    own.add_argument("--ood-values", metavar="VALUE", nargs="+", help="held-out value(s) of --ood-key")
    own.add_argument("--scale", default="log1p", choices=["counts", "linear", "log1p", "log"],
                     help="what the matrix holds (counts are normalised to 10,000 per cell and log1p-transformed)")
    own.add_argument("--layer", metavar="NAME", help="use this layer ('raw' for .raw.X) instead of .X")
    own.add_argument("--name", metavar="ID", help="dataset id (default: the file name)")
    own.add_argument("--out", metavar="DIR", help="results folder for your data")
    own.add_argument("--quick", action="store_true", help="fewer seeds, resamples and targets (a first look)")
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("book", help="build the Jupyter Book from a profile's executed notebooks")
    p.add_argument("--profile", default="embedded")
    p.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    p.set_defaults(func=_cmd_book)
    p = sub.add_parser("status", help="one line per stage of a profile: current / stale (what changed) / partial "
                                      "(k of n units) / missing, with its last wall time; exit 2 unless all current")
    p.add_argument("--profile", default="embedded")
    p.add_argument("--study", metavar="FILE", help="study file (default: the project's study.yaml)")
    p.add_argument("--results-dir", metavar="DIR", help="results folder (default: results/<profile>)")
    p.add_argument("--full", action="store_true", help="print every reason in full")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table per task and per stage instead")
    p.add_argument("--write", metavar="FILE", help="also put the Markdown table into FILE, between the lines "
                   "'<!-- begin: status <profile> -->' and '<!-- end: status <profile> -->' (e.g. README.md)")
    p.set_defaults(func=_cmd_status)
    p = sub.add_parser("data", help="list data sources (public URL, sha256); --check fetches and verifies them")
    p.add_argument("--check", action="store_true")
    p.set_defaults(func=_cmd_data)
    p = sub.add_parser("list", help="list registered datasets, priors, models, metrics, tasks or profiles")
    p.add_argument("what", choices=["datasets", "priors", "models", "metrics", "tasks", "profiles"])
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("example", help="write the worked example's .h5ad and prior (see the README)")
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=_cmd_example)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except GrnbenchError as exc:
        print(f"grnbench: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
