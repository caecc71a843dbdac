"""Divergence, Ctrl-C, threads, fork and memory: nothing may crash, hang or
train silently on garbage.

Hang-prone tests run their work in a subprocess with a timeout, or under
pytest-timeout, so a hang fails instead of blocking the run.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest
import sklearn.datasets

import mlnn
from mlnn import _backend, _threads
from mlnn._callbacks import LossRiseWarning
from threadpoolctl import threadpool_info, threadpool_limits
from conftest import BACKENDS, requires_compiled

X_MOONS, Y_MOONS = sklearn.datasets.make_moons(200, noise=0.2, random_state=0)


def _fresh(backend, sizes=(2, 4, 2), **kw):
    return mlnn.neural_net(list(sizes), backend=backend, random_state=0, **kw)


def _assert_same_weights(a, b):
    for k, v in a.model.items():
        np.testing.assert_array_equal(v, b.model[k], err_msg=k)


# -- divergence ------------------------------------------------------------------

# The NumPy reference reports the overflow itself (numpy RuntimeWarnings)
# before mlnn's DivergenceError; those are expected here.
pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_divergence_raises_and_keeps_last_finite_weights(backend, activation):
    nn = _fresh(backend, activation=activation)
    with pytest.raises(mlnn.DivergenceError) as info:
        nn.train(X_MOONS, Y_MOONS, 0.01, 10.0, num_pass=3000, print_loss=False)
    msg = str(info.value)
    assert "diverged at pass" in msg and "non-finite" in msg
    assert "smaller epsilon" in msg and "got 10" in msg
    assert isinstance(info.value, FloatingPointError)
    k = nn._model.passes_done
    for v in nn.model.values():
        assert np.all(np.isfinite(v))
    assert np.isfinite(nn.crossentropy_loss(X_MOONS, Y_MOONS, 0.01))
    # the weights are exactly those of k passes from the same start
    again = _fresh(backend, activation=activation)
    if k:
        again.train(X_MOONS, Y_MOONS, 0.01, 10.0, num_pass=k, print_loss=False)
    _assert_same_weights(nn, again)
    assert f"after {k} pass" in msg


@pytest.mark.parametrize("backend", BACKENDS)
def test_divergence_in_the_weights_is_caught_by_the_kernel(backend):
    # epsilon = 1e200: the first pass gives weights ~1e200 (finite), the
    # second would overflow them to inf; the kernel must refuse to apply it.
    # Through the core without record points: neural_net.train checks the
    # loss after pass 0 and would stop first (the loss is already inf).
    nn = _fresh(backend, activation="relu")
    X, y = nn._check_Xy(X_MOONS, Y_MOONS)
    with pytest.raises(mlnn.DivergenceError, match="gradient or weights") as info:
        nn._model.train(X, y, 0.0, 1e200, 50)
    k = nn._model.passes_done
    assert f"at pass {k}" in str(info.value) and "smaller epsilon" in str(info.value)
    assert 0 < k < 50
    for v in nn.model.values():
        assert np.all(np.isfinite(v))
    again = _fresh(backend, activation="relu")
    assert again._model.train(X, y, 0.0, 1e200, k) == k
    _assert_same_weights(nn, again)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("epsilon, act", [(10.0, "tanh"), (1e200, "relu")])
def test_divergence_warn_option(backend, epsilon, act):
    nn = _fresh(backend, activation=act)
    with pytest.warns(RuntimeWarning, match="smaller epsilon"):
        out = nn.train(X_MOONS, Y_MOONS, 0.0 if epsilon > 1e100 else 0.01, epsilon,
                       num_pass=3000, print_loss=False, on_divergence="warn")
    assert nn._model.passes_done < 3000
    for k, v in out.items():
        assert np.all(np.isfinite(v))
        np.testing.assert_array_equal(v, nn.model[k])


def test_no_divergence_no_warning():
    nn = _fresh(None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.train(X_MOONS, Y_MOONS, 0.01, 0.001, num_pass=2000, print_loss=False)
    assert nn._model.passes_done == 2000


# -- Ctrl-C ------------------------------------------------------------------------

# The bound: from the signal to the exception in the caller.
CTRL_C_LATENCY = 0.2


def _interrupt_after(delay):
    """SIGINT this process from a timer thread after ``delay`` s; returns a
    dict that gets the signal's perf_counter time."""
    sent = {}

    def fire():
        sent["t"] = time.perf_counter()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay, fire)
    timer.daemon = True
    timer.start()
    return sent, timer


@pytest.fixture
def blas_serial_for_reference(request):
    """One BLAS thread while a numpy-backend test runs.

    The reference backend is NumPy matmuls; on an oversubscribed machine
    OpenBLAS's spinning threads make each small matmul ~25x slower
    (measured: 21 s instead of 0.85 s for 300 passes), which would only
    measure the machine's load, not mlnn.
    """
    backend = request.node.callspec.params.get("backend")
    if backend == "numpy":
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    else:
        yield


def _assert_ctrl_c_lands(run, what):
    # SIGINT 0.5 s into run(): KeyboardInterrupt must reach us within
    # CTRL_C_LATENCY of the signal
    sent, timer = _interrupt_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        try:
            run()
        finally:
            caught = time.perf_counter()
    timer.join()
    latency = caught - sent["t"]
    print(f"Ctrl-C latency ({what}): {latency * 1e3:.1f} ms")
    assert latency < CTRL_C_LATENCY


@pytest.fixture
def default_sigint():
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def _long_problem():
    rng = np.random.RandomState(0)
    X = rng.randn(3000, 4)
    y = (X[:, 0] * X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend, n_threads", [(b, 1) for b in BACKENDS]
                         + ([("cython", 2)] if _backend.COMPILED else []))
def test_ctrl_c_during_train(backend, n_threads, default_sigint,
                             blas_serial_for_reference):
    X, y = _long_problem()
    nn = _fresh(backend, sizes=(4, 32, 3), n_threads=n_threads)
    _assert_ctrl_c_lands(lambda: nn.train(X, y, 0.01, 1e-4, num_pass=10**9,
                                          print_loss=False, print_every=50),
                         f"{backend}, n_threads={n_threads}")

    # consistent and finite: exactly the weights of k completed passes
    k = nn._model.passes_done
    assert k > 0
    for v in nn.model.values():
        assert np.all(np.isfinite(v))
    again = _fresh(backend, sizes=(4, 32, 3), n_threads=n_threads)
    again.train(X, y, 0.01, 1e-4, num_pass=k, print_loss=False)
    _assert_same_weights(nn, again)
    # and training resumes normally
    nn.train(X, y, 0.01, 1e-4, num_pass=3, print_loss=False)
    assert nn._model.passes_done == 3


@pytest.mark.timeout(120)
def test_ctrl_c_during_animate_preds(default_sigint):
    from mlnn import plotting
    if not hasattr(plotting, "animate_preds"):
        pytest.skip("mlnn.plotting.animate_preds is not written yet")
    X, y = sklearn.datasets.make_moons(2000, noise=0.2, random_state=0)
    net = _fresh(None, sizes=(2, 48, 2))
    start = net._model.params.copy()
    _assert_ctrl_c_lands(lambda: plotting.animate_preds(net, X, y, 0.01, 1e-4,
                                                        num_pass=10**7, frames=1000),
                         "animate_preds")

    # finite, and equal to the weights after some whole number k of passes
    params = net._model.params
    assert np.all(np.isfinite(params))
    Xc = np.ascontiguousarray(X, dtype=np.float64)
    yc = np.asarray(y, dtype=np.int64)
    replay = _fresh(None, sizes=(2, 48, 2))._model
    np.testing.assert_array_equal(replay.params, start)
    for k in range(200_000):
        if np.array_equal(replay.params, params):
            break
        replay.train(Xc, yc, 0.01, 1e-4, 1)
    else:  # pragma: no cover - only on failure
        pytest.fail("the interrupted weights are not those of any whole pass")
    print(f"animate_preds interrupted after {k} passes")


# -- threads -------------------------------------------------------------------------

def _thread_problem(seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(1500, 3)
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    return X, y


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_train_on_different_models_equals_sequential(
        backend, blas_serial_for_reference):
    jobs = [(seed, n_threads) for seed in range(3) for n_threads in (1, 2)]

    def run(seed, n_threads, out):
        X, y = _thread_problem(seed)
        nn = mlnn.neural_net([3, 24, 2], backend=backend, n_threads=n_threads,
                             random_state=seed)
        out[(seed, n_threads)] = nn.train(X, y, 0.01, 1e-4, num_pass=200,
                                          print_loss=False, print_every=50)

    sequential, concurrent = {}, {}
    for job in jobs:
        run(*job, sequential)
    threads = [threading.Thread(target=run, args=(*job, concurrent)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads)
    assert concurrent.keys() == sequential.keys()
    for job in jobs:
        for k, v in sequential[job].items():
            np.testing.assert_array_equal(concurrent[job][k], v, err_msg=f"{job} {k}")
        # and the thread count never changes the result
        for k, v in sequential[(job[0], 1)].items():
            np.testing.assert_array_equal(sequential[job][k], v)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_predict_on_one_model(backend, blas_serial_for_reference):
    X, y = _thread_problem(0)
    nn = mlnn.neural_net([3, 24, 2], backend=backend, n_threads=2, random_state=0)
    nn.train(X, y, 0.01, 1e-4, num_pass=100, print_loss=False)
    before = nn._model.params.copy()
    inputs = [np.random.RandomState(s).randn(700 + 37 * s, 3) for s in range(6)]
    expected = [(nn.predict(Z), nn.predict_proba(Z)) for Z in inputs]
    errors, results = [], {}

    def run(i):
        try:
            for _ in range(15):
                results[i] = (nn.predict(inputs[i]), nn.predict_proba(inputs[i]),
                              nn.crossentropy_loss(X, y, 0.01))
        except Exception as exc:  # pragma: no cover - only on failure
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors and not any(t.is_alive() for t in threads)
    loss = nn.crossentropy_loss(X, y, 0.01)
    for i, (labels, proba) in enumerate(expected):
        np.testing.assert_array_equal(results[i][0], labels)
        np.testing.assert_array_equal(results[i][1], proba)
        assert results[i][2] == loss
    np.testing.assert_array_equal(nn._model.params, before)


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@requires_compiled
@pytest.mark.timeout(300)
def test_concurrent_train_restores_the_blas_thread_limit():
    # Layers big enough that the kernels call BLAS, so train() limits BLAS
    # to one thread; from several Python threads at once the limit must
    # still be restored at the end.
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        rng = np.random.RandomState(0)
        X = rng.randn(600, 64)
        y = (X[:, 0] > 0).astype(int)

        def run(seed):
            nn = mlnn.neural_net([64, 64, 2], n_threads=1, random_state=seed)
            assert nn._model.blas_guard(len(X)) is not None
            for _ in range(3):
                nn.train(X, y, 0.01, 1e-5, num_pass=2, print_loss=False)

        threads = [threading.Thread(target=run, args=(s,)) for s in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=240)
        assert not any(t.is_alive() for t in threads)
        assert _blas_threads() == before


# -- fork safety -----------------------------------------------------------------------

# Run in a fresh interpreter: the parent trains with a team of 2 OpenMP
# threads, then a child trains the same model.  Printing "OK" is success; a
# hang is cut off by the subprocess timeout.
FORK_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import mlnn
    from mlnn import _threads

    def problem():
        rng = np.random.RandomState(0)
        X = rng.randn(4000, 2)
        return X, (X[:, 0] * X[:, 1] > 0).astype(int)

    def child_train(_=None):
        X, y = problem()
        nn = mlnn.neural_net([2, 64, 2], n_threads=2, random_state=0)
        w = nn.train(X, y, 0.01, 1e-4, num_pass=30, print_loss=False)
        return w, _threads.max_threads(), _threads._state["forked_child"]

    if __name__ == "__main__":
        method = sys.argv[1]
        X, y = problem()
        nn = mlnn.neural_net([2, 64, 2], n_threads=2, random_state=0)
        parent = nn.train(X, y, 0.01, 1e-4, num_pass=30, print_loss=False)
        assert _threads._state["team_used"], "the parent did not run an OpenMP team"
        if method == "loky":
            from joblib import Parallel, delayed
            out = Parallel(n_jobs=2, backend="loky", timeout=120)(
                delayed(child_train)() for _ in range(2))
        else:
            import multiprocessing as mp
            with mp.get_context(method).Pool(2) as pool:
                out = pool.map_async(child_train, range(2)).get(timeout=120)
        for w, max_threads, forked in out:
            for k in parent:
                assert np.array_equal(w[k], parent[k]), k
            # a plain fork inherits the parent's dead thread pool: serial only
            assert forked == (method == "fork"), (method, forked)
            assert (max_threads == 1) == (method == "fork"), (method, max_threads)
        print("OK", method, [m for _, m, _ in out])
""")


def _run_script(tmp_path, script, *args, timeout=180):
    path = tmp_path / "script.py"
    path.write_text(script)
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(mlnn.__file__))]
        + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    try:
        return subprocess.run([sys.executable, str(path), *args], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{args}: the child process hung (no result in {timeout} s)")


needs_two_threads = pytest.mark.skipif(
    not (_backend.COMPILED and _backend._kernels.openmp_enabled()
         and _threads.cpu_count() >= 2),
    reason="needs the compiled kernels with OpenMP and 2 CPUs")


@requires_compiled
@needs_two_threads
@pytest.mark.timeout(300)
@pytest.mark.parametrize("method", ["fork", "forkserver", "loky"])
def test_training_in_child_after_parent_used_openmp(tmp_path, method):
    if method == "loky":
        pytest.importorskip("joblib")
    res = _run_script(tmp_path, FORK_SCRIPT, method)
    assert res.returncode == 0 and "OK" in res.stdout, res.stdout + res.stderr


# Without the guard in mlnn._threads, a forked child that starts an OpenMP
# team after its parent did waits forever on the parent's (absent) pool
# threads with GNU OpenMP.  This shows the guard is needed, not just harmless.
UNGUARDED_SCRIPT = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import mlnn
    from mlnn import _threads
    rng = np.random.RandomState(0)
    X = rng.randn(4000, 2)
    y = (X[:, 0] > 0).astype(int)
    mlnn.neural_net([2, 64, 2], n_threads=2).train(X, y, 0.01, 1e-4, num_pass=5,
                                                   print_loss=False)
    pid = os.fork()
    if pid == 0:
        _threads._state["forked_child"] = False      # switch the guard off
        mlnn.neural_net([2, 64, 2], n_threads=2).train(X, y, 0.01, 1e-4, num_pass=5,
                                                       print_loss=False)
        os._exit(0)
    t0 = time.time()
    while time.time() - t0 < 20:
        if os.waitpid(pid, os.WNOHANG)[0]:
            print("FINISHED"); sys.exit(0)
        time.sleep(0.05)
    os.kill(pid, 9); os.waitpid(pid, 0)
    print("HUNG")
""")


def _openmp_runtime():
    from threadpoolctl import threadpool_info
    return {i.get("prefix") for i in threadpool_info() if i.get("user_api") == "openmp"}


@requires_compiled
@needs_two_threads
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_fork_guard_is_needed_with_gnu_openmp(tmp_path):
    if "libgomp" not in _openmp_runtime():
        pytest.skip("the hang is specific to GNU OpenMP (libgomp)")
    res = _run_script(tmp_path, UNGUARDED_SCRIPT, timeout=90)
    assert "HUNG" in res.stdout, res.stdout + res.stderr


# -- memory ------------------------------------------------------------------------------

def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("backend", BACKENDS)
def test_repeated_train_and_predict_do_not_leak(backend):
    X, y = X_MOONS, Y_MOONS
    nn = _fresh(backend, sizes=(2, 8, 2))

    def step():
        nn.train(X, y, 0.01, 1e-4, num_pass=10, print_loss=False)
        nn.predict(X)

    for _ in range(500):  # warm up caches, allocator pools, lazy imports
        step()
    before = _rss_bytes()
    for _ in range(10_000):
        step()
    grown = _rss_bytes() - before
    print(f"RSS growth over 10,000 train(10)+predict ({backend}): {grown / 2**20:.2f} MB")
    assert grown < 5 * 2**20


# -- training that makes things worse ----------------------------------------------

def _rise_warnings(record):
    return [w for w in record if issubclass(w.category, LossRiseWarning)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_loss_rise_warns_for_epsilon_1_on_moons(backend):
    # epsilon=1: the first pass takes the loss from ~0.7 to 12.4, the second
    # to 195.6 (both backends, exactly): more than 10x the lowest record
    nn = _fresh(backend)
    with pytest.warns(LossRiseWarning) as record:
        nn.train(X_MOONS, Y_MOONS, 0.001, 1.0, num_pass=20, print_loss=False,
                 print_every=1, on_divergence="warn")
    (w,) = _rise_warnings(record)  # once per train() call
    msg = str(w.message)
    assert isinstance(w.message, RuntimeWarning)
    assert "training is making the model worse" in msg
    assert "at pass 1, more than 10 times its lowest value so far" in msg
    assert "(12.37" in msg and "at pass 0)" in msg
    assert "try a smaller epsilon (got 1)" in msg
    assert w.filename == __file__  # points at the caller, not into mlnn


def test_loss_rise_or_divergence_never_silent_at_notebook_scale():
    # The notebook's data and network with epsilon=1 and the default record
    # interval: whether the loss is huge or overflows at pass 1000 depends on
    # rounding (the dynamics are chaotic), but one of the two always speaks.
    X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)
    for seed in range(3):
        nn = mlnn.neural_net([2, 4, 2], random_state=seed)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            try:
                nn.train(X, y, 0.001, 1.0, num_pass=5000, print_loss=False)
                diverged = False
            except mlnn.DivergenceError:
                diverged = True
        assert diverged or _rise_warnings(record), seed


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("data", ["moons", "circles"])
def test_no_loss_rise_warning_with_default_settings(backend, data):
    # what `mlnn` does by default (and the notebook's circles animation)
    import sklearn.datasets
    if data == "moons":
        X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)
    else:
        X, y = sklearn.datasets.make_circles(400, noise=0.18, factor=0.005,
                                             random_state=1)
    nn = mlnn.neural_net([2, 4, 2], backend=backend, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.train(X, y, 0.001, 0.0001, num_pass=25000, print_loss=False)
    assert nn.history_["loss"][-1] < nn.history_["loss"][0]


class _Losses:
    """A stand-in model whose loss follows a script, for History alone."""

    def __init__(self, losses):
        self.losses = list(losses)

    def loss(self, X, y, reg_lambda, labels):
        labels[...] = y
        return self.losses.pop(0)

    def grad_norms(self, grads):
        return [0.0]


@pytest.mark.parametrize("losses, warns", [
    ([0.7, 0.3, 0.1, 0.05, 0.04], False),        # healthy
    ([0.7, 0.3, 2.9, 0.2], False),               # a bump below 10x the lowest
    ([0.7, 0.3, 3.1], True),                     # 10x above the lowest so far
    ([15.0, 7000.0, 300.0], True),               # epsilon=1 on the notebook's moons
    ([1e-6, 1e-4, 0.05], False),                 # near zero: ratios mean nothing
    ([1e-6, 0.2], True),                         # ... unless it climbs past 0.1
    ([0.7, float("inf")], False),                # non-finite: the divergence guard's
    ([0.7, float("nan"), 0.6], False),
])
def test_history_loss_rise_rule(losses, warns):
    from mlnn._callbacks import History
    X, y = np.zeros((3, 2)), np.zeros(3, dtype=np.int64)
    history = History(_Losses(losses), X, y, 0.0, epsilon=0.5)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for i in range(len(losses)):
            history.record(i, None)
    assert len(_rise_warnings(record)) == int(warns)
    if warns:
        assert "(got 0.5)" in str(record[0].message)
