"""The command line: `python -m gdfast demo` and `python -m gdfast bench`."""
import argparse
import os
import sys

from gdfast import _demo


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line a user can act on, not argparse's usage block; exit code 2 as argparse.
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv=None):
    parser = _Parser(prog="python -m gdfast", description="Gradient descent, compiled.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="fit the textbook example and synthetic problems "
                                            "with every batch mode, compiled and in NumPy")
    demo.add_argument("--rows", type=int, default=10_000,
                      help="rows of the synthetic problems (default 10000)")
    bench = commands.add_parser(
        "bench", help="time one epoch of every batch mode and optimizer against the cost of "
                      "reading X once, the NumPy reference and scikit-learn, and the time to "
                      "within 1%% of the optimal loss; print a table and write it as JSON")
    bench.add_argument("--quick", action="store_true",
                       help="only the small shape (2,000 x 100; seconds instead of minutes)")
    bench.add_argument("--json", default="gdfast-bench.json", metavar="PATH",
                       help="where to write the results (default gdfast-bench.json)")
    bench.add_argument("--only", action="append", default=[], metavar="PATTERN",
                       help="only the cases whose name contains PATTERN ('*' matches "
                            "anything, e.g. '200kx100-per-sample' or 'quality'); repeatable")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.rows < 10:
            parser.error("--rows must be at least 10")
        _demo.run(n_samples=args.rows)
    elif args.command == "bench":
        return _run_bench(bench, args)
    return 0


def _run_bench(parser, args):
    from gdfast import _bench

    sizes = ("small",) if args.quick else ("large",)
    if args.only and not any(_bench.matches(name, args.only) for name in _bench.names(sizes)):
        parser.error(f"no case matches --only {' '.join(args.only)}; case names look like "
                     f"{_bench.cases(sizes)[0].name}")
    folder = os.path.dirname(os.path.abspath(args.json))
    if not os.access(folder, os.W_OK):    # fail now, not after minutes of measuring
        parser.error(f"--json {args.json}: cannot write in {folder}")
    machine = _bench.machine_info()
    results = _bench.run(sizes, args.only,
                         progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(_bench.format_table(results, machine))
    _bench.write_json(results, args.json, machine)
    print(f"\nwritten to {args.json}; rerun with: python -m gdfast bench"
          + (" --quick" if args.quick else ""))
    return 0
