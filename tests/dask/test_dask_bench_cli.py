"""`gdfast bench --dask` runs end to end on a tiny problem and prints its sections (the
times themselves are not checked: they depend on the machine)."""
import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")

from dask_processes import time_limit  # noqa: E402

from gdfast._cli import bench_dask, main  # noqa: E402

pytestmark = pytest.mark.slow


def test_bench_dask_prints_every_method_and_the_time_per_round(monkeypatch, capsys):
    monkeypatch.setattr(bench_dask, "MIN_SEARCH_BUDGET", 0.5)
    monkeypatch.setattr(bench_dask, "ROUNDS", (1, 2))
    with time_limit(600, "gdfast bench --dask --rows 800"):
        assert main(["bench", "--dask", "--rows", "800"]) == 0
    out = capsys.readouterr().out
    assert "Dask: 800 x 50 float64 in 16 chunks" in out
    assert "Time to within 1% of the optimal training loss" in out
    for loss in bench_dask.LOSSES:
        for name, (package, *_rest) in bench_dask.METHODS.items():
            if bench_dask._installed(package):
                assert any(line.startswith(loss) and name in line for line in out.splitlines())
            else:
                assert f"{name}: skipped, {package.replace('_', '-')} is not installed" in out
    assert "Gradient strategy, time per round" in out and "Bounds: a round" in out


@pytest.mark.parametrize("args", [["--rows", "1000"], ["--dask", "--rows", "5"],
                                  ["--dask", "--quick"], ["--dask", "--only", "no-such-method"]])
def test_bench_dask_bad_arguments_exit_2(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", *args])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and ("--rows" in error or "--dask" in error)
