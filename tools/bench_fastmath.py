"""Per-element time of the compiled element-wise ops at every CPU level.

    python tools/bench_fastmath.py                  # C loops, every level
    python tools/bench_fastmath.py --ref HEAD~1     # A/B against a revision
    python tools/bench_fastmath.py --python         # through mlnn._kernels

Default (C) mode: gcc builds a small program from csrc/mlnn_fastmath.c with
setup.py's flags (tools/bench_fastmath_tables.c, _main.c) and times each
level's table directly -- every level in one process, no Python call
overhead, so n = 256 is measurable.  With --ref REV the csrc/ of that git
revision is built into the same program and the two builds are alternated
call batch by call batch (an A/B in one process).  Per round, each cell is
the best of 5 batches; the table gives the median over rounds (min-max), in
ns per element.  Levels this CPU lacks are left out.

--python mode times mlnn._kernels.fast_tanh & co. of the built extension.
Each level runs in its own subprocess (MLNN_CPU_LEVEL=<level>, the only way
to select a level), and the subprocesses are alternated round by round so
that a noisy neighbour hits every level alike.  In a round, each op, dtype
and size is timed as the best of a few batches of calls (the batch sized to
about 2 ms); the table gives, per level, the median over the rounds and the
min-max, in ns per element.  The Python call overhead (measured per round
on a one-element call) is subtracted, so the figures are the C loop's.

Inputs: uniform in [-4, 4] (tanh, sigmoid) and [-20, 20] (exp), so that no
op runs a special-value path.
"""

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
from mlnn import _kernels
sizes = [int(s) for s in sys.argv[1].split(",")]
ops = sys.argv[2].split(",")
fns = {"tanh": _kernels.fast_tanh, "exp": _kernels.fast_exp,
       "sigmoid": _kernels.fast_sigmoid}
rng = np.random.RandomState(0)


def best(fn, x, out, reps, batches=5):
    t = float("inf")
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn(x, out)
        t = min(t, (time.perf_counter() - t0) / reps)
    return t


res = {"level": _kernels.cpu_levels()["selected"]}
one = np.zeros(1)
overhead = best(fns["tanh"], one, one.copy(), 2000)
res["overhead_ns"] = overhead * 1e9
for op in ops:
    for dt in ("float64", "float32"):
        for n in sizes:
            span = 20.0 if op == "exp" else 4.0
            x = rng.uniform(-span, span, n).astype(dt)
            out = np.empty_like(x)
            reps = max(1, int(2e-3 / (n * 1e-9 + overhead)))
            t = best(fns[op], x, out, reps)
            res[f"{op} {dt} {n}"] = max(t - overhead, 0.0) / n * 1e9
print(json.dumps(res))
"""


LEVELS = ["baseline", "avx2", "avx512"]
FLAGS = ["-O3", "-fno-trapping-math", "-fno-math-errno", "-Wno-unknown-pragmas"]


def c_mode(a, root):
    import shutil
    import tempfile
    tmp = tempfile.mkdtemp(prefix="mlnn-bench-fm-")
    try:
        objs = []
        builds = [("cur", os.path.join(root, "csrc"))]
        if a.ref:
            refdir = os.path.join(tmp, "ref")
            os.makedirs(refdir)
            arch = subprocess.run(["git", "archive", a.ref, "csrc"], cwd=root,
                                  capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", refdir], input=arch, check=True)
            builds.insert(0, ("ref", os.path.join(refdir, "csrc")))
        for tag, inc in builds:
            obj = os.path.join(tmp, tag + ".o")
            subprocess.run(["gcc", *FLAGS, f"-DBENCH_TAG={tag}", "-I", inc, "-c",
                            os.path.join(root, "tools", "bench_fastmath_tables.c"),
                            "-o", obj], check=True)
            objs.append(obj)
        exe = os.path.join(tmp, "bench")
        subprocess.run(["gcc", *FLAGS, *(["-DBENCH_REF"] if a.ref else []), "-I",
                        os.path.join(root, "csrc"),
                        os.path.join(root, "tools", "bench_fastmath_main.c"), *objs,
                        "-lm", "-o", exe], check=True)
        lv = ",".join(str(LEVELS.index(x)) for x in a.levels.split(","))
        print(f"# C loops, {a.rounds} rounds; ns per element, median (min-max)"
              + (f"; ref = {a.ref}, cur = working tree" if a.ref else ""))
        sys.stdout.flush()
        subprocess.run([exe, str(a.rounds), lv, a.sizes], check=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levels", default="baseline,avx2,avx512")
    ap.add_argument("--sizes", default="256,4096,65536")
    ap.add_argument("--ops", default="tanh,exp,sigmoid")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--ref", help="C mode: also build csrc/ of this git revision")
    ap.add_argument("--python", action="store_true",
                    help="time the built extension through mlnn._kernels")
    ap.add_argument("--json", help="--python: also write the raw rounds here")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not a.python:
        return c_mode(a, root)
    levels = a.levels.split(",")
    env = {k: v for k, v in os.environ.items() if k != "MLNN_CPU_PATH"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    rounds = {lv: [] for lv in levels}
    for r in range(a.rounds):
        for lv in (levels if r % 2 == 0 else levels[::-1]):
            out = subprocess.run([sys.executable, "-c", CHILD, a.sizes, a.ops],
                                 env=dict(env, MLNN_CPU_LEVEL=lv), capture_output=True,
                                 text=True, check=True, cwd=root)
            got = json.loads(out.stdout)
            if got["level"] != lv:
                print(f"# {lv}: not supported here (ran {got['level']}), skipped")
                levels = [x for x in levels if x != lv]
                continue
            rounds[lv].append(got)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rounds, f, indent=1)
    sizes = a.sizes.split(",")
    for lv in levels:
        rs = rounds[lv]
        ov = sorted(r["overhead_ns"] for r in rs)
        print(f"\n## {lv}: ns per element, median (min-max) of {len(rs)} rounds; "
              f"call overhead {ov[len(ov) // 2]:.0f} ns subtracted")
        print("| op | dtype | " + " | ".join(f"n={n}" for n in sizes) + " |")
        print("|---|---|" + "---:|" * len(sizes))
        for op in a.ops.split(","):
            for dt in ("float64", "float32"):
                cells = []
                for n in sizes:
                    v = sorted(r[f"{op} {dt} {n}"] for r in rs)
                    cells.append(f"{v[len(v) // 2]:.3f} ({v[0]:.3f}–{v[-1]:.3f})")
                print(f"| {op} | {dt} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
