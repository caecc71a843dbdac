"""The one place that decides how many threads a kernel call gets.

Modelled on scikit-learn's ``_openmp_effective_n_threads``:

* ``omp_get_max_threads()`` already honours ``OMP_NUM_THREADS`` and any
  ``threadpoolctl.threadpool_limits(user_api="openmp")`` in force;
* it is capped by the CPUs this process may run on (cgroups/affinity);
* automatic choice (``n_threads=None``) runs serially when a team of threads
  would not pay for itself (scikit-learn #30662): see ``choose`` below;
* a forked child whose parent already ran an OpenMP team is kept serial,
  because GNU OpenMP's thread pool does not survive fork.

Kernels receive the result explicitly; nothing here calls omp_set_num_threads.
"""

import os

from mlnn import _backend

# The automatic choice.  What a team of threads costs (waking it, joining
# it, one chunk per thread left idle at the end) and what a row of work costs
# both vary several-fold between hosts, networks and thread counts, so no
# fixed amount of work separates "serial" from "parallel" everywhere.  Instead
# the caller (mlnn._core) measures its own kernel once per process and
# network shape, on one chunk of rows per thread, serially and with the team,
# and ``choose`` predicts the call at hand from those two timings.  Only
# speed depends on the outcome: results are the same for any thread count.
#
# From this many multiply-adds per pass (n_samples * sum of n_in * n_out) a
# team always pays: at the fastest per-core rates today that is a few hundred
# microseconds of work per pass, tens of times what waking even a large team
# costs.  Such calls take every thread without measuring anything.
PARALLEL_WORK = 1 << 24
# A team must be predicted this many times faster than one thread, a margin
# for the error of a prediction from a short measurement.
TEAM_MARGIN = 1.2

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


def effective_n_threads(n_threads=None):
    """The most threads a kernel call may use: n_threads (None = automatic,
    or a positive int) capped by max_threads().  With n_threads=None the
    caller may still choose fewer (``choose``)."""
    limit = max_threads()
    return limit if n_threads is None else min(n_threads, limit)


def choose(n_team, n_chunks, serial_seconds, team_overhead):
    """Threads for an automatic call: n_team or 1.

    n_team : threads the team would have (at most n_chunks, > 1)
    n_chunks : the call's units of parallel work (equal chunks of rows)
    serial_seconds : predicted time of the call on one thread
    team_overhead : measured extra time of the team, beyond its share of
        the work (wake-up, join, the per-thread scratch)

    The team's time is its slowest thread, ceil(n_chunks / n_team) chunks,
    plus the overhead; the team is chosen when that is at least TEAM_MARGIN
    times faster than one thread.
    """
    if n_team <= 1 or n_chunks <= 1:
        return 1
    rounds = -(-n_chunks // n_team)
    team_seconds = serial_seconds * rounds / n_chunks + team_overhead
    return n_team if team_seconds * TEAM_MARGIN <= serial_seconds else 1


def note_team(n):
    """Record that a kernel call will run n threads (keeps forked children
    serial); returns n."""
    if n > 1:
        _state["team_used"] = True
    return n
