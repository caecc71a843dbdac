"""The automatic thread count: mlnn._threads.choose and Model.n_threads_for.

These test the decision, not the timing: the timings a decision rests on
are injected, and the one test that measures for real checks only that the
measurement is well-formed and kept.
"""

import numpy as np
import pytest

from mlnn import _backend, _core, _threads
from mlnn._core import CHUNK_ROWS, Model, macs_per_sample, n_chunks

MARGIN = _threads.TEAM_MARGIN


@pytest.mark.parametrize("n_team, n_chunks", [(1, 8), (4, 1), (1, 1)])
def test_choose_never_builds_a_team_of_one(n_team, n_chunks):
    assert _threads.choose(n_team, n_chunks, serial_seconds=1.0, team_overhead=0.0) == 1


def test_choose_weighs_the_team_overhead_against_the_saving():
    # 2 chunks on 2 threads: the team takes half the work plus its overhead
    serial = 100e-6
    for overhead, expected in [(0.0, 2), (20e-6, 2), (serial / MARGIN - serial / 2, 2),
                               (serial / MARGIN - serial / 2 + 1e-9, 1), (40e-6, 1),
                               (1.0, 1)]:
        assert _threads.choose(2, 2, serial, overhead) == expected, overhead


def test_choose_counts_the_slowest_thread():
    # 3 equal chunks on 2 threads: one thread does 2 of them
    assert _threads.choose(2, 3, 1.0, 0.0) == 2               # 2/3 * 1.2 = 0.8
    assert _threads.choose(2, 3, 1.0, 0.2) == 1               # (2/3 + 0.2) * 1.2 > 1
    # 4 chunks on 3 threads are no faster than on 2: both take 2 rounds
    assert _threads.choose(3, 4, 1.0, 0.0) == 3
    assert _threads.choose(3, 4, 1.0, 0.34) == 1              # (1/2 + 0.34) * 1.2 > 1


def test_choose_is_monotone_in_the_work():
    # more work for the same overhead never turns a team back into one thread
    for n_team, n_chunks in [(2, 2), (2, 7), (4, 16), (16, 64)]:
        picks = [_threads.choose(n_team, n_chunks, s, 50e-6) for s in np.geomspace(1e-6, 1, 60)]
        assert picks == sorted(picks), (n_team, n_chunks)
        assert picks[0] == 1 and picks[-1] == n_team


@pytest.fixture
def four_threads(monkeypatch):
    monkeypatch.setattr(_threads, "max_threads", lambda: 4)
    monkeypatch.setattr(_core, "_team_timings", {})


def _fake_timing(monkeypatch, per_row, overhead):
    """Model._measure_team replaced: returns the given timing, logs the calls."""
    calls = []

    def measure(self, kind, n_team):
        calls.append((kind, n_team))
        return per_row, overhead
    monkeypatch.setattr(Model, "_measure_team", measure)
    return calls


def _model(sizes=(2, 16, 16, 2), n_threads=None, backend=None):
    return Model(list(sizes), "tanh", np.float64, backend, n_threads)


needs_compiled = pytest.mark.skipif(not _backend.COMPILED, reason="compiled kernels only")


@needs_compiled
def test_explicit_threads_are_taken_as_given(four_threads, monkeypatch):
    calls = _fake_timing(monkeypatch, per_row=1.0, overhead=0.0)
    m = _model(n_threads=3)
    assert m.n_threads_for(10 * CHUNK_ROWS) == 3
    assert m.n_threads_for(2 * CHUNK_ROWS) == 2          # capped by the chunks
    assert m.n_threads_for(CHUNK_ROWS) == 1
    assert calls == []


@needs_compiled
def test_one_chunk_runs_serially_without_measuring(four_threads, monkeypatch):
    calls = _fake_timing(monkeypatch, per_row=1.0, overhead=0.0)
    m = _model()
    assert m.n_threads_for(2 * CHUNK_ROWS - 1) == 1
    assert m.n_threads_for(200, "forward") == 1
    assert calls == []


@needs_compiled
def test_large_passes_take_every_thread_without_measuring(four_threads, monkeypatch):
    calls = _fake_timing(monkeypatch, per_row=0.0, overhead=1.0)   # would say serial
    m = _model((16, 64, 4))
    n = -(-_threads.PARALLEL_WORK // macs_per_sample(m.sizes))
    assert n_chunks(n, m.sizes) >= 4
    assert m.n_threads_for(n) == 4
    assert calls == []
    # one row less, and the measured timing decides
    assert m.n_threads_for(n - 1) == 1
    assert calls == [("train", 4)]


@needs_compiled
@pytest.mark.parametrize("kind", ["train", "forward"])
def test_borderline_calls_follow_the_measured_timing(four_threads, monkeypatch, kind):
    n = 8 * CHUNK_ROWS                                    # 8 chunks, 2 rounds on 4 threads
    per_row, overhead = 1e-7, 70e-6                       # serial 205 us, team 121 us
    calls = _fake_timing(monkeypatch, per_row, overhead)
    m = _model()
    assert m.n_threads_for(n, kind) == _threads.choose(4, 8, per_row * n, overhead) == 4
    # half the rows: serial 102 us, team 96 us; not 1.2x faster
    assert m.n_threads_for(n // 2, kind) == _threads.choose(4, 4, per_row * n / 2, overhead) == 1
    assert calls == [(kind, 4)]                           # measured once, then kept


@needs_compiled
def test_timings_are_kept_per_shape_kind_and_team(four_threads, monkeypatch):
    calls = _fake_timing(monkeypatch, per_row=1e-6, overhead=0.0)
    a, b = _model(), _model()
    for m in (a, b):
        m.n_threads_for(4 * CHUNK_ROWS)
        m.n_threads_for(4 * CHUNK_ROWS, "forward")
    _model((2, 8, 2)).n_threads_for(4 * CHUNK_ROWS)
    a.n_threads_for(2 * CHUNK_ROWS)                       # a team of 2: another timing
    assert calls == [("train", 4), ("forward", 4), ("train", 4), ("train", 2)]


@needs_compiled
def test_the_numpy_backend_never_measures(four_threads, monkeypatch):
    calls = _fake_timing(monkeypatch, per_row=1.0, overhead=0.0)
    _model(backend="numpy").n_threads_for(8 * CHUNK_ROWS)
    assert calls == []


@needs_compiled
def test_a_thread_limit_of_one_never_measures(monkeypatch):
    monkeypatch.setattr(_threads, "max_threads", lambda: 1)
    calls = _fake_timing(monkeypatch, per_row=1.0, overhead=0.0)
    assert _model().n_threads_for(64 * CHUNK_ROWS) == 1
    assert calls == []


@needs_compiled
@pytest.mark.parametrize("kind", ["train", "forward"])
@pytest.mark.parametrize("sizes, head", [((2, 4, 4, 2), "softmax"), ((5, 12, 1), "logistic"),
                                         ((3, 8, 2), "identity")])
def test_a_real_measurement_is_well_formed(monkeypatch, kind, sizes, head):
    monkeypatch.setattr(_core, "_team_timings", {})
    m = Model(list(sizes), "relu", np.float32, None, None, head=head)
    m.init_weights(0)
    before = m.params.copy()
    per_row, overhead = m._team_timing(kind, 2)
    assert 0 < per_row < 1e-3 and 0 <= overhead < 1.0
    assert np.array_equal(m.params, before)               # the weights are only read
    assert m._team_timing(kind, 2) == (per_row, overhead)  # kept


@needs_compiled
def test_no_team_to_time_means_one_thread(monkeypatch):
    # if the measuring rows could not be cut into two chunks, there is no team
    # to time: the timing says "never", not "free"
    monkeypatch.setattr(_core, "n_chunks", lambda n_samples, sizes: 1)
    per_row, overhead = _model()._measure_team("train", 4)
    assert overhead == np.inf
    assert _threads.choose(4, 8, per_row * 10_000, overhead) == 1
