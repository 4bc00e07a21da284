"""Quick timing of the sparse mini-batch-32 epochs against the floor X @ w, on fewer rows
than `python -m gdfast bench --sparse` (same data generator, same epochs): for iterating on
the sparse kernels. Run under the CPU lock:
    PYTHONPATH=src python benchmarks/sparse_minibatch_quick.py [rows] [optimizer ...]
"""
import sys

from gdfast._cli import bench_sparse as bs


def main(argv):
    rows = int(argv[1]) if len(argv) > 1 else 300_000
    wanted = argv[2:] or ["sgd", "momentum", "adagrad", "rmsprop"]
    n_features, per_row = bs.SHAPES["1Mx2^20"][1:]
    bs.SHAPES["quick"] = (rows, n_features, per_row)
    X, y, _ = bs.make_data("quick")
    floor = bs.floor_seconds(X)
    read = bs.shuffled_read_seconds(X)
    records = bs.records_floor_seconds(X, 16)
    print(f"{rows:,} rows: floor {floor:.4f} s, shuffled read {read / floor:.2f}x, "
          f"with 16-byte records read and written {records / floor:.2f}x")
    for optimizer in wanted:
        case = bs.SparseCase("quick", "mini-batch-32", 32, "log_loss", optimizer)
        seconds = bs.min_seconds(bs.epoch_function(case, X, y))
        step = bs.step_seconds(case, bs.mean_batch_columns(X, 32), -(-rows // 32))
        print(f"  {optimizer:<10} {seconds:.4f} s = {seconds / floor:.2f}x floor "
              f"(its steps alone {step / floor:.2f}x)", flush=True)


if __name__ == "__main__":
    main(sys.argv)
