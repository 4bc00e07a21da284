"""The command line, `gdfast` or `python -m gdfast`: demo, compare and bench."""
import argparse
import os
import sys

from gdfast import __version__
from gdfast._cli import demo as _demo


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line a user can act on, not argparse's usage block; exit code 2 as argparse.
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _program_name():
    """'gdfast' when run as the console script, else how `python -m` was typed."""
    return "gdfast" if os.path.basename(sys.argv[0] or "") == "gdfast" else "python -m gdfast"


def main(argv=None):
    parser = _Parser(prog=_program_name(), description="Gradient descent, compiled.")
    parser.add_argument("--version", action="version", version=f"gdfast {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = _add_command(commands, "demo", "fit the textbook example step by step, then "
                        "synthetic problems with every batch mode and optimizer, compiled and "
                        "in NumPy")
    demo.add_argument("--rows", type=int, default=10_000,
                      help="rows of the synthetic problems (default 10000)")
    bench = _add_command(
        commands, "bench", "measure speed and memory on this machine: one epoch of every batch "
        "mode and optimizer against the time to read X once, the NumPy reference and "
        "scikit-learn; one epoch of a network against scikit-learn's MLPClassifier; what a "
        "fit costs besides its epochs; the time the default estimators take to come within "
        "1%% of the optimal loss; the peak "
        "memory a fit adds; print a table and write it as JSON")
    bench.add_argument("--quick", action="store_true",
                       help="only the small sizes (2,000 rows; a 64 MB X for the memory of a "
                            "fit): tens of seconds instead of many minutes")
    bench.add_argument("--json", default="gdfast-bench.json", metavar="PATH",
                       help="where to write the results (default gdfast-bench.json)")
    bench.add_argument("--only", action="append", default=[], metavar="PATTERN",
                       help="only the cases whose name contains PATTERN ('*' matches "
                            "anything, e.g. '200kx100-per-sample', 'network', 'setup' or 'quality'; "
                            "with --dask, the methods, e.g. 'local_sgd' or 'Incremental'); "
                            "repeatable")
    bench.add_argument("--sparse", action="store_true",
                       help="only the sparse section: one epoch over a hashed-text-like CSR "
                            "X (1,000,000 x 2^20, or 20,000 x 2^16 with --quick) against "
                            "X @ w, scikit-learn and the NumPy reference; the memory of a "
                            "fit; time to within 1%% of the optimal loss (same as --only "
                            "sparse); with --only, those of its measurements whose name "
                            "matches, e.g. 'mini-batch-32' or 'adagrad'")
    bench.add_argument("--busy-core", action="store_true",
                       help="instead: one epoch of every path and shape with one thread and "
                            "with every core (n_jobs=1 and n_jobs=-1), first with the cores "
                            "free, then while a spinning process this command starts (and "
                            "stops) keeps one core busy; prints their ratios")
    bench.add_argument("--dask", action="store_true",
                       help="instead: gdfast.dask against dask-glm and dask-ml (those "
                            "installed) on a local cluster of two worker processes, time to "
                            "within 1%% of the optimal training loss and the time per round "
                            '(needs the extra: pip install "gdfast[dask]")')
    bench.add_argument("--rows", type=int, default=None, metavar="N",
                       help="with --dask, rows of the data (default 4000000)")
    compare = _add_compare_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.rows < 10:
            parser.error("--rows must be at least 10")
        _demo.run(n_samples=args.rows)
    elif args.command == "compare":
        return _run_compare(compare, args)
    elif args.command == "bench":
        return _run_bench(bench, args)
    return 0


def _add_command(commands, name, text):
    """A sub-command whose one-line summary in `gdfast --help` is also its --help's header."""
    description = text[0].upper() + text[1:].replace("%%", "%") + "."  # help= is %-formatted
    return commands.add_parser(name, help=text, description=description)


def _add_compare_parser(commands):
    from gdfast._cli import compare as _compare

    compare = _add_command(
        commands, "compare", "train with every optimizer (or a chosen few) on one data set; "
        "print a table and write the loss curves as a PNG (with matplotlib)")
    compare.add_argument("data", nargs="?", default="valley", metavar="DATA",
                         help="a built-in set (" + ", ".join(_compare.BUILTIN_NAMES)
                              + "; default valley) or a .csv or .npy file")
    compare.add_argument("--target", metavar="COLUMN",
                         help="the file's target column: a header name or an index "
                              "(default the last column)")
    compare.add_argument("--model", choices=_compare.MODELS, default="linear",
                         help="linear (default): GDRegressor/GDClassifier; mlp: a network, "
                              "MLPRegressor/MLPClassifier with relu hidden layers")
    compare.add_argument("--hidden", default="32", metavar="SIZES",
                         help="with --model mlp, the units of each hidden layer, "
                              "comma-separated, e.g. 32,16 (default 32)")
    compare.add_argument("--task", choices=_compare.TASKS, default="auto",
                         help="auto (default): classification for text labels or a few "
                              "integer values, else regression")
    compare.add_argument("--optimizers", metavar="NAMES", default="all",
                         help="comma-separated, e.g. sgd,momentum,adam (default all: "
                              + ",".join(_compare.all_optimizers()) + ")")
    compare.add_argument("--batch-size", default="32", metavar="N",
                         help="rows per update: 1, any k, or 'full' (default 32)")
    compare.add_argument("--epochs", type=int, default=100, metavar="N",
                         help="at most this many epochs (default 100)")
    compare.add_argument("--tol", default="1e-4", metavar="TOL",
                         help="stop once the loss improves by less than TOL for 5 epochs; "
                              "'none' runs every epoch (default 1e-4)")
    compare.add_argument("--learning-rate", default="auto", metavar="RATE",
                         help="one rate for all, or auto: each optimizer's own (default)")
    compare.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    compare.add_argument("--no-scale", action="store_true",
                         help="train on the raw features and target (default: the linear "
                              "estimators standardise the features themselves, scale=True, "
                              "and a regression's target is standardised, so that every "
                              "optimizer's default rate suits the data)")
    compare.add_argument("--png", default="gdfast-compare.png", metavar="PATH",
                         help="where to write the loss curves (default gdfast-compare.png; "
                              'needs matplotlib: pip install "gdfast[plot]")')
    compare.add_argument("--no-plot", action="store_true",
                         help="print the table only, write no picture")
    return compare


def _compare_settings(parser, args):
    """The estimator settings from the arguments, or a one-line error."""
    from gdfast._cli import compare as _compare

    names = _compare.all_optimizers()
    chosen = names if args.optimizers == "all" else tuple(
        name.strip().lower() for name in args.optimizers.split(",") if name.strip())
    unknown = [name for name in chosen if name not in names]
    if unknown or not chosen:
        parser.error(f"--optimizers {args.optimizers}: unknown {', '.join(unknown) or 'list'}; "
                     f"choose from {','.join(names)}")
    if args.batch_size.lower() == "full":
        batch_size = None
    elif args.batch_size.isdigit() and int(args.batch_size) >= 1:
        batch_size = int(args.batch_size)
    else:
        parser.error(f"--batch-size {args.batch_size}: expected a positive integer or 'full'")
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    numbers = {}
    for option, text, word in (("--tol", args.tol, "none"),
                               ("--learning-rate", args.learning_rate, "auto")):
        if text.lower() == word:
            numbers[option] = None if word == "none" else "auto"
            continue
        try:
            numbers[option] = float(text)
        except ValueError:
            numbers[option] = -1.0
        if not 0 < numbers[option] < float("inf"):
            parser.error(f"{option} {text}: expected a positive number or '{word}'")
    sizes = [size.strip() for size in args.hidden.split(",")]
    if not all(size.isdigit() and int(size) >= 1 for size in sizes):
        parser.error(f"--hidden {args.hidden}: expected positive whole numbers separated by "
                     "commas, e.g. 32,16")
    if args.hidden != "32" and args.model != "mlp":
        parser.error("--hidden applies to --model mlp only")
    return dict(optimizers=chosen, batch_size=batch_size, epochs=args.epochs,
                tol=numbers["--tol"], learning_rate=numbers["--learning-rate"],
                model=args.model, hidden=tuple(int(size) for size in sizes))


def _matplotlib_installed():
    try:
        import matplotlib    # noqa: F401
    except ImportError:
        return False
    return True


def _run_compare(parser, args):
    from gdfast import plots
    from gdfast._cli import compare as _compare

    settings = _compare_settings(parser, args)
    # The table needs only NumPy: without matplotlib the picture alone is skipped, with a
    # note saying how to get it.
    plot = not args.no_plot and _matplotlib_installed()
    if plot:                  # checked now, not after minutes of training
        _check_writable(parser, "--png", args.png)
    try:
        X, y, description = _compare.load(args.data, args.target)
        task = _compare.guess_task(y) if args.task == "auto" else args.task
        if task == "regression" and y.dtype.kind not in "fiub":
            raise _compare.DataError("--task regression needs a numeric target column")
    except _compare.DataError as exc:
        parser.error(str(exc))
    optimizers = settings.pop("optimizers")
    batch = "full batch" if settings["batch_size"] is None else f"batch size {settings['batch_size']}"
    print(f"data: {description}")
    print(f"task: {task}" + (" (guessed; --task to choose)" if args.task == "auto" else "")
          + f"; {batch}; "
          + _compare.scaling_phrase(task, not args.no_scale, settings["model"]))
    print(f"model: {_compare.model_phrase(settings['model'], settings['hidden'])}\n")
    results, X_used, y_used = _compare.run(
        X, y, task, optimizers, seed=args.seed, scale=not args.no_scale,
        progress=lambda line: print(line, file=sys.stderr, flush=True), **settings)
    print(_compare.format_table(results, X_used, y_used, task, scale=not args.no_scale,
                                model_kind=settings["model"]))
    fitted = {r["optimizer"]: r["model"] for r in results if r["model"] is not None}
    if plot and fitted:
        plots.plot_loss_curves(fitted, path=args.png,
                               title=f"{os.path.basename(args.data)}: {task}, {batch}"
                                     + ("" if args.model == "linear" else
                                        f", network {settings['hidden']}"))
        print(f"\nloss curves written to {args.png}")
    elif not args.no_plot and fitted:
        print('\nloss curves not drawn: they need matplotlib, an optional extra (pip install '
              '"gdfast[plot]"); --no-plot leaves them out without this note', file=sys.stderr)
    return 0 if fitted else 1


def _run_bench(parser, args):
    if args.dask:
        return _run_bench_dask(parser, args)
    if args.rows is not None:
        parser.error("--rows applies to --dask only")
    from gdfast._cli import bench as _bench

    sizes = ("small",) if args.quick else ("large",)
    if args.busy_core:
        return _run_bench_busy_core(parser, args, _bench, sizes)
    given = args.only
    if args.sparse:
        args.only = _bench.bench_sparse.only_patterns(args.only)
    if args.only and not any(_bench.matches(name, args.only) for name in _bench.names(sizes)):
        example = (_bench.bench_sparse.names(sizes) if args.sparse else _bench.names(sizes))[0]
        parser.error(f"no case matches --only {' '.join(given)}"
                     + (" in the sparse section" if args.sparse else "")
                     + f"; case names look like {example}")
    _check_writable(parser, "--json", args.json)   # now, not after minutes of measuring
    machine = _bench.machine_info()
    results = _bench.run(sizes, args.only,
                         progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(_bench.format_table(results, machine))
    _bench.write_json(results, args.json, machine)
    print(f"\nwritten to {args.json}; rerun with: {parser.prog}"
          + (" --quick" if args.quick else "") + (" --sparse" if args.sparse else ""))
    return 0


def _check_writable(parser, option, path):
    """Stop with a usage error if the file `path` (given as `option`) cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(folder, os.W_OK):
        parser.error(f"{option} {path}: cannot write in {folder}")


def _run_bench_busy_core(parser, args, _bench, sizes):
    if args.sparse:
        parser.error("--busy-core and --sparse are separate sections: choose one")
    names = [_bench.busy_core_name(case) for case in _bench.busy_core_cases(sizes)]
    if args.only and not any(_bench.matches(name, args.only) for name in names):
        parser.error(f"no busy-core case matches --only {' '.join(args.only)}; their names "
                     f"look like {names[0]}")
    _check_writable(parser, "--json", args.json)   # now, not after minutes of measuring
    machine = _bench.machine_info()
    results = _bench.run_busy_core(sizes, args.only,
                                   progress=lambda line: print(line, file=sys.stderr,
                                                               flush=True))
    print(_bench.format_busy_core(results, machine))
    _bench.write_json(results, args.json, machine)
    print(f"\nwritten to {args.json}; rerun with: {parser.prog} --busy-core"
          + (" --quick" if args.quick else ""))
    return 0


def _run_bench_dask(parser, args):
    if args.quick:
        parser.error("--quick does not apply to --dask (use --rows for a smaller run)")
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        parser.error('--dask needs Dask, an optional extra: pip install "gdfast[dask]"')
    from gdfast._cli import bench, bench_dask

    if args.only and not any(bench.matches(name, args.only) for name in bench_dask.names()):
        parser.error(f"no method matches --only {' '.join(args.only)}; with --dask the "
                     f"names are {', '.join(bench_dask.names())}")
    rows = bench_dask.DEFAULT_ROWS if args.rows is None else args.rows
    if rows < 10 * bench_dask.N_CHUNKS:
        parser.error(f"--rows must be at least {10 * bench_dask.N_CHUNKS}")
    results, notes = bench_dask.run(rows, only=args.only,
                                    progress=lambda line: print(line, file=sys.stderr,
                                                                flush=True))
    print(bench_dask.format_table(results, notes))
    return 0
