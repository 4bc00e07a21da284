"""The sparse section of `python -m gdfast bench` (--sparse): runs on a small size, says what
it measured, writes it to the JSON. No timing is asserted."""
import json

import numpy as np
import pytest
import scipy.sparse as sp

from gdfast._cli import bench_sparse, main
from gdfast._cli.bench import matches


def test_generated_data_is_hashed_text_like():
    X, y_class, y_value = bench_sparse.make_data("2kx2^12")
    n_samples, n_features, per_row = bench_sparse.SHAPES["2kx2^12"]
    assert sp.issparse(X) and X.format == "csr" and X.shape == (n_samples, n_features)
    assert X.indices.dtype == np.int32 and X.data.dtype == np.float64
    assert 0.5 * per_row < X.nnz / n_samples <= per_row           # repeated words merged
    np.testing.assert_allclose(np.sqrt(X.multiply(X).sum(axis=1)).A1, 1.0)
    column_counts = np.bincount(X.indices, minlength=n_features)
    assert column_counts.max() > 20 * np.median(column_counts)     # a Zipf head
    assert set(np.unique(y_class)) == {0.0, 1.0} and y_value.shape == (n_samples,)


def test_section_measures_every_case_memory_and_quality():
    lines = []
    results = bench_sparse.run(("test",), ["sparse"], matches, lines.append)
    kinds = {}
    for result in results:
        kinds.setdefault(result["kind"], []).append(result)
    assert set(kinds) == {"sparse-floor", "sparse-epoch", "sparse-memory", "sparse-quality"}
    assert len(kinds["sparse-epoch"]) == len(bench_sparse.CASES)
    for epoch in kinds["sparse-epoch"]:
        assert epoch["seconds"] > 0 and epoch["x_floor"] > 0 and epoch["x_numpy"] > 0
        assert ("x_sklearn" in epoch) == (epoch["optimizer"] == "sgd"
                                          and epoch["batch_size"] == 1)
    [memory] = kinds["sparse-memory"]
    assert 0 < memory["peak_bytes"] and memory["x_bytes"] > 0
    [quality] = kinds["sparse-quality"]
    assert quality["optimum"] > 0 and quality["optimum_max_abs"] > 0
    assert len(quality["contenders"]) == 3
    for value in quality["contenders"].values():
        assert value is None or (value["ratio"] <= 1.01 and 0.5 <= value["accuracy"] <= 1)
    for value in quality["defaults"].values():
        assert value["seconds"] > 0 and 0 <= value["accuracy"] <= 1
    table = "\n".join(bench_sparse.format_table(results))
    assert "Sparse X 2kx2^12" in table and "adam-lazy" in table and "Memory:" in table
    assert len(lines) == 1 + len(bench_sparse.CASES) + 2        # data, cases, memory, quality


def test_cli_sparse_runs_the_sparse_section_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(bench_sparse.SIZES, "small", "2kx2^12")
    monkeypatch.setitem(bench_sparse.QUALITY_ROWS, "small", 2_000)
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--sparse", "--json", str(out)]) == 0
    printed = capsys.readouterr()
    assert "Sparse X 2kx2^12" in printed.out and "--sparse" in printed.out
    kinds = {result["kind"] for result in json.loads(out.read_text())["results"]}
    assert kinds == {"sparse-floor", "sparse-epoch", "sparse-memory", "sparse-quality"}


def test_only_patterns_narrow_to_the_sparse_section():
    every = bench_sparse.names(("test",))
    assert all(matches(name, bench_sparse.only_patterns([])) for name in every)
    chosen = [name for name in every
              if matches(name, bench_sparse.only_patterns(["mini-batch-32*adagrad"]))]
    assert chosen == ["sparse-2kx2^12-mini-batch-32-log_loss-adagrad"]
    assert not matches("200kx100-per-sample-log_loss-sgd",
                       bench_sparse.only_patterns(["per-sample"]))


def test_cli_sparse_only_runs_the_chosen_cases(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(bench_sparse.SIZES, "small", "2kx2^12")
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--sparse", "--only", "mini-batch-32*momentum",
                 "--only", "per-sample-log_loss-adagrad", "--json", str(out)]) == 0
    capsys.readouterr()
    results = json.loads(out.read_text())["results"]
    assert {result["kind"] for result in results} == {"sparse-floor", "sparse-epoch"}
    assert sorted(result["name"] for result in results if result["kind"] == "sparse-epoch") \
        == ["sparse-2kx2^12-mini-batch-32-log_loss-momentum",
            "sparse-2kx2^12-per-sample-log_loss-adagrad"]


def test_cli_sparse_only_that_matches_nothing_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--quick", "--sparse", "--only", "minibatch32", "--json",
              "/tmp/unused.json"])
    assert "no case matches --only minibatch32 in the sparse section" in \
        capsys.readouterr().err
