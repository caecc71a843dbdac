"""``python -m mlnn``: train the notebook's network and draw what it learned."""

import argparse
import csv
import os
import sys
import time

import numpy as np


def _parse_layers(text):
    try:
        return [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--layers must be comma-separated ints like 2,4,2, got {text!r}") from None


def _parse_data(text):
    if text in ("moons", "circles"):
        return text
    if text.startswith("csv:") and len(text) > 4:
        return text
    raise argparse.ArgumentTypeError(
        f"--data must be moons, circles or csv:PATH, got {text!r}")


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m mlnn",
        description="Train the notebook's network (two tanh hidden layers, softmax "
                    "output) by full-batch gradient descent, by default on "
                    "make_moons(300, noise=0.22), and write its pictures "
                    "(decision regions, loss and gradient norms) into --out.")
    p.add_argument("--layers", type=_parse_layers, default=None,
                   help="layer sizes n_in,hidden,n_out (default 2,4,2; for CSV data "
                        "n_features,4,n_classes)")
    p.add_argument("--passes", type=int, default=25000, help="gradient-descent passes")
    p.add_argument("--lambda", dest="reg_lambda", type=float, default=0.001,
                   help="L2 weight decay (default 0.001)")
    p.add_argument("--epsilon", type=float, default=0.0001,
                   help="learning rate (default 0.0001)")
    p.add_argument("--backend", choices=["cython", "numpy"], default=None)
    p.add_argument("--seed", type=int, default=0, help="data and weight seed")
    p.add_argument("--threads", type=int, default=None, help="threads (default: auto)")
    p.add_argument("--data", type=_parse_data, default="moons", metavar="moons|circles|csv:PATH",
                   help="make_moons(300, noise=0.22), make_circles(400, noise=0.18, "
                        "factor=0.005) as in the notebook's animation, or a CSV file "
                        "whose last column is the class label (a header row is "
                        "optional)")
    p.add_argument("--out", default="mlnn-out",
                   help="folder for boundary.png, loss.png, gradients.png "
                        "(and training.gif); default ./mlnn-out")
    p.add_argument("--animate", action="store_true",
                   help="also write training.gif: the decision regions while training")
    p.add_argument("--frames", type=int, default=120,
                   help="frames in training.gif (default 120)")
    p.add_argument("--progress", action="store_true",
                   help="show a progress bar while training")
    return p


def load_csv(path):
    """Read a CSV of numeric features with the class label in the last column.

    A first row that is not all numbers is taken as a header.  Labels may be
    integers or names; they are mapped to 0..n_classes-1 in sorted order.
    Returns (X (n_samples, n_features) float64, y (n_samples,) int64, classes).
    Raises ValueError naming the file, line and column on malformed input.
    """
    try:
        with open(path, newline="") as f:
            rows = [(i, r) for i, r in enumerate(csv.reader(f), start=1)
                    if r and any(c.strip() for c in r)]
    except OSError as exc:
        raise ValueError(f"cannot read CSV {path!r}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: not a readable CSV text file ({exc})") from None
    if rows and not _all_numbers(rows[0][1][:-1]):
        rows = rows[1:]  # header
    if len(rows) < 2:
        raise ValueError(f"{path}: need at least 2 data rows, found {len(rows)}")
    width = len(rows[0][1])
    if width < 2:
        raise ValueError(
            f"{path}: need at least one feature column and a label column, found "
            f"{width} column on line {rows[0][0]}")
    X = np.empty((len(rows), width - 1))
    labels = []
    for k, (line, row) in enumerate(rows):
        if len(row) != width:
            raise ValueError(
                f"{path}, line {line}: expected {width} columns like the first data "
                f"row, found {len(row)}")
        for j, cell in enumerate(row[:-1]):
            try:
                X[k, j] = float(cell)
            except ValueError:
                raise ValueError(
                    f"{path}, line {line}, column {j + 1}: feature {cell!r} is not "
                    f"a number") from None
            if not np.isfinite(X[k, j]):
                raise ValueError(
                    f"{path}, line {line}, column {j + 1}: feature {cell!r} is not "
                    f"finite")
        labels.append(row[-1].strip())
    if _all_numbers(labels):
        values = np.array([float(v) for v in labels])
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            k = int(np.argmax(bad))
            raise ValueError(
                f"{path}, line {rows[k][0]}: the label (last column) must be a class, "
                f"an integer or a name; got {labels[k]!r}")
        classes, y = np.unique(values.astype(np.int64), return_inverse=True)
    else:
        classes, y = np.unique(np.array(labels), return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"{path}: the label column holds a single class ({classes[0]!r}); "
            f"a classifier needs at least 2")
    return X, y.astype(np.int64), classes.tolist()


def _all_numbers(cells):
    try:
        for c in cells:
            float(c)
    except ValueError:
        return False
    return True


def load_data(spec, seed):
    import sklearn.datasets
    if spec == "moons":
        X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=seed)
        return X, y, [0, 1]
    if spec == "circles":
        X, y = sklearn.datasets.make_circles(400, noise=0.18, factor=0.005,
                                             random_state=seed)
        return X, y, [0, 1]
    return load_csv(spec[len("csv:"):])


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error(f"--frames must be >= 1, got {args.frames}")
    try:
        X, y, classes = load_data(args.data, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    n_features, n_classes = X.shape[1], len(classes)
    layers = args.layers or [n_features, 4, n_classes]
    if layers[0] != n_features or layers[-1] < n_classes:
        parser.error(
            f"--layers {','.join(map(str, layers))} does not fit the data: it has "
            f"{n_features} features and {n_classes} classes, so n_in must be "
            f"{n_features} and n_out at least {n_classes}")
    if args.data.startswith("csv:"):
        print(f"Data: {X.shape[0]} rows, {n_features} features, classes "
              + ", ".join(f"{k}={c!r}" for k, c in enumerate(classes)))

    # Agg: this writes files and must work on machines with no display.
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mlnn import neural_net

    def make_net():
        return neural_net(layers, backend=args.backend, n_threads=args.threads,
                          random_state=args.seed)

    nn = make_net()
    t0 = time.perf_counter()
    nn.train(X, y, args.reg_lambda, args.epsilon, num_pass=args.passes,
             progress=args.progress)
    wall = time.perf_counter() - t0
    acc = float(np.mean(nn.predict(X) == y))
    print(f"Training accuracy: {acc:.4f}")
    print(f"Wall time: {wall:.3f} s ({nn.backend_} backend, {args.passes} passes)")

    os.makedirs(args.out, exist_ok=True)

    def write(name, ax):
        path = os.path.join(args.out, name)
        ax.figure.savefig(path, dpi=100)
        plt.close(ax.figure)
        print(f"Wrote {path}")

    if n_features == 2:
        write("boundary.png", nn.visualize_preds(X, y))
    else:
        print(f"Skipped boundary.png: decision regions need 2 features, the data "
              f"has {n_features}")
    if nn.history_["pass"]:
        write("loss.png", nn.plot_loss())
        write("gradients.png", nn.plot_gradients())
    else:
        print("Skipped loss.png and gradients.png: no passes were run")
    if args.animate:
        if n_features != 2:
            print(f"Skipped training.gif: it needs 2 features, the data has {n_features}")
        else:
            # A fresh network from the same seed: animate_preds trains it to
            # exactly the weights above, recording one frame at a time.
            path = os.path.join(args.out, "training.gif")
            make_net().animate_preds(X, y, args.reg_lambda, args.epsilon,
                                     num_pass=args.passes, frames=args.frames, save=path)
            print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
