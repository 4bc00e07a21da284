"""The command line: `python -m gdfast demo`."""
import argparse

from gdfast import _demo


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gdfast",
                                     description="Gradient descent, compiled.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="fit the textbook example and synthetic problems "
                                            "with every batch mode, compiled and in NumPy")
    demo.add_argument("--rows", type=int, default=10_000,
                      help="rows of the synthetic problems (default 10000)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.rows < 10:
            parser.error("--rows must be at least 10")
        _demo.run(n_samples=args.rows)
    return 0
