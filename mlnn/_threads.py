"""The one place that decides how many threads a kernel call gets.

Modelled on scikit-learn's ``_openmp_effective_n_threads``:

* ``omp_get_max_threads()`` already honours ``OMP_NUM_THREADS`` and any
  ``threadpoolctl.threadpool_limits(user_api="openmp")`` in force;
* it is capped by the CPUs this process may run on (cgroups/affinity);
* automatic choice (``n_threads=None``) runs serially when the work of one
  pass is too small to pay for waking a team of threads (scikit-learn #30662);
* a forked child whose parent already ran an OpenMP team is kept serial,
  because GNU OpenMP's thread pool does not survive fork.

Kernels receive the result explicitly; nothing here calls omp_set_num_threads.
"""

import os

from mlnn import _backend

# Below this many multiply-adds per pass (n_samples * sum of n_in * n_out),
# a second thread costs more than it saves (measured: bench/run.py --threads).
SERIAL_WORK = 200_000

_state = {"team_used": False, "forked_child": False}


def _after_fork_in_child():
    if _state["team_used"]:
        _state["forked_child"] = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def cpu_count():
    """CPUs this process may use."""
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def max_threads():
    """The most threads a kernel may use in this process right now."""
    if not (_backend.COMPILED and _backend._kernels.openmp_enabled()):
        return 1
    if _state["forked_child"]:
        return 1
    return max(1, min(_backend._kernels.openmp_max_threads(), cpu_count()))


def effective_n_threads(n_threads=None, work=None):
    """Threads for one kernel call.

    n_threads : None (automatic) or a positive int (capped by max_threads()).
    work : multiply-adds per pass; with n_threads=None, small work runs serially.
    """
    limit = max_threads()
    if n_threads is None:
        n = limit
        if work is not None and work < SERIAL_WORK:
            n = 1
    else:
        n = min(n_threads, limit)
    if n > 1:
        _state["team_used"] = True
    return n
