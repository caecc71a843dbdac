"""``mlnn`` / ``python -m mlnn``: train the notebook's network and draw what it learned.

Every argument is checked before any training starts (numbers, layer sizes,
the data source and the CSV's contents, the output folder), and a bad one
exits with status 2 and argparse's usage message.  Exit status: 0 done,
1 training failed (diverged), 2 usage error, 130 interrupted (Ctrl-C).

Results go to stdout (the loss lines, accuracy, the files written); progress
bars and warnings go to stderr, so ``mlnn > log.txt`` keeps a clean log.
"""

import argparse
import csv
import math
import os
import sys
import time
import warnings

import numpy as np

from mlnn import _validation as V
from mlnn._callbacks import LossRiseWarning

# Milliseconds between GIF frames (20 fps), animate_preds' default.
GIF_INTERVAL = 50
# Files written into --out.
OUTPUTS = ("boundary.png", "loss.png", "gradients.png", "training.gif")
# Candidate separators for the "this CSV uses another delimiter" hint.
_OTHER_DELIMITERS = ((";", "';'-separated"), ("\t", "tab-separated"),
                     ("|", "'|'-separated"))


# -- argument types: each raises ArgumentTypeError, which argparse reports as
#    "PROG: error: argument --NAME: MESSAGE" with exit status 2 ---------------
def _int_at_least(minimum, what="an int"):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be {what} >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {what} >= {minimum}, got {value}")
        return value
    return parse


def _float_above(minimum, strict):
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value < minimum or (
                strict and value == minimum):
            raise argparse.ArgumentTypeError(
                f"must be a finite number {bound}, got {text!r}")
        return value
    return parse


def _parse_seed(text):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"must be an int in [0, 2**32), got {text!r}")
    return value


def _parse_layers(text):
    try:
        dims = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated ints like 2,4,2, got {text!r}") from None
    if len(dims) < 2:
        problem = "needs at least n_in,n_out"
    elif min(dims) < 1:
        problem = "sizes must be >= 1"
    elif dims[-1] < 2:
        problem = "n_out (the last size) must be >= 2: a softmax over at least 2 classes"
    else:
        try:
            V.check_layers_dim(dims, 2)
            return dims
        except (TypeError, ValueError) as exc:
            problem = str(exc)
    raise argparse.ArgumentTypeError(
        f"{problem}; give sizes n_in,hidden,n_out like 2,4,2, got {text!r}")


def _parse_data(text):
    if text in ("moons", "circles"):
        return text
    if text.startswith("csv:") and len(text) > 4:
        path = text[len("csv:"):]
        if not os.path.exists(path):
            problem = "no such file"
        elif os.path.isdir(path):
            problem = "it is a directory"
        elif not os.access(path, os.R_OK):
            problem = "permission denied"
        else:
            return text
        raise argparse.ArgumentTypeError(f"cannot read CSV {path!r}: {problem}")
    raise argparse.ArgumentTypeError(f"must be moons, circles or csv:PATH, got {text!r}")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends "(default: X)" to an option's help, except where there is no
    meaningful default (None, a flag's False) or the help already says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text or not action.option_strings
                or any(action.default is v for v in (None, False, argparse.SUPPRESS))):
            return text
        return f"{text} (default: %(default)s)"


def _prog(argv0):
    """'python -m mlnn' when run as a module, else the script's name (mlnn)."""
    if not argv0:
        return "mlnn"
    here = os.path.dirname(os.path.abspath(__file__))
    if (os.path.basename(argv0) == "__main__.py"
            and os.path.dirname(os.path.abspath(argv0)) == here):
        return "python -m mlnn"
    name = os.path.basename(argv0)
    return name[:-4] if name.lower().endswith(".exe") else name


def build_parser(prog="mlnn"):
    p = argparse.ArgumentParser(
        prog=prog, formatter_class=_HelpFormatter,
        description="Train the notebook's network (tanh hidden layers, softmax output)\n"
                    "by full-batch gradient descent, by default on make_moons(300,\n"
                    "noise=0.22), and write its pictures (decision regions, loss and\n"
                    "gradient norms) into --out.  The loss lines and results go to\n"
                    "stdout; progress bars and warnings to stderr.",
        epilog=f"examples:\n"
               f"  {prog} --passes 5000 --animate\n"
               f"  {prog} --data circles --layers 2,6,2 --epsilon 0.001\n"
               f"  {prog} --data csv:iris.csv --activation relu --out iris-pictures\n"
               f"\n"
               f"exit status: 0 done, 1 training diverged, 2 bad arguments or "
               f"data, 130 interrupted")
    p.add_argument("--layers", type=_parse_layers, default=None, metavar="N_IN,...,N_OUT",
                   help="layer sizes: n_in,hidden,n_out gives two hidden layers of "
                        "that width, as in the notebook; more sizes spell out every "
                        "layer (default: 2,4,2; for CSV data n_features,4,n_classes)")
    p.add_argument("--activation", choices=V.ACTIVATION_NAMES, default="tanh",
                   help="activation of the hidden layers")
    p.add_argument("--passes", type=_int_at_least(0), default=25000, metavar="N",
                   help="gradient-descent passes; 0 draws the untrained network")
    p.add_argument("--lambda", dest="reg_lambda", type=_float_above(0.0, strict=False),
                   default=0.001, metavar="L", help="L2 weight decay, >= 0")
    p.add_argument("--epsilon", type=_float_above(0.0, strict=True), default=0.0001,
                   metavar="E", help="learning rate, > 0")
    p.add_argument("--backend", choices=V.BACKENDS, default=None,
                   help="kernels: cython (compiled, fast) or numpy (the readable "
                        "reference); default: cython when it is built")
    p.add_argument("--threads", type=_int_at_least(1), default=None, metavar="N",
                   help="threads for the compiled kernels (default: auto, honouring "
                        "OMP_NUM_THREADS; small problems run serially)")
    p.add_argument("--seed", type=_parse_seed, default=0,
                   help="seed of the data and of the initial weights")
    p.add_argument("--data", type=_parse_data, default="moons",
                   metavar="moons|circles|csv:PATH",
                   help="make_moons(300, noise=0.22), make_circles(400, noise=0.18, "
                        "factor=0.005) as in the notebook's animation, or a "
                        "comma-separated file of numeric features with the class "
                        "label (a number or a name) in the last column; a header "
                        "row is optional")
    p.add_argument("--out", default="mlnn-out", metavar="DIR",
                   help="folder for boundary.png, loss.png, gradients.png (and "
                        "training.gif), created if missing")
    p.add_argument("--animate", action="store_true",
                   help="also write training.gif: the decision regions while "
                        "training (trains a second time from the same seed; needs "
                        "2 features)")
    p.add_argument("--frames", type=_int_at_least(1), default=120, metavar="N",
                   help="frames in training.gif")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars on stderr for training and for writing "
                        "training.gif (default: only when stderr is a terminal)")
    return p


# -- data --------------------------------------------------------------------------
def load_csv(path):
    """Read a CSV of numeric features with the class label in the last column.

    A first row that is not all numbers is taken as a header.  Labels may be
    integers or names; they are mapped to 0..n_classes-1 in sorted order.
    Returns (X (n_samples, n_features) float64, y (n_samples,) int64, classes
    (a list of plain Python labels)).  Raises ValueError naming the file, line
    and column on malformed input, with a hint when the file looks separated
    by something other than commas.
    """
    try:
        with open(path, newline="") as f:
            rows = [(i, r) for i, r in enumerate(csv.reader(f), start=1)
                    if r and any(c.strip() for c in r)]
    except OSError as exc:
        raise ValueError(f"cannot read CSV {path!r}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: not a readable CSV text file ({exc})") from None
    try:
        return _parse_rows(path, rows)
    except ValueError as exc:
        hint = _delimiter_hint(rows)
        if hint is None:
            raise
        raise ValueError(f"{exc}; {hint}") from None


def _parse_rows(path, rows):
    if rows and len(rows[0][1]) < 2:
        raise ValueError(
            f"{path}: found {len(rows[0][1])} column on line {rows[0][0]} (mlnn "
            f"needs at least one feature column and a label column)")
    if rows and not _all_numbers(rows[0][1][:-1]):
        rows = rows[1:]  # header
    if len(rows) < 2:
        raise ValueError(f"{path}: need at least 2 data rows, found {len(rows)}")
    width = len(rows[0][1])
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
    classes = classes.tolist()  # plain Python values, for messages and printing
    if len(classes) < 2:
        raise ValueError(
            f"{path}: the label column holds a single class ({classes[0]!r}); "
            f"a classifier needs at least 2")
    return X, y.astype(np.int64), classes


def _delimiter_hint(rows):
    """"the file looks ';'-separated -- ..." when the data lines all hold
    another separator; None otherwise.  The first line may be a header."""
    sample = rows[:6]
    body = sample[1:] or sample
    lines = [",".join(cells) for _, cells in body]
    for sep, label in _OTHER_DELIMITERS:
        if lines and all(sep in line for line in lines):
            return f"the file looks {label} -- mlnn reads comma-separated values"
    if body and all(len(cells) == 1 and len(cells[0].split()) > 1 for _, cells in body):
        return "the file looks whitespace-separated -- mlnn reads comma-separated values"
    return None


def _csv_feature_names(path, n_features):
    """The feature names in a CSV's header row (the first row, when it is not
    all numbers), for the pictures' axis labels; None without a header."""
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if row and any(c.strip() for c in row):
                names = [c.strip() for c in row[:-1]]
                if len(names) == n_features and not _all_numbers(names):
                    return names
                return None
    return None


def _all_numbers(cells):
    try:
        for c in cells:
            float(c)
    except ValueError:
        return False
    return True


def load_data(spec, seed):
    """(X, y, classes) for --data: moons, circles or csv:PATH."""
    import sklearn.datasets
    if spec == "moons":
        X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=seed)
        return X, y, [0, 1]
    if spec == "circles":
        X, y = sklearn.datasets.make_circles(400, noise=0.18, factor=0.005,
                                             random_state=seed)
        return X, y, [0, 1]
    return load_csv(spec[len("csv:"):])


# -- checks that need the data or the file system -----------------------------------
def _check_out(parser, out):
    """--out must be a folder we can write into (created here, before training)."""
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        parser.error(f"argument --out: cannot create the folder {out!r}: "
                     f"{exc.strerror or exc}")
    if not os.access(out, os.W_OK | os.X_OK):
        parser.error(f"argument --out: cannot write into {out!r}: permission denied")
    for name in OUTPUTS:
        if os.path.isdir(os.path.join(out, name)):
            parser.error(f"argument --out: {os.path.join(out, name)!r} is a folder, "
                         f"so {name} cannot be written there")


def _check_layers(parser, layers, n_features, n_classes):
    if layers[0] != n_features or layers[-1] < n_classes:
        parser.error(
            f"argument --layers: {','.join(map(str, layers))} does not fit the data: "
            f"it has {n_features} features and {n_classes} classes, so n_in must be "
            f"{n_features} and n_out at least {n_classes}")


# -- output ---------------------------------------------------------------------------
def _warn_to_stderr(prog):
    """showwarning that prints 'PROG: warning: ...' on stderr (through tqdm, so
    an active progress bar is not broken)."""
    from tqdm import tqdm

    def show(message, category, filename, lineno, file=None, line=None):
        tqdm.write(f"{prog}: warning: {message}", file=sys.stderr)
    return show


def _save_gif(anim, path, progress):
    """Write the animation as a GIF, with a frame-by-frame bar on stderr."""
    from matplotlib.animation import PillowWriter
    from tqdm import tqdm

    with tqdm(total=len(getattr(anim, "passes", ())) or None, desc="training.gif",
              unit="frame", file=sys.stderr, disable=not progress) as bar:
        def advance(i, n):
            # called as frame i (0-based) of n is drawn, before it is grabbed
            if bar.total != n:
                bar.total = n
            bar.update(i + 1 - bar.n)
        anim.save(path, writer=PillowWriter(fps=1000.0 / GIF_INTERVAL),
                  progress_callback=advance)


def main(argv=None):
    """Run the command line; returns the exit status (usage errors raise
    SystemExit(2), as argparse does)."""
    prog = _prog(sys.argv[0]) if argv is None else "mlnn"
    parser = build_parser(prog)
    args = parser.parse_args(argv)

    # -- everything that can be checked, before any training ------------------
    from mlnn import _backend
    if args.backend == "cython" and not _backend.COMPILED:
        parser.error(f"argument --backend: cython needs mlnn's compiled extension, "
                     f"which failed to import ({_backend.IMPORT_ERROR}); use "
                     f"--backend numpy or rebuild mlnn")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error(f"argument --out: {args.out!r} is a file; give a folder (it is "
                     f"created if missing)")
    try:
        X, y, classes = load_data(args.data, args.seed)
    except ValueError as exc:
        parser.error(f"argument --data: {exc}")
    n_features, n_classes = X.shape[1], len(classes)
    layers = args.layers or [n_features, 4, n_classes]
    _check_layers(parser, layers, n_features, n_classes)
    if args.animate and n_features != 2:
        parser.error(f"argument --animate: training.gif draws decision regions in "
                     f"the plane, so it needs data with 2 features; this data has "
                     f"{n_features}")
    from mlnn import neural_net

    def make_net():
        return neural_net(layers, activation=args.activation, backend=args.backend,
                          n_threads=args.threads, random_state=args.seed)

    try:
        nn = make_net()
    except MemoryError:
        parser.error(f"argument --layers: a network of sizes "
                     f"{','.join(map(str, layers))} does not fit in memory")
    _check_out(parser, args.out)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    if args.data.startswith("csv:"):
        print(f"Data: {X.shape[0]} rows, {n_features} features, classes "
              + ", ".join(f"{k}={c!r}" for k, c in enumerate(classes)))

    # Agg: this writes files and must work on machines with no display.
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mlnn import DivergenceError

    with warnings.catch_warnings():
        warnings.showwarning = _warn_to_stderr(prog)
        try:
            _run(args, nn, make_net, X, y, n_features, progress, plt,
                 _picture_names(args.data, n_features, classes))
        except DivergenceError as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"{prog}: interrupted", file=sys.stderr)
            return 130
    return 0


def _picture_names(data, n_features, classes):
    """visualize_preds' title, axis and legend names for --data."""
    if not data.startswith("csv:"):
        return dict(data_name=data, class_names=[str(c) for c in classes])
    path = data[len("csv:"):]
    return dict(data_name=os.path.basename(path), class_names=[str(c) for c in classes],
                feature_names=_csv_feature_names(path, n_features))


def _run(args, nn, make_net, X, y, n_features, progress, plt, picture_names):
    t0 = time.perf_counter()
    nn.train(X, y, args.reg_lambda, args.epsilon, num_pass=args.passes,
             progress=progress)
    wall = time.perf_counter() - t0
    acc = float(np.mean(nn.predict(X) == y))
    print(f"Training accuracy: {acc:.4f}")
    print(f"Wall time: {wall:.3f} s ({nn.backend_} backend, {args.passes} passes)")

    def write(name, ax):
        path = os.path.join(args.out, name)
        ax.figure.savefig(path, dpi=100)
        plt.close(ax.figure)
        print(f"Wrote {path}")

    if n_features == 2:
        write("boundary.png", nn.visualize_preds(X, y, **picture_names))
    else:
        print(f"Skipped boundary.png: decision regions need 2 features, the data "
              f"has {n_features}")
    if nn.history_["pass"]:
        write("loss.png", nn.plot_loss())
        write("gradients.png", nn.plot_gradients())
    else:
        print("Skipped loss.png and gradients.png: no passes were run")
    if args.animate:
        # A fresh network from the same seed: animate_preds trains it to
        # exactly the weights above, recording the regions as it goes.
        path = os.path.join(args.out, "training.gif")
        if progress:
            print("training.gif: training again from the same seed to record "
                  "the frames...", file=sys.stderr, flush=True)
        with warnings.catch_warnings():
            # the same training again: its loss-rise warning was given above
            warnings.simplefilter("ignore", LossRiseWarning)
            anim = make_net().animate_preds(X, y, args.reg_lambda, args.epsilon,
                                            num_pass=args.passes, frames=args.frames,
                                            interval=GIF_INTERVAL)
        _save_gif(anim, path, progress)
        print(f"Wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
