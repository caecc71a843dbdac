"""mlnn.show_config(), the version, and the fallback when the extension is missing."""

import importlib.metadata
import io
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import scipy
from threadpoolctl import threadpool_limits

import mlnn
from mlnn import _backend, _config, _threads
from conftest import requires_compiled

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_single_sourced():
    from mlnn._version import __version__

    assert mlnn.__version__ == __version__
    # The installed metadata (editable or wheel) carries the same version.
    assert importlib.metadata.version("mlnn") == mlnn.__version__
    pyproject = ROOT / "pyproject.toml"
    if pyproject.exists():  # absent when the tests run from an installed copy
        meta = tomllib.loads(pyproject.read_text())
        assert "version" in meta["project"]["dynamic"]
        assert (meta["tool"]["setuptools"]["dynamic"]["version"]
                == {"attr": "mlnn._version.__version__"})


def test_config_info_matches_the_running_build():
    info = mlnn.show_config(as_dict=True)
    assert info == _config._config_info()
    assert info["version"] == mlnn.__version__
    assert info["compiled"] is _backend.COMPILED
    assert info["backend"] == ("cython" if _backend.COMPILED else "numpy")
    assert info["max_threads"] == _threads.max_threads()
    assert info["parallel_work"] == _threads.PARALLEL_WORK
    assert info["auto_threads_large"] == _threads.max_threads()
    assert info["numpy"] == np.__version__
    assert info["scipy"] == scipy.__version__
    assert info["blas"], "threadpoolctl found no BLAS"
    if os.name == "posix":
        # The one scipy.linalg.cython_blas calls is identified and listed first.
        assert info["blas"][0]["used_by_mlnn"]


@requires_compiled
def test_config_info_compiled_details():
    info = _config._config_info()
    assert info["extension"] == _backend._kernels.__file__
    assert info["extension_error"] is None
    assert info["openmp"] is _backend._kernels.openmp_enabled()
    assert info["cpu_path"] in info["cpu_paths_compiled"]
    assert info["cpu_paths_compiled"][0].startswith("baseline")
    levels = _backend._kernels.cpu_levels()
    assert info["cpu_levels_compiled"] == levels["compiled"]
    assert info["cpu_levels_supported"] == levels["supported"]
    assert info["cpu_level"] == levels["selected"] in info["cpu_levels_supported"]
    assert info["cpu_level_requested"] == levels["requested"]
    # the descriptions name the same levels, with their instruction sets
    assert [p.split(" (")[0] for p in info["cpu_paths_compiled"]] == levels["compiled"]
    assert info["cpu_path"].split(" (")[0] == info["cpu_level"]
    if info["openmp"] and sys.platform.startswith("linux"):
        runtime = info["openmp_runtime"]
        assert runtime is not None and runtime["user_api"] == "openmp"
        assert Path(runtime["filepath"]).exists()


def test_show_config_prints_every_fact():
    buf = io.StringIO()
    assert mlnn.show_config(file=buf) is None
    text = buf.getvalue()
    info = _config._config_info()
    for label in ("version", "backend", "OpenMP", "max threads", "automatic threads",
                  "CPU levels built", "CPU supports", "CPU level selected", "BLAS", "numpy",
                  "scipy"):
        assert f"  {label:<18}: " in text, label
    assert mlnn.__version__ in text and np.__version__ in text and scipy.__version__ in text
    if info["compiled"]:
        assert "cython (compiled extension in use)" in text
        assert f"CPU levels built  : {', '.join(info['cpu_paths_compiled'])}" in text
        assert f"CPU supports      : {', '.join(info['cpu_levels_supported'])}" in text
        assert f"CPU level selected: {info['cpu_level']} (" in text
    assert ("OpenMP            : yes" in text) is info["openmp"]


@requires_compiled
def test_show_config_follows_thread_limits():
    with threadpool_limits(limits=1, user_api="openmp"):
        info = _config._config_info()
    assert info["max_threads"] == 1
    assert info["auto_threads_large"] == 1


def test_show_config_does_not_mark_a_team_as_used():
    # The flag keeps a forked child serial; asking about threads must not set it.
    before = _threads._state["team_used"]
    _config._config_info()
    assert _threads._state["team_used"] == before


MISSING_EXTENSION = """
import io, sys, warnings
sys.modules["mlnn._kernels"] = None          # as if the extension were never built

# 1. Under the test suite's filter (pyproject: "error::RuntimeWarning:mlnn._backend")
#    the fallback is an error, so tests can never pass on it by accident.
with warnings.catch_warnings():
    warnings.filterwarnings("error", category=RuntimeWarning, module="mlnn._backend")
    try:
        import mlnn
    except RuntimeWarning as exc:
        assert "compiled extension" in str(exc)
    else:
        raise AssertionError("the fallback warning did not match the test filter")
for name in [m for m in sys.modules if m == "mlnn" or m.startswith("mlnn.")]:
    if name != "mlnn._kernels":
        del sys.modules[name]

# 2. For users: import works, one clear warning, the NumPy backend runs.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")          # show every warning, even repeats
    import mlnn
    from mlnn import _backend, _core, _network, _threads, _config   # re-imports
    import numpy as np
    X = np.random.RandomState(0).randn(40, 2)
    y = (X[:, 0] > 0).astype(int)
    nn = mlnn.neural_net([2, 3, 2], random_state=0)
    nn.train(X, y, 0.01, 0.01, num_pass=5, print_loss=False)
    buf = io.StringIO()
    mlnn.show_config(file=buf)
    info = mlnn.show_config(as_dict=True)
ours = [w for w in caught if "compiled extension" in str(w.message)]
assert len(ours) == 1, [str(w.message) for w in caught]
assert ours[0].category is RuntimeWarning
assert "falling back to the slow NumPy backend" in str(ours[0].message)
assert not _backend.COMPILED and nn.backend_ == "numpy"
assert info["backend"] == "numpy" and not info["compiled"] and not info["openmp"]
assert info["max_threads"] == 1 and info["cpu_path"] is None and info["cpu_level"] is None
assert info["cpu_levels_compiled"] == info["cpu_levels_supported"] == []
assert "None in sys.modules" in info["extension_error"]
text = buf.getvalue()
assert "compiled extension is MISSING" in text, text
assert "OpenMP            : no (no compiled extension" in text, text
try:
    mlnn.neural_net([2, 3, 2], backend="cython")
except ImportError as exc:
    assert "compiled extension" in str(exc)
else:
    raise AssertionError("backend='cython' should need the extension")
print("FALLBACK OK")
"""


def test_missing_extension_falls_back_to_numpy_and_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.run([sys.executable, "-c", MISSING_EXTENSION], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FALLBACK OK" in proc.stdout


def test_cpu_level_line_says_how_the_level_was_chosen():
    def line(level, requested=None, known=False):
        return _config._describe_level_choice(dict(
            cpu_level=level, cpu_level_requested=requested, cpu_level_request_known=known))
    assert line(None) == "n/a"
    assert line("avx512") == "avx512 (the highest supported)"
    assert line("avx2", "avx2", True) == "avx2 (MLNN_CPU_LEVEL=avx2)"
    assert line("avx2", "avx512", True) == "avx2 (MLNN_CPU_LEVEL=avx512)"   # a cap
    assert line("avx512", "fast", False) == (
        "avx512 (MLNN_CPU_LEVEL='fast' is not a level: ignored)")
