"""``python -m mlnn``: train the notebook's network on built-in data."""

import argparse
import sys
import time

import numpy as np


def _parse_layers(text):
    try:
        return [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--layers must be comma-separated ints like 2,4,2, got {text!r}") from None


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m mlnn",
        description="Train the notebook's network (two tanh hidden layers, softmax "
                    "output) by full-batch gradient descent on make_moons(300, "
                    "noise=0.22).")
    p.add_argument("--layers", type=_parse_layers, default=[2, 4, 2],
                   help="layer sizes n_in,hidden,n_out (default 2,4,2)")
    p.add_argument("--passes", type=int, default=25000, help="gradient-descent passes")
    p.add_argument("--lambda", dest="reg_lambda", type=float, default=0.001,
                   help="L2 weight decay (default 0.001)")
    p.add_argument("--epsilon", type=float, default=0.0001,
                   help="learning rate (default 0.0001)")
    p.add_argument("--backend", choices=["cython", "numpy"], default=None)
    p.add_argument("--seed", type=int, default=0, help="data and weight seed")
    p.add_argument("--threads", type=int, default=None, help="threads (default: auto)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    import sklearn.datasets
    from mlnn import neural_net

    X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=args.seed)
    nn = neural_net(args.layers, backend=args.backend, n_threads=args.threads,
                    random_state=args.seed)
    t0 = time.perf_counter()
    nn.train(X, y, args.reg_lambda, args.epsilon, num_pass=args.passes)
    wall = time.perf_counter() - t0
    acc = float(np.mean(nn.predict(X) == y))
    print(f"Training accuracy: {acc:.4f}")
    print(f"Wall time: {wall:.3f} s ({nn.backend_} backend, {args.passes} passes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
