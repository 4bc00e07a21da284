"""`python -m gdfast bench`: runs, prints the table, writes JSON; bad arguments exit 2.
No timing is asserted: only that the command works and says what it measured."""
import json
import subprocess
import sys

import numpy as np
import pytest

from gdfast._cli import main


def _bench(tmp_path, *args):
    # From a temporary directory, so that the installed gdfast is imported.
    return subprocess.run([sys.executable, "-m", "gdfast", "bench", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_bench_quick_prints_table_and_writes_json(tmp_path):
    done = _bench(tmp_path, "--quick", "--only", "2kx100-*-squared_error-sgd-float64",
                  "--only", "quality-2kx20-raw-GDRegressor", "--only", "quality-real-wine")
    assert done.returncode == 0, done.stderr
    assert "× floor" in done.stdout and "× bound" in done.stdout
    assert "2kx100" in done.stdout and "GDRegressor" in done.stdout
    # One progress line per measurement, on stderr.
    assert "2kx100-full-batch-squared_error-sgd-float64-t1" in done.stderr

    report = json.loads((tmp_path / "gdfast-bench.json").read_text())
    assert {"cpu", "cores", "blas", "gdfast_kernel", "python", "date"} <= set(report["machine"])
    kinds = {}
    for result in report["results"]:
        kinds.setdefault(result["kind"], []).append(result)
    assert set(kinds) == {"floor", "epoch", "quality", "quality-real"}
    assert [floor["shape"] for floor in kinds["floor"]] == ["2kx100"]
    assert kinds["floor"][0]["shuffled_read_seconds"] > 0
    assert kinds["floor"][0]["shuffled_read_targets_seconds"] > 0
    assert "reading the rows in a shuffled order" in done.stdout
    assert "reading the rows and their targets in a shuffled order" in done.stdout
    paths = {epoch["path"] for epoch in kinds["epoch"]}
    assert paths == {"per-sample", "mini-batch-32", "full-batch"}
    for epoch in kinds["epoch"]:
        assert {"name", "seconds", "x_floor", "floor_seconds", "n_threads", "dtype",
                "numpy_seconds", "x_numpy"} <= set(epoch)
        assert epoch["seconds"] > 0 and epoch["x_floor"] > 0
        # Each path's own bound: the floor for the full batch, else the larger of the
        # shuffled read and the updates alone.
        assert epoch["x_bound"] == pytest.approx(epoch["seconds"] / epoch["bound_seconds"])
        if epoch["path"] == "full-batch":
            assert epoch["bound"] == "X @ w"
            assert epoch["bound_seconds"] == epoch["floor_seconds"]
        else:
            assert epoch["shuffled_read_seconds"] > 0 and epoch["updates_seconds"] > 0
            assert epoch["shuffled_read_targets_seconds"] > 0
            assert epoch["bound_seconds"] == max(epoch["shuffled_read_targets_seconds"],
                                                 epoch["updates_seconds"])
            assert epoch["bound"] == ("rows+targets" if epoch["bound_seconds"]
                                      == epoch["shuffled_read_targets_seconds"]
                                      else "updates alone")
            assert epoch["x_shuffled_read"] == pytest.approx(
                epoch["seconds"] / epoch["shuffled_read_seconds"])
        [row] = [line.split() for line in done.stdout.splitlines()
                 if line.split()[:6] == ["2kx100", epoch["path"], epoch["loss"],
                                         epoch["optimizer"], epoch["dtype"],
                                         str(epoch["n_threads"])]]
        assert " ".join(row).count(epoch["bound"]) == 1
        assert f"{epoch['x_bound']:.2f}" in row
    per_sample = [e for e in kinds["epoch"] if e["path"] == "per-sample"]
    assert all("x_sklearn" in epoch for epoch in per_sample)
    [quality] = kinds["quality"]
    assert quality["estimator"] == "GDRegressor"
    assert {"optimal_loss", "epochs", "seconds", "ratio", "default_epochs", "short_ratio",
            "default_ratio"} <= set(quality)
    assert quality["scaling"] == "raw" and quality["short_epochs"] == 2
    assert quality["default_ratio"] >= 1 - 1e-9          # nothing beats the optimum
    [real] = kinds["quality-real"]
    assert real["data"] == "wine" and real["metric"] == "accuracy"
    assert real["difference"] == pytest.approx(real["gdfast_score"] - real["exact_score"])
    [row] = [line.split() for line in done.stdout.splitlines() if line.startswith("wine ")]
    assert row[4] == f"{real['gdfast_score']:.4f}" and row[6] == f"{real['exact_score']:.4f}"


def test_bench_json_path_is_honoured(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--quick", "--only", "2kx100-full-batch-squared_error-sgd-float64-t1",
                 "--json", "custom.json"]) == 0
    assert "× floor" in capsys.readouterr().out
    assert json.loads((tmp_path / "custom.json").read_text())["results"]
    assert not (tmp_path / "gdfast-bench.json").exists()


def test_bench_memory_table_says_what_the_share_of_x_should_be(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--quick", "--only", "memory-64MB-GDRegressor-float64-per-sample"]) == 0
    out = capsys.readouterr().out
    [result] = json.loads((tmp_path / "gdfast-bench.json").read_text())["results"]
    assert result["kind"] == "memory" and result["x_bytes"] <= 64_000_000
    assert result["added_bytes"] == result["peak_after_bytes"] - result["peak_before_bytes"]
    [row] = [line for line in out.splitlines() if line.startswith("GDRegressor")]
    assert f"{100 * result['x_fraction']:.2f}%" in row.split()
    assert "(peak after - peak before) / X.nbytes;\nit should stay below 5% (a fit makes no " \
           "copy of X); on --quick's 64 MB X, 3 MiB already make 5%." in out
    assert "issue" not in out.lower()
    assert out.rstrip().endswith("rerun with: python -m gdfast bench --quick")


@pytest.mark.parametrize("args", [["--bogus"], ["--quick", "--only", "no-such-case"],
                                  ["--json", "no-such-folder/out.json"]])
def test_bench_bad_arguments_exit_2_with_one_line(tmp_path, monkeypatch, capsys, args):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["bench", *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err, err
    assert not list(tmp_path.iterdir())      # failed before measuring or writing anything


def test_bench_network_section_prints_its_rows_and_writes_them(tmp_path):
    done = _bench(tmp_path, "--quick", "--only", "network")
    assert done.returncode == 0, done.stderr
    assert "Networks: MLPClassifier, hidden (100,), relu, Adam" in done.stdout
    report = json.loads((tmp_path / "gdfast-bench.json").read_text())
    kinds = {}
    for result in report["results"]:
        kinds.setdefault(result["kind"], []).append(result)
    assert set(kinds) == {"network-epoch", "network-accuracy"}
    epochs = kinds["network-epoch"]
    assert sorted((e["batch_size"], e["dtype"]) for e in epochs) == [
        (32, "float32"), (32, "float64"), (200, "float32"), (200, "float64")]
    table = done.stdout.splitlines()
    for epoch in epochs:
        assert epoch["n_samples"] == 2_000 and epoch["n_features"] == 100
        assert epoch["seconds"] > 0 and epoch["sklearn_seconds"] > 0
        assert epoch["x_sklearn"] == pytest.approx(epoch["sklearn_seconds"] / epoch["seconds"])
        assert epoch["x_numpy"] == pytest.approx(epoch["numpy_seconds"] / epoch["seconds"])
        assert epoch["sklearn_seconds"] == min(epoch["sklearn_default_threads_seconds"],
                                               epoch["sklearn_one_thread_seconds"])
        if epoch["dtype"] == "float32":
            assert epoch["x_float64"] == pytest.approx(epoch["seconds"]
                                                       / epoch["float64_seconds"])
        # Its row in the printed table, with the same ratios.
        [row] = [line.split() for line in table
                 if line.split()[:3] == ["2kx100", str(epoch["batch_size"]), epoch["dtype"]]]
        assert float(row[5]) == pytest.approx(epoch["x_sklearn"], abs=0.051)
        assert float(row[7]) == pytest.approx(epoch["x_numpy"], abs=0.051)
        assert epoch["name"] in done.stderr
    [accuracy] = kinds["network-accuracy"]
    assert len(accuracy["gdfast_accuracies"]) == len(accuracy["seeds"]) == 5
    assert accuracy["gdfast_accuracy"] == pytest.approx(np.mean(accuracy["gdfast_accuracies"]))
    assert accuracy["sklearn_accuracy"] == pytest.approx(np.mean(accuracy["sklearn_accuracies"]))
    assert 0.9 < accuracy["gdfast_accuracy"] <= 1 and 0.9 < accuracy["sklearn_accuracy"] <= 1
    assert accuracy["within_tolerance"] == (abs(accuracy["difference"]) <= 0.01)
    assert (f"gdfast MLPClassifier {accuracy['gdfast_accuracy']:.4f}" in done.stdout
            and f"scikit-learn MLPClassifier {accuracy['sklearn_accuracy']:.4f}" in done.stdout)


def test_bench_fit_setup_lines_per_batch_mode(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--quick", "--only", "setup"]) == 0
    out = capsys.readouterr().out
    results = json.loads((tmp_path / "gdfast-bench.json").read_text())["results"]
    assert [r["kind"] for r in results] == ["setup"] * 3
    assert [r["path"] for r in results] == ["per-sample", "mini-batch-32", "full-batch"]
    for result in results:
        assert result["n_samples"] == 2_000 and result["n_features"] == 100
        assert result["x_floor"] == result["seconds"] / result["floor_seconds"]
        [line] = [line for line in out.splitlines()
                  if line.startswith(f"  fit setup {result['path']} ")]
        assert f"= {result['x_floor']:.2f}x floor" in line
    assert ("Fit setup, 2,000 x 100 float64: GDRegressor's default fit with max_iter=1 minus "
            "its epoch, ÷ the floor X @ w") in out


def test_bench_busy_core_times_one_thread_against_every_core(tmp_path):
    done = _bench(tmp_path, "--busy-core", "--quick", "--only", "full-batch-float64",
                  "--only", "per-sample-float32")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "gdfast-bench.json").read_text())
    results = report["results"]
    assert [(r["path"], r["dtype"]) for r in results] == [("per-sample", "float32"),
                                                          ("full-batch", "float64")]
    for result in results:
        assert result["kind"] == "busy-core" and result["shape"] == "2kx100"
        assert result["n_threads"] == report["machine"]["cores"]
        for state in ("free", "busy"):
            one, every = result[f"{state}_one_thread_seconds"], result[f"{state}_seconds"]
            assert one > 0 and every > 0
            assert result[f"{state}_ratio"] == pytest.approx(every / one)
            assert 0 < result[f"{state}_one_thread_min_seconds"] <= one
            assert 0 < result[f"{state}_min_seconds"] <= every
        assert result["within_limit"] == (result["busy_ratio"] <= result["limit"])
        [row] = [line.split() for line in done.stdout.splitlines()
                 if line.split()[:3] == ["2kx100", result["path"], result["dtype"]]]
        # shape, path, dtype, threads, then time, time, ratio when free and when busy.
        assert (row[6], row[9]) == (f"{result['free_ratio']:.2f}",
                                    f"{result['busy_ratio']:.2f}")
    assert "one core busy" in done.stderr
    assert "issue" not in done.stdout.lower()


def test_busy_core_stops_its_spinning_process_even_on_ctrl_c():
    from gdfast._cli import bench
    with pytest.raises(KeyboardInterrupt):
        with bench.BusyCore() as busy:
            assert busy.process.poll() is None              # spinning
            raise KeyboardInterrupt
    assert busy.process.poll() is not None


def test_bench_busy_core_rejects_an_unknown_case(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--busy-core", "--quick", "--only", "no-such-case"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "busy-core-2kx100-per-sample-float64" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_bench_log_loss_and_float32_ratios_come_from_paired_epochs(tmp_path, monkeypatch,
                                                                    capsys):
    """A log loss case is timed in turn with squared error on the same path and in the same
    dtype (its printed ratio is theirs), and float32 squared error with float64 (its
    f32/f64 column)."""
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--quick", "--only", "2kx100-full-batch-log_loss-sgd-float64-t1",
                 "--only", "2kx100-per-sample-squared_error-sgd-float32-t1",
                 "--only", "2kx100-per-sample-log_loss-sgd-float32-t1"]) == 0
    out = capsys.readouterr().out
    results = json.loads((tmp_path / "gdfast-bench.json").read_text())["results"]
    epochs = [r for r in results if r["kind"] == "epoch"]
    [log] = [r for r in epochs if r["loss"] == "log_loss" and r["dtype"] == "float64"]
    [log32] = [r for r in epochs if r["loss"] == "log_loss" and r["dtype"] == "float32"]
    [single] = [r for r in epochs if r["loss"] == "squared_error" and r["dtype"] == "float32"]
    assert log["paired_baseline"] == "2kx100-full-batch-squared_error-sgd-float64-t1"
    assert log32["paired_baseline"] == "2kx100-per-sample-squared_error-sgd-float32-t1"
    assert single["paired_baseline"] == "2kx100-per-sample-squared_error-sgd-float64-t1"
    for result in (log, log32, single):
        assert result["paired_seconds"] > 0 and result["paired_baseline_seconds"] > 0
    ratio = log["paired_seconds"] / log["paired_baseline_seconds"]
    assert f"log loss ÷ squared error, 2kx100 full-batch t1: {ratio:.2f}" in out
    ratio32 = log32["paired_seconds"] / log32["paired_baseline_seconds"]
    assert f"log loss ÷ squared error, 2kx100 per-sample t1 float32: {ratio32:.2f}" in out
    assert single["x_float64"] == pytest.approx(single["paired_seconds"]
                                                / single["paired_baseline_seconds"])
