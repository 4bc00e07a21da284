"""The time-to-quality section's timing of short fits."""
from gdfast._cli import bench_quality


def scripted_fits(monkeypatch, seconds):
    """Make _timed_fit return the given wall times in turn; return the list of calls."""
    calls = []

    def timed_fit(make, X, y, **params):
        calls.append(params)
        return f"model {len(calls)}", seconds[len(calls) - 1]
    monkeypatch.setattr(bench_quality, "_timed_fit", timed_fit)
    return calls


def test_a_short_fit_is_timed_as_the_fastest_of_its_repeats(monkeypatch):
    seconds = [0.05, 0.02, 0.04, 0.013, 0.03, 0.02, 0.025, 0.001]
    calls = scripted_fits(monkeypatch, seconds)
    model, best = bench_quality._fastest_fit(None, None, None, max_iter=2)
    assert len(calls) == bench_quality.TIMED_REPEATS == 7
    assert all(params == {"max_iter": 2} for params in calls)
    assert best == min(seconds[:7]) and model == "model 1"


def test_a_fit_already_timed_counts_as_the_first_repeat(monkeypatch):
    calls = scripted_fits(monkeypatch, [0.03] * 10)
    model, best = bench_quality._fastest_fit(None, None, None, first_seconds=0.01, max_iter=3)
    assert len(calls) == bench_quality.TIMED_REPEATS - 1
    assert best == 0.01


def test_repeats_stop_once_they_have_taken_their_share_of_time(monkeypatch):
    long = bench_quality.REPEAT_SECONDS / 2
    calls = scripted_fits(monkeypatch, [long] * 10)
    bench_quality._fastest_fit(None, None, None)
    assert len(calls) == 2
