"""``mlnn.show_config()``: which build of mlnn is running, and on what.

In the spirit of ``numpy.show_config`` and ``sklearn.show_versions``.  Bug
reports and benchmarks need to know whether the compiled kernels are in use,
whether they were built with OpenMP (and which OpenMP runtime they loaded),
how many threads they will get, which CPU levels of the C ops were built,
which of them this CPU supports and which one was selected, and which BLAS
scipy's ``cython_blas`` calls.  Runtime facts come from
threadpoolctl; build facts come from the extension itself.
"""

import ctypes
import os
import platform
import sys

from mlnn import _backend, _threads
from mlnn._version import __version__


def _providing_library(module_file, symbol):
    """Path of the shared library that resolves ``symbol`` for ``module_file``.

    ``dlsym`` on the extension's own handle searches the extension and the
    libraries it was linked against, so this finds the OpenMP runtime the
    kernels really call, even when several (e.g. scikit-learn's vendored
    libgomp) are loaded in the process.  POSIX only; None elsewhere or on
    any failure.
    """
    if os.name != "posix" or module_file is None:
        return None

    class _DlInfo(ctypes.Structure):
        _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                    ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]

    try:
        # Already loaded by the import: dlopen returns the same handle.
        address = ctypes.cast(getattr(ctypes.CDLL(module_file), symbol), ctypes.c_void_p)
        dladdr = ctypes.CDLL(None).dladdr  # in libc (glibc >= 2.34, macOS)
    except (OSError, AttributeError):
        return None
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    info = _DlInfo()
    if not dladdr(address, ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.fsdecode(info.dli_fname)


def _scipy_blas_path():
    """The BLAS library scipy.linalg.cython_blas (and so mlnn's kernels) calls."""
    import scipy.linalg.cython_blas as cython_blas

    # scipy's own OpenBLAS wheels prefix their symbols; other builds do not.
    for symbol in ("scipy_dgemm_", "dgemm_", "dgemm"):
        path = _providing_library(cython_blas.__file__, symbol)
        if path is not None:
            return os.path.realpath(path)
    return None


def _openmp_runtime(pools):
    """threadpoolctl's record of the OpenMP runtime the extension uses, or None."""
    openmp = [p for p in pools if p["user_api"] == "openmp"]
    path = _providing_library(getattr(_backend._kernels, "__file__", None),
                              "omp_get_max_threads")
    if path is not None:
        real = os.path.realpath(path)
        for p in openmp:
            if os.path.realpath(p["filepath"]) == real:
                return p
        return {"prefix": os.path.basename(path), "filepath": path,
                "version": None, "num_threads": None, "user_api": "openmp"}
    # Without dladdr (Windows) fall back to the only runtime loaded, if only one.
    return openmp[0] if len(openmp) == 1 else None


def _config_info():
    """Everything ``show_config`` prints, as a dict (for tests and bug reports)."""
    import numpy
    import scipy
    import threadpoolctl

    # Loads the kernels' BLAS before threadpoolctl is asked what is loaded.
    kernels_blas = _scipy_blas_path()
    pools = threadpoolctl.threadpool_info()
    blas = [dict(p, used_by_mlnn=os.path.realpath(p["filepath"]) == kernels_blas)
            for p in pools if p["user_api"] == "blas"]
    blas.sort(key=lambda p: not p["used_by_mlnn"])
    compiled = _backend.COMPILED
    kernels = _backend._kernels
    openmp = bool(compiled and kernels.openmp_enabled())
    levels = kernels.cpu_levels() if compiled else {
        "compiled": [], "supported": [], "selected": None, "requested": None,
        "requested_known": False}

    # The automatic choice (n_threads=None) for a pass of PARALLEL_WORK.
    # Asking must not count as having run a team (that flag keeps forked
    # children serial), so nothing here calls note_team.
    auto_large = _threads.effective_n_threads(None)

    return {
        "version": __version__,
        "compiled": compiled,
        "backend": "cython" if compiled else "numpy",
        "extension": kernels.__file__ if compiled else None,
        "extension_error": None if compiled else str(_backend.IMPORT_ERROR),
        "openmp": openmp,
        "openmp_runtime": _openmp_runtime(pools) if openmp else None,
        "max_threads": _threads.max_threads(),
        "cpu_count": _threads.cpu_count(),
        # automatic threads: every one (auto_threads_large) from parallel_work
        # multiply-adds per pass on; below, measured per network shape
        "parallel_work": _threads.PARALLEL_WORK,
        "auto_threads_large": auto_large,
        # CPU levels of the C ops, by name ("baseline", "avx2", "avx512")
        "cpu_levels_compiled": levels["compiled"],
        "cpu_levels_supported": levels["supported"],
        "cpu_level": levels["selected"],
        "cpu_level_requested": levels["requested"],      # MLNN_CPU_LEVEL, or None
        "cpu_level_request_known": levels["requested_known"],
        # the same compiled and selected levels with their instruction sets,
        # e.g. "avx2 (avx2+fma)" (what bench records and test_wheel reads)
        "cpu_paths_compiled": kernels.cpu_paths_compiled().split(", ") if compiled else [],
        "cpu_path": kernels.cpu_path() if compiled else None,
        "blas": blas,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "threadpoolctl": threadpoolctl.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def _describe_pool(p):
    parts = [p.get("prefix") or p.get("internal_api") or "?"]
    if p.get("version"):
        parts.append(p["version"])
    n = p.get("num_threads")
    extra = [f"{n} thread{'s' if n != 1 else ''}"] if n else []
    extra += [p[k] for k in ("threading_layer", "architecture") if p.get(k)]
    if extra:
        parts.append("(" + ", ".join(extra) + ")")
    if p.get("used_by_mlnn"):
        parts.append("<- mlnn's kernels, via scipy.linalg.cython_blas")
    return " ".join(parts) + f"\n{'':22}{p['filepath']}"


def _describe_level_choice(info):
    if info["cpu_level"] is None:
        return "n/a"
    req = info["cpu_level_requested"]
    if req is None:
        return f"{info['cpu_level']} (the highest supported)"
    if not info["cpu_level_request_known"]:
        return (f"{info['cpu_level']} (MLNN_CPU_LEVEL={req!r} is not a level: "
                "ignored)")
    return f"{info['cpu_level']} (MLNN_CPU_LEVEL={req})"


def _format(info):
    rows = [("version", info["version"])]
    if info["compiled"]:
        rows.append(("backend", "cython (compiled extension in use)"))
        rows.append(("extension", info["extension"]))
    else:
        rows.append(("backend", "numpy -- the compiled extension is MISSING, so "
                                "the slow NumPy reference runs"))
        rows.append(("import error", info["extension_error"]))
        rows.append(("fix", "reinstall mlnn with a C compiler (pip install .) "
                            "or install a binary wheel"))
    if info["openmp"]:
        rt = info["openmp_runtime"]
        rows.append(("OpenMP", "yes, " + (_describe_pool(rt) if rt else "runtime unknown")))
    else:
        why = "built without OpenMP" if info["compiled"] else "no compiled extension"
        rows.append(("OpenMP", f"no ({why}; kernels run single-threaded)"))
    rows.append(("max threads", f"{info['max_threads']} (CPUs available: {info['cpu_count']})"))
    rows.append(("automatic threads",
                 f"{info['auto_threads_large']} per pass of >= {info['parallel_work']:,} "
                 f"multiply-adds; below, measured per network"))
    rows.append(("CPU levels built", ", ".join(info["cpu_paths_compiled"]) or "n/a"))
    rows.append(("CPU supports", ", ".join(info["cpu_levels_supported"]) or "n/a"))
    rows.append(("CPU level selected", _describe_level_choice(info)))
    if info["blas"]:
        for i, p in enumerate(info["blas"]):
            rows.append(("BLAS" if i == 0 else "", _describe_pool(p)))
    else:
        rows.append(("BLAS", "none found by threadpoolctl"))
    for key in ("numpy", "scipy", "threadpoolctl", "python", "platform"):
        rows.append((key, info[key]))
    lines = ["mlnn configuration"]
    lines += [f"  {name:<18}: {value}" if name else f"{'':22}{value}"
              for name, value in rows]
    return "\n".join(lines)


def show_config(file=None, *, as_dict=False):
    """Print which build of mlnn is running, and on what.

    Shows the version; whether the compiled extension is in use (or that it
    is missing and the NumPy fallback runs); OpenMP yes/no and the runtime
    the extension loaded; the maximum and automatic thread counts; the CPU
    levels of the C ops compiled in, those this CPU supports and the one
    selected (``MLNN_CPU_LEVEL=baseline|avx2|avx512`` caps it); the BLAS in
    use; and the numpy and scipy versions.  Please paste it into bug reports.

    Parameters
    ----------
    file : file-like, optional
        Where to print (default ``sys.stdout``).
    as_dict : bool, default False
        Return the information as a dict instead of printing it.

    Returns
    -------
    None, or a dict when ``as_dict=True``.

    Examples
    --------
    >>> import mlnn
    >>> mlnn.show_config()                              # doctest: +SKIP
    >>> mlnn.show_config(as_dict=True)["openmp"]        # doctest: +SKIP
    True
    """
    info = _config_info()
    if as_dict:
        return info
    print(_format(info), file=sys.stdout if file is None else file)
