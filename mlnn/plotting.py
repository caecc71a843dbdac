"""Pictures: decision regions, training animations, loss and gradient plots.

Every function here is a thin drawing layer over the network's compiled
``predict``/``predict_proba`` and the shared training core: no maths is done
in Python beyond building the evaluation grid.

How figures appear
------------------
* ``visualize_preds`` calls ``plt.show()`` itself, as the notebook did, but
  only when it made its own figure (``ax=None``) and the backend can show
  something: Jupyter's inline backend, ipympl, or a GUI backend.  On Agg
  (scripts, tests, servers) it never calls ``show``; save the figure yourself.
* ``animate_preds`` returns a ``FuncAnimation`` whose HTML representation is
  an embedded JavaScript player, so in Jupyter it plays inline from the cell's
  return value without ``%matplotlib widget``.  Its figure is closed right away
  so the inline backend does not also print a static first frame.  With a GUI
  backend (a plain script) it opens a window and plays.
* The other functions only draw and return Axes.
"""

import os

import matplotlib
import numpy as np
from matplotlib.animation import FuncAnimation

from mlnn import _validation as V
from mlnn._callbacks import History

__all__ = ["visualize_preds", "animate_preds", "plot_loss", "plot_gradients",
           "plot_activation", "TrainingAnimation"]

# Margin around the data, in data units (the notebook's value).
PAD = 0.7
# Refuse evaluation grids larger than this: 25M points are ~1 GB of float64
# inputs and activations, far beyond what any screen can show.
MAX_GRID_POINTS = 25_000_000
# Animation frames are drawn on a coarser grid and at a modest dpi: 120 frames
# must fit comfortably under rcParams['animation.embed_limit'] (20 MB by
# default) once base64-encoded into the notebook.
ANIM_GRID = 200
ANIM_DPI = 72
ANIM_FIGSIZE = (6.0, 4.5)
POINT_SIZE = 15


# -- helpers --------------------------------------------------------------------
def _plt():
    import matplotlib.pyplot as plt
    return plt


def _backend_kind():
    """'notebook' (inline, ipympl, nbagg), 'gui' (Tk, Qt, ...), or 'none' (Agg...)."""
    name = str(matplotlib.get_backend()).lower()
    if any(key in name for key in ("inline", "ipympl", "widget", "nbagg", "notebook")):
        return "notebook"
    try:
        from matplotlib.backends import BackendFilter, backend_registry
        gui = backend_registry.list_builtin(BackendFilter.INTERACTIVE)
    except ImportError:  # matplotlib < 3.9
        from matplotlib import rcsetup
        gui = [b.lower() for b in rcsetup.interactive_bk]
    # unknown third-party backends (module://...) are treated as non-interactive:
    # plt.show() on those would only warn
    return "gui" if name in gui else "none"


def _grid_axes(X, n_x=None, n_y=None, resolution=None):
    """1-D grid coordinates covering X (n_samples, 2) with PAD on every side.

    Either a step ``resolution`` (as np.arange, like the notebook) or a number
    of points per axis.
    """
    x_min, x_max = X[:, 0].min() - PAD, X[:, 0].max() + PAD
    y_min, y_max = X[:, 1].min() - PAD, X[:, 1].max() + PAD
    if resolution is not None:
        n_x = int(np.ceil((x_max - x_min) / resolution))
        n_y = int(np.ceil((y_max - y_min) / resolution))
        if n_x * n_y > MAX_GRID_POINTS:
            raise ValueError(
                f"resolution={resolution:g} would need a {n_x} x {n_y} grid "
                f"({n_x * n_y:,} points, more than {MAX_GRID_POINTS:,}); "
                f"use a larger resolution")
        return (x_min + resolution * np.arange(n_x, dtype=np.float64),
                y_min + resolution * np.arange(n_y, dtype=np.float64))
    return np.linspace(x_min, x_max, n_x), np.linspace(y_min, y_max, n_y)


def _grid_points(xs, ys, dtype):
    """(len(ys) * len(xs), 2) C-contiguous points, row-major like meshgrid(xs, ys).

    Filled by broadcasting into one buffer of the model's dtype, so the
    compiled predict gets it without another copy.
    """
    pts = np.empty((ys.size, xs.size, 2), dtype=dtype)
    pts[:, :, 0] = xs[None, :]
    pts[:, :, 1] = ys[:, None]
    return pts.reshape(-1, 2)


def _check_2d_net(net, X, y):
    X, y = net._check_Xy(X, y)
    if X.shape[1] != 2:  # pragma: no cover - _check_Xy already matches n_in
        raise ValueError(f"decision regions need 2 input features, got {X.shape[1]}")
    if net.sizes[0] != 2:
        raise ValueError(
            f"decision regions can only be drawn for 2 input features; this "
            f"network has n_in = {net.sizes[0]}")
    return X, y


def _class_norm(n_classes):
    """Class k -> Spectral(k / (n_classes - 1)), shared by regions and points."""
    from matplotlib.colors import Normalize
    return Normalize(vmin=0, vmax=n_classes - 1)


def _class_levels(n_classes):
    # One filled band per class: class k lives in [k - 0.5, k + 0.5).
    return np.arange(n_classes + 1) - 0.5


def _scatter(ax, X, y, n_classes):
    plt = _plt()
    return ax.scatter(X[:, 0], X[:, 1], s=POINT_SIZE, c=y, cmap=plt.cm.Spectral,
                      norm=_class_norm(n_classes), edgecolors="k", linewidths=0.4,
                      zorder=3)


def _require_history(net, what):
    hist = getattr(net, "history_", None)
    if not hist or not hist.get("pass"):
        raise RuntimeError(
            f"{what} needs a training history, and this network has none: call "
            f"net.train(X, y, reg_lambda, epsilon) (or animate_preds) first. "
            f"history_ is recorded every print_every passes.")
    return hist


# -- decision regions -----------------------------------------------------------
def visualize_preds(net, X, y, ax=None, resolution=0.005, proba=False):
    """Draw the network's decision regions with the data on top.

    The plane around ``X`` (padded by 0.7) is cut into a grid of step
    ``resolution``; the whole grid goes through the compiled ``predict`` (or
    ``predict_proba``) in one call and is drawn with ``contourf`` in the
    Spectral colormap, as in the notebook.  Sample points are scattered on
    top in their class colours, so a point whose colour differs from the
    region under it is misclassified.

    Parameters
    ----------
    net : neural_net with 2 inputs
    X : array-like (n_samples, 2)
    y : array-like (n_samples,) of int labels in [0, n_out)
    ax : matplotlib Axes, optional
        Draw here.  When omitted a new (7, 5) figure is made and, if the
        backend can show figures (Jupyter inline/ipympl or a GUI),
        ``plt.show()`` is called; on Agg nothing is shown.
    resolution : float > 0, default 0.005
        Grid step in data units.  The default gives about 600k-900k points
        for make_moons data.
    proba : bool, default False
        Shade by class probability instead of the predicted class: for two
        classes the colour follows P(class 1) (with a colour bar); for more,
        each region has its class colour, faded towards white where the
        network is unsure (max probability near 1/n_out).

    Returns
    -------
    ax : matplotlib Axes

    Notes
    -----
    The model is not changed.

    Examples
    --------
    >>> import sklearn.datasets
    >>> from mlnn import neural_net
    >>> X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)
    >>> nn = neural_net([2, 4, 2], random_state=0)
    >>> _ = nn.train(X, y, 0.001, 0.0001, num_pass=2000, print_loss=False)
    >>> ax = nn.visualize_preds(X, y)
    >>> ax.figure.savefig("boundary.png")  # doctest: +SKIP
    """
    plt = _plt()
    X, y = _check_2d_net(net, X, y)
    resolution = V.check_float(resolution, "resolution", strict=True)
    proba = bool(proba)
    n_classes = net.sizes[-1]
    xs, ys = _grid_axes(X, resolution=resolution)
    pts = _grid_points(xs, ys, net.dtype)

    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(7, 5))
    if not proba:
        Z = net._model.predict(pts).reshape(ys.size, xs.size)
        ax.contourf(xs, ys, Z, levels=_class_levels(n_classes), cmap=plt.cm.Spectral,
                    norm=_class_norm(n_classes))
    else:
        P = net._model.predict_proba(pts)
        if n_classes == 2:
            cs = ax.contourf(xs, ys, P[:, 1].reshape(ys.size, xs.size),
                             levels=np.linspace(0, 1, 21), cmap=plt.cm.Spectral,
                             vmin=0, vmax=1)
            ax.figure.colorbar(cs, ax=ax, label="P(class 1)", ticks=[0, 0.25, 0.5, 0.75, 1])
        else:
            ax.imshow(_confidence_rgb(P, n_classes).reshape(ys.size, xs.size, 3),
                      origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]),
                      aspect="auto", interpolation="nearest")
    _scatter(ax, X, y, n_classes)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    if own_figure and _backend_kind() != "none":
        plt.show()
    return ax


def _confidence_rgb(P, n_classes):
    """(n, n_classes) probabilities -> (n, 3) colours: class colour faded by doubt."""
    plt = _plt()
    colors = plt.cm.Spectral(_class_norm(n_classes)(np.arange(n_classes)))[:, :3]
    top = P.max(axis=1)
    # 1/n_classes (a coin toss) -> white, 1 (certain) -> the full class colour
    strength = np.clip((top - 1 / n_classes) / (1 - 1 / n_classes), 0, 1)[:, None]
    return 1 - strength * (1 - colors[P.argmax(axis=1)])


# -- training animation -----------------------------------------------------------
def _frame_passes(num_pass, frames):
    """Pass counts shown by each frame: round(num_pass * (i / (frames - 1))**2).

    Quadratic spacing: gradient descent reshapes the regions most in its
    first passes (the notebook's circles are separated within ~2000 of
    35000), so evenly spaced frames would spend nearly all their time on a
    still picture.  Frame 0 is the initial weights, the last frame num_pass.
    """
    if frames == 1:
        return np.array([num_pass], dtype=np.int64)
    t = np.linspace(0.0, 1.0, frames)
    return np.rint(num_pass * t * t).astype(np.int64)


class TrainingAnimation(FuncAnimation):
    """The FuncAnimation returned by ``animate_preds``; shows itself inline in Jupyter.

    FuncAnimation only has an HTML representation when
    rcParams['animation.html'] is set; this one falls back to 'jshtml' so
    that a bare ``nn.animate_preds(...)`` at the end of a cell plays inline,
    with no ``%matplotlib widget`` needed.  Its frames are stored, so
    playing or saving it again never retrains.
    """

    def __init__(self, fig, func, passes, **kwargs):
        self.passes = passes
        super().__init__(fig, func, frames=len(passes), **kwargs)

    def __repr__(self):
        return (f"<TrainingAnimation: {len(self.passes)} frames, passes "
                f"{self.passes[0]}..{self.passes[-1]}>")

    def _repr_html_(self):
        if matplotlib.rcParams["animation.html"] == "none":
            return self.to_jshtml()
        return super()._repr_html_()

    def save(self, *args, **kwargs):
        # to_jshtml() and to_html5_video() also come through here
        self._mlnn_saving = True
        try:
            return super().save(*args, **kwargs)
        finally:
            self._mlnn_saving = False

    def _post_draw(self, framedata, blit):
        # While saving, the writer's grab_frame() renders the figure itself;
        # the base class would render it once more here (draw_idle draws at
        # once on Agg), doubling every frame's cost.  Live playback (GUI
        # backends) still goes through the base class.
        if getattr(self, "_mlnn_saving", False):
            return
        super()._post_draw(framedata, blit)


def animate_preds(net, X, y, reg_lambda, epsilon, num_pass=35000, frames=120,
                  interval=50, save=None):
    """Train the network and animate its decision regions as it learns.

    Training runs first, in compiled chunks between the frames' pass counts
    (through the same core as ``train``); each frame stores the grid
    predictions, the pass count and the loss.  The returned animation then
    only draws stored frames, so playing, re-playing or saving it never
    retrains, and afterwards the model holds exactly the weights that
    ``train(X, y, reg_lambda, epsilon, num_pass)`` would have left.

    Parameters
    ----------
    net : neural_net with 2 inputs
    X : array-like (n_samples, 2)
    y : array-like (n_samples,) of int labels in [0, n_out)
    reg_lambda : float >= 0, L2 weight decay
    epsilon : float > 0, learning rate
    num_pass : int >= 0, default 35000
        Total gradient-descent passes.
    frames : int >= 1, default 120
        Frames in the animation.  Frame i shows the model after
        ``round(num_pass * (i / (frames - 1))**2)`` passes: the first frame is
        the initial weights, the last the trained ones, and frames are denser
        early on, where the regions change most.
    interval : int >= 1, default 50
        Milliseconds between frames (a GIF plays at 1000 / interval fps).
    save : str or os.PathLike, optional
        Also write the animation to this file: ``.gif`` (Pillow) or ``.mp4``
        (needs ffmpeg on PATH).

    Returns
    -------
    anim : TrainingAnimation (a matplotlib.animation.FuncAnimation)
        ``anim.passes`` holds each frame's pass count.  In Jupyter, leaving it as the cell's value shows an inline JavaScript
        player (rcParams['animation.html'] is honoured when set; otherwise
        'jshtml').  Its figure is already closed, so no static frame is
        printed.  In a script with a GUI backend a window opens and plays;
        on Agg, use ``save=`` or ``anim.save(...)``.

    Notes
    -----
    ``net.history_`` is replaced by one record per frame: 'pass' is the number
    of passes done (0 for the first frame), with the loss, training accuracy
    and per-layer gradient norms ||dW_l|| at those weights.  (``train``
    records after 0-based pass i, i.e. i + 1 passes.)

    The default 120 frames at 72 dpi take a few MB as jshtml, well under
    rcParams['animation.embed_limit'] (20 MB); for many more frames raise
    that limit or save to a file.

    Examples
    --------
    >>> import sklearn.datasets
    >>> from mlnn import neural_net
    >>> X, y = sklearn.datasets.make_circles(400, noise=0.18, factor=0.005,
    ...                                      random_state=1)
    >>> nn = neural_net([2, 6, 2], random_state=0)
    >>> anim = nn.animate_preds(X, y, 0.001, 0.0001, num_pass=2000, frames=10)
    >>> anim.save("training.gif")  # doctest: +SKIP
    """
    plt = _plt()
    X, y = _check_2d_net(net, X, y)
    reg_lambda = V.check_float(reg_lambda, "reg_lambda")
    epsilon = V.check_float(epsilon, "epsilon", strict=True)
    num_pass = V.check_int(num_pass, "num_pass")
    frames = V.check_int(frames, "frames", minimum=1)
    interval = V.check_int(interval, "interval", minimum=1)
    writer = _writer_for(save, interval) if save is not None else None

    n_classes = net.sizes[-1]
    model = net._model
    xs, ys = _grid_axes(X, n_x=ANIM_GRID, n_y=ANIM_GRID)
    pts = _grid_points(xs, ys, net.dtype)

    # Train up front; store what each frame draws.  uint8 labels keep 120
    # frames of a 200x200 grid at under 5 MB.
    passes = _frame_passes(num_pass, frames)
    Z = np.empty((frames, ys.size, xs.size), dtype=np.uint8)
    losses = np.empty(frames)
    history = History(model, X, y, reg_lambda)
    done = 0
    for i, target in enumerate(passes):
        if target > done:
            # the shared core's compiled loop; slicing a run into chunks gives
            # bit-identical weights (each pass depends only on the weights)
            done += model.train(X, y, reg_lambda, epsilon, int(target - done))
        Z[i] = model.predict(pts).reshape(ys.size, xs.size)
        # the gradient at these weights: what the next pass would step along
        losses[i] = history.record(done, model.gradients(X, y, reg_lambda)[0])
    net.history_ = history.data

    fig, ax = plt.subplots(figsize=ANIM_FIGSIZE, dpi=ANIM_DPI)
    # Fixed margins rather than tight_layout(): any layout engine makes
    # savefig render every frame twice.  No tick labels: text layout is most
    # of a frame's drawing time, and the coordinates say little here.
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.92)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    _scatter(ax, X, y, n_classes)
    title = ax.set_title("")
    levels, norm = _class_levels(n_classes), _class_norm(n_classes)
    state = {"cs": None}

    def draw(i):
        # Only the filled contours and the title change between frames; the
        # axes, limits and scatter are reused.  A ContourSet is one artist
        # (its .collections are gone since matplotlib 3.8), so remove() drops
        # the whole previous frame's regions.
        if state["cs"] is not None:
            state["cs"].remove()
        state["cs"] = ax.contourf(xs, ys, Z[i], levels=levels, cmap=plt.cm.Spectral,
                                  norm=norm, zorder=1)
        title.set_text(f"pass {passes[i]:,} / {num_pass:,}    loss {losses[i]:.4f}")
        return state["cs"], title

    anim = TrainingAnimation(fig, draw, passes, interval=interval, repeat=True,
                             cache_frame_data=False)
    if writer is not None:
        anim.save(os.fspath(save), writer=writer, dpi=ANIM_DPI)
    if _backend_kind() == "gui":
        plt.show()
    else:
        # Jupyter shows the animation through its HTML repr; an open figure
        # would also be flushed as a static PNG at the end of the cell.
        plt.close(fig)
    return anim


def _writer_for(save, interval):
    from matplotlib import animation
    path = os.fspath(save)
    ext = os.path.splitext(path)[1].lower()
    fps = max(1.0, 1000.0 / interval)
    if ext == ".gif":
        return animation.PillowWriter(fps=fps)
    if ext == ".mp4":
        if not animation.writers.is_available("ffmpeg"):
            raise RuntimeError(
                f"cannot write {path!r}: saving .mp4 needs ffmpeg, which was not "
                f"found (rcParams['animation.ffmpeg_path'] = "
                f"{_rc('animation.ffmpeg_path')!r}). Install ffmpeg, or save as "
                f".gif, which only needs Pillow.")
        return animation.FFMpegWriter(fps=fps)
    raise ValueError(f"save must end in .gif or .mp4, got {path!r}")


def _rc(key):
    return matplotlib.rcParams[key]


# -- training curves -------------------------------------------------------------
def plot_loss(net, ax=None):
    """Plot the recorded loss (and training accuracy) against the pass.

    Reads ``net.history_``, which ``train`` fills every ``print_every``
    passes (and ``animate_preds`` once per frame).

    Parameters
    ----------
    net : neural_net, trained
    ax : matplotlib Axes, optional; a new (7, 4) figure when omitted.

    Returns
    -------
    ax : matplotlib Axes holding the loss; the accuracy is on a twin axis
        (``ax.right_ax``).

    Raises
    ------
    RuntimeError
        If the network has no training history.

    Examples
    --------
    >>> import sklearn.datasets
    >>> from mlnn import neural_net
    >>> X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)
    >>> nn = neural_net([2, 4, 2], random_state=0)
    >>> _ = nn.train(X, y, 0.001, 0.0001, num_pass=5000, print_loss=False)
    >>> ax = nn.plot_loss()
    """
    plt = _plt()
    hist = _require_history(net, "plot_loss")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    passes = np.asarray(hist["pass"])
    ax.plot(passes, hist["loss"], color="C0", marker="." if passes.size < 60 else None,
            label="loss")
    ax.set_xlabel("pass")
    ax.set_ylabel("loss (cross-entropy + L2)", color="C0")
    right = ax.twinx()
    right.plot(passes, hist["accuracy"], color="C1", linestyle="--",
               label="training accuracy")
    right.set_ylabel("training accuracy", color="C1")
    right.set_ylim(min(0.5, min(hist["accuracy"])) - 0.02, 1.01)
    ax.right_ax = right
    ax.set_title(f"final loss {hist['loss'][-1]:.4f}, "
                 f"accuracy {hist['accuracy'][-1]:.3f}")
    ax.grid(True, alpha=0.3)
    return ax


def plot_gradients(net, ax=None):
    """Plot each layer's gradient norm ||dW_l|| against the pass, log scale.

    This makes vanishing (norms shrinking towards the input layer) and
    exploding gradients visible.

    Parameters
    ----------
    net : neural_net, trained
    ax : matplotlib Axes, optional; a new (7, 4) figure when omitted.

    Returns
    -------
    ax : matplotlib Axes

    Raises
    ------
    RuntimeError
        If the network has no training history.

    Examples
    --------
    >>> import sklearn.datasets
    >>> from mlnn import neural_net
    >>> X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)
    >>> nn = neural_net([2, 4, 2], random_state=0)
    >>> _ = nn.train(X, y, 0.001, 0.0001, num_pass=5000, print_loss=False)
    >>> ax = nn.plot_gradients()
    """
    plt = _plt()
    hist = _require_history(net, "plot_gradients")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    passes = np.asarray(hist["pass"])
    norms = np.asarray(hist["grad_norms"], dtype=np.float64)  # (n_records, n_layers)
    sizes = net.sizes
    for l in range(norms.shape[1]):
        # log axes cannot show an exact zero; mask it rather than warn
        vals = np.where(norms[:, l] > 0, norms[:, l], np.nan)
        ax.plot(passes, vals, marker="." if passes.size < 60 else None,
                label=f"dW{l + 1} ({sizes[l]}×{sizes[l + 1]})")
    ax.set_yscale("log")
    ax.set_xlabel("pass")
    ax.set_ylabel("‖dW‖ (Frobenius, summed over samples)")
    ax.set_title("gradient norm per layer")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


# -- activations -------------------------------------------------------------------
def plot_activation(name, ax=None):
    """Draw an activation function and its derivative side by side.

    As in the notebook's cell 4: x in [-pi, pi], shown on [-3, 3].  The
    derivative is the one backprop uses (``mlnn._reference.activation_grad``).

    Parameters
    ----------
    name : {'tanh', 'relu', 'sigmoid'}
    ax : pair of matplotlib Axes, optional
        Where to draw f and f'; a new (8, 3) figure with two panels when
        omitted.

    Returns
    -------
    axes : ndarray of 2 Axes

    Examples
    --------
    >>> from mlnn.plotting import plot_activation
    >>> axes = plot_activation("tanh")
    >>> [a.get_title() for a in axes]
    ['tanh(x)', "tanh'(x)"]
    """
    from mlnn._reference import ACTIVATIONS, activate, activation_grad
    plt = _plt()
    name = V.check_activation(name)
    if ax is None:
        _, axes = plt.subplots(1, 2, figsize=(8, 3))
    else:
        axes = np.asarray(ax, dtype=object).ravel()
        if axes.size != 2:
            raise ValueError(
                f"ax must be a pair of Axes (function, derivative), got {ax!r}")
    x = np.linspace(-np.pi, np.pi, 120)
    act = activate(x, ACTIVATIONS[name])
    dact = activation_grad(act, ACTIVATIONS[name])
    for a, values, label in ((axes[0], act, f"{name}(x)"), (axes[1], dact, f"{name}'(x)")):
        a.plot(x, values)
        a.set_xlim(-3, 3)
        a.set_title(label)
        a.grid(True, alpha=0.3)
    return np.asarray(axes)
