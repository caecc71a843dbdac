#!/usr/bin/env python
"""Time the pictures (issue #4): visualize_preds and animate_preds.

    python bench/bench_plots.py [--reps N] [--anim-reps N] [--jshtml]

visualize  visualize_preds at its defaults (step 0.005, 0.7 padding) on the
           notebook's [2,4,2] network trained 25000 passes on
           make_moons(300, noise=0.22, random_state=0), timed from the call
           to a finished PNG (grid, compiled predict, contourf, rendering and
           savefig).  Target: <= 1.5 s.
animate    animate_preds on the notebook's circles case: make_circles(400,
           noise=0.18, factor=0.005, random_state=1), [2,6,2], reg 1e-3,
           eps 1e-4, 35000 passes, 120 frames, saved as a GIF (Pillow).
           Timed from the call to the written file.  Target: <= 60 s.

For context it also times the pieces: the grid predict alone, and the 35000
training passes alone (train(), no pictures); --jshtml adds the notebook's
inline HTML encoding of the 120 frames.  Each row is the median and min-max
of the repetitions.  Timing lives here, never in the tests.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import sklearn.datasets  # noqa: E402

from mlnn import neural_net  # noqa: E402
from mlnn import plotting  # noqa: E402


def timed(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        plt.close("all")
    return times


def row(name, times, target=None):
    med = statistics.median(times)
    verdict = ""
    if target is not None:
        verdict = f"   target <= {target:g} s: {'met' if med <= target else 'MISSED'}"
    print(f"{name:<38} median {med:8.3f} s   min-max {min(times):.3f}-{max(times):.3f} s"
          f"   (n={len(times)}){verdict}", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=7, help="visualize_preds repetitions")
    p.add_argument("--anim-reps", type=int, default=3, help="animate_preds repetitions")
    p.add_argument("--jshtml", action="store_true",
                   help="also time to_jshtml() of the 120-frame animation")
    args = p.parse_args(argv)

    print(f"mlnn plotting bench; {os.cpu_count()} CPUs visible, "
          f"matplotlib {matplotlib.__version__}", flush=True)

    # -- visualize_preds ---------------------------------------------------------
    X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)
    nn = neural_net([2, 4, 2], random_state=0)
    nn.train(X, y, 0.001, 0.0001, num_pass=25000, print_loss=False)
    xs, ys = plotting._grid_axes(X, resolution=0.005)
    grid = plotting._grid_points(xs, ys, nn.dtype)
    print(f"visualize grid: {xs.size} x {ys.size} = {grid.shape[0]:,} points", flush=True)
    print(f"backend: {nn.backend_}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, "boundary.png")

        def visualize():
            ax = nn.visualize_preds(X, y)
            ax.figure.savefig(png)

        timed(visualize, 1)  # warm-up: imports, font cache
        row("grid predict only (one call)", timed(lambda: nn.predict(grid), args.reps))
        row("visualize_preds -> PNG", timed(visualize, args.reps), target=1.5)

        # -- animate_preds -----------------------------------------------------------
        Xc, yc = sklearn.datasets.make_circles(n_samples=400, noise=0.18, factor=0.005,
                                               random_state=1)
        gif = os.path.join(tmp, "training.gif")

        def train_only():
            neural_net([2, 6, 2], random_state=0).train(
                Xc, yc, 0.001, 0.0001, num_pass=35000, print_loss=False)

        anims = []

        def animate():
            anims.append(neural_net([2, 6, 2], random_state=0).animate_preds(
                Xc, yc, 0.001, 0.0001, num_pass=35000, frames=120, save=gif))

        row("train 35000 passes only (circles)", timed(train_only, args.anim_reps))
        row("animate_preds 120 frames -> GIF", timed(animate, args.anim_reps), target=60)
        from PIL import Image
        with Image.open(gif) as im:
            print(f"GIF: {im.n_frames} frames, {im.size[0]}x{im.size[1]} px, "
                  f"{os.path.getsize(gif) / 1e6:.2f} MB", flush=True)
        if args.jshtml:
            sizes = []

            def jshtml():
                # to_jshtml() caches its result on the animation: time fresh ones
                anim = anims[-1]
                if hasattr(anim, "_html_representation"):
                    del anim._html_representation
                sizes.append(len(anim.to_jshtml()))

            row("to_jshtml() of those 120 frames", timed(jshtml, args.anim_reps))
            print(f"jshtml: {sizes[-1] / 2**20:.2f} MB (embed_limit "
                  f"{matplotlib.rcParams['animation.embed_limit']:g} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
