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
* ``plot_loss`` and ``plot_gradients`` only draw and return their Axes;
  ``plot_activation`` draws two panels (f and f') and returns both Axes.

Colours
-------
Class k is drawn in tab20's colour pair k: the saturated colour (tab10's) for
its sample points and the light one for its region.  A point is therefore
never the colour of its own region, and a misclassified point shows up as a
saturated dot on another class's pale hue.  The ten light colours are all
distinct from each other and from white, which proba pictures use for
"unsure" (see ``_class_colors``).
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
# animate_preds looks at the regions this many times per frame it keeps.
CANDIDATES_PER_FRAME = 8
POINT_SIZE = 15
# "unsure" in proba pictures: every class colour fades towards it.
UNSURE = np.ones(3)
# plot_loss switches to a log axis when the loss spans more than this ratio.
LOG_LOSS_SPAN = 100.0


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


def _check_2d_net(net, X, y, fit=False):
    # y -> int64 output indices (labels of any type, through net.classes_);
    # fit=True lets a network's first training fix classes_, as train does
    X, y = net._check_Xy(X, y, fit=fit)
    if X.shape[1] != 2:  # pragma: no cover - _check_Xy already matches n_in
        raise ValueError(f"decision regions need 2 input features, got {X.shape[1]}")
    if net.sizes[0] != 2:
        raise ValueError(
            f"decision regions can only be drawn for 2 input features; this "
            f"network has n_in = {net.sizes[0]}")
    return X, y


def _class_colors(n_classes):
    """(points, regions): RGB in [0, 1], each (n_classes, 3); class k is row k.

    Up to 10 classes these are tab20's pairs (tab10's saturated colours for
    points, their light companions for regions).  The light ones are at least
    16 apart from each other and 19 from white in CIE76 Lab distance (10 is
    plainly visible side by side).  No qualitative palette keeps more than 10
    classes apart; beyond that the points are spread over 'turbo' and the
    regions are those colours lightened halfway to white.
    """
    if n_classes <= 10:
        pairs = np.asarray(matplotlib.colormaps["tab20"].colors)
        return pairs[0:2 * n_classes:2], pairs[1:2 * n_classes:2]
    points = matplotlib.colormaps["turbo"](np.linspace(0.05, 0.95, n_classes))[:, :3]
    return points, 0.5 * points + 0.5 * UNSURE


def _class_levels(n_classes):
    # One filled band per class: class k lives in [k - 0.5, k + 0.5).
    return np.arange(n_classes + 1) - 0.5


def _region_cmap(n_classes):
    """(cmap, norm) mapping class k exactly to its region colour, for contourf."""
    from matplotlib.colors import BoundaryNorm, ListedColormap
    return (ListedColormap(_class_colors(n_classes)[1]),
            BoundaryNorm(_class_levels(n_classes), n_classes))


def _scatter(ax, X, y, n_classes):
    points = _class_colors(n_classes)[0]
    return ax.scatter(X[:, 0], X[:, 1], s=POINT_SIZE, c=points[y], edgecolors="k",
                      linewidths=0.4, zorder=3)


def _require_history(net, what):
    hist = getattr(net, "history_", None)
    if not hist or not hist.get("pass"):
        raise RuntimeError(
            f"{what} needs a training history, and this network has none: call "
            f"net.train(X, y, reg_lambda, epsilon) (or animate_preds) first. "
            f"history_ is recorded every print_every passes.")
    return hist


def _feature_names(X, feature_names):
    """Axis labels: feature_names, else a DataFrame's columns, else x1, x2."""
    if feature_names is None:
        columns = getattr(X, "columns", None)
        return ["x1", "x2"] if columns is None else [str(c) for c in columns]
    if isinstance(feature_names, str):
        raise TypeError(f"feature_names must be a list of 2 names, got the string "
                        f"{feature_names!r}")
    return [str(name) for name in feature_names]


def _class_names(net, class_names, n_classes):
    """n_classes display names: class_names, else net.classes_, else 0, 1, ..."""
    if class_names is None:
        class_names = getattr(net, "classes_", None)
    if class_names is None:
        class_names = []
    elif isinstance(class_names, str):
        raise TypeError(f"class_names must be a list of names, got the string "
                        f"{class_names!r}")
    names = [str(name) for name in class_names]
    if len(names) > n_classes:
        raise ValueError(f"class_names has {len(names)} names, but the network has "
                         f"{n_classes} outputs")
    # a network may have more outputs than named classes (e.g. --layers 2,4,5)
    return names + [str(k) for k in range(len(names), n_classes)]


def _class_legend(ax, names, classes, n_classes, unsure, outside):
    """A legend entry per class in ``classes``: its region colour with a point on it."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    points, regions = _class_colors(n_classes)
    handles = [(Patch(facecolor=regions[k], edgecolor="none"),
                Line2D([], [], linestyle="", marker="o", markersize=6,
                       markerfacecolor=points[k], markeredgecolor="k",
                       markeredgewidth=0.5))
               for k in classes]
    labels = [names[k] for k in classes]
    if unsure:
        handles.append(Patch(facecolor=UNSURE, edgecolor="0.55", linewidth=0.8))
        labels.append(f"unsure (max P ≈ 1/{n_classes});\npaler = less sure")
    if outside:
        # a figure legend in the constrained layout: beside the plot (and
        # beside a colour bar), never over the data
        return ax.figure.legend(handles, labels, title="class", loc="outside right upper")
    return ax.legend(handles, labels, title="class", loc="best", framealpha=0.9)


# -- decision regions -----------------------------------------------------------
def visualize_preds(net, X, y, ax=None, resolution=0.005, proba=False, title=None,
                    data_name=None, feature_names=None, class_names=None):
    """Draw the network's decision regions with the data on top.

    The plane around ``X`` (padded by 0.7) is cut into a grid of step
    ``resolution``; the whole grid goes through the compiled ``predict`` (or
    ``predict_proba``) in one call and is drawn with ``contourf``.  Each class
    has a light region colour and a saturated point colour from the same hue
    (tab20's pairs, distinct for up to 10 classes), so a point that stands
    out from the region under it is misclassified.  The picture has a title
    (layers, activation, accuracy on ``X, y``), axis labels and a legend of
    the classes.

    Parameters
    ----------
    net : neural_net with 2 inputs
    X : array-like (n_samples, 2)
        A pandas DataFrame's column names become the axis labels.
    y : array-like (n_samples,) of labels
        As for ``train``: output indices, or labels among ``net.classes_``.
    ax : matplotlib Axes, optional
        Draw here; the legend goes inside it.  When omitted a new (8, 5)
        figure is made with the legend beside the plot and, if the backend can
        show figures (Jupyter inline/ipympl or a GUI), ``plt.show()`` is
        called; on Agg nothing is shown.
    resolution : float > 0, default 0.005
        Grid step in data units.  The default gives about 600k-900k points
        for make_moons data.
    proba : bool, default False
        Shade by class probability instead of the predicted class: each
        region keeps its class colour where the network is sure and fades to
        white where it is unsure (top probability near 1/n_out).  For two
        classes a colour bar gives P(class 1); for more, the legend has an
        "unsure" entry.
    title : str, optional
        Replaces the default title, e.g. ``"[2, 4, 4, 2] tanh, accuracy 0.970"``.
    data_name : str, optional
        Put in front of the default title: ``"moons: [2, 4, 4, 2] tanh, ..."``.
    feature_names : pair of str, optional
        Axis labels; default the DataFrame's columns, else ``"x1"``, ``"x2"``.
    class_names : sequence of str, optional
        Legend names of classes 0, 1, ...; default ``net.classes_`` when the
        network has it, else the class indices.

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
    >>> ax = nn.visualize_preds(X, y, data_name="moons",
    ...                         class_names=["upper", "lower"])
    >>> ax.get_title()
    'moons: [2, 4, 4, 2] tanh, accuracy 0.960'
    >>> ax.figure.savefig("boundary.png")  # doctest: +SKIP
    """
    plt = _plt()
    features = _feature_names(X, feature_names)
    X, y = _check_2d_net(net, X, y)
    if len(features) != 2:
        raise ValueError(f"feature_names must name the 2 features, got "
                         f"{len(features)}: {features!r}")
    resolution = V.check_float(resolution, "resolution", strict=True)
    proba = bool(proba)
    n_classes = net.sizes[-1]
    names = _class_names(net, class_names, n_classes)
    xs, ys = _grid_axes(X, resolution=resolution)
    pts = _grid_points(xs, ys, net.dtype)

    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    if not proba:
        Z = net._model.predict(pts)
        cmap, norm = _region_cmap(n_classes)
        ax.contourf(xs, ys, Z.reshape(ys.size, xs.size), levels=_class_levels(n_classes),
                    cmap=cmap, norm=norm)
    else:
        P = net._model.predict_proba(pts)
        Z = P.argmax(axis=1)
        if n_classes == 2:
            # fill0 -> white -> fill1 along P(class 1): the same colours as
            # _confidence_rgb, with a colour bar to read probabilities from
            from matplotlib.colors import LinearSegmentedColormap
            regions = _class_colors(2)[1]
            cmap = LinearSegmentedColormap.from_list(
                "mlnn_proba", [regions[0], UNSURE, regions[1]])
            cs = ax.contourf(xs, ys, P[:, 1].reshape(ys.size, xs.size),
                             levels=np.linspace(0, 1, 21), cmap=cmap, vmin=0, vmax=1)
            ax.figure.colorbar(cs, ax=ax, label=f"P({names[1]})",
                               ticks=[0, 0.25, 0.5, 0.75, 1])
        else:
            ax.imshow(_confidence_rgb(P, n_classes).reshape(ys.size, xs.size, 3),
                      origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]),
                      aspect="auto", interpolation="nearest")
    _scatter(ax, X, y, n_classes)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(features[0])
    ax.set_ylabel(features[1])
    if title is None:
        title = _default_title(net, X, y, data_name)
    ax.set_title(title)
    # classes in the data or on the map; not outputs that are never used
    seen = (np.bincount(y, minlength=n_classes) + np.bincount(Z, minlength=n_classes)) > 0
    _class_legend(ax, names, np.flatnonzero(seen), n_classes,
                  unsure=proba and n_classes > 2, outside=own_figure)
    if own_figure and _backend_kind() != "none":
        plt.show()
    return ax


def _default_title(net, X, y, data_name):
    """'moons: [2, 4, 4, 2] tanh, accuracy 0.970' (accuracy on the drawn X, y)."""
    accuracy = float(np.mean(net._model.predict(X) == y))
    prefix = f"{data_name}: " if data_name else ""
    return f"{prefix}{net.sizes} {net.activation}, accuracy {accuracy:.3f}"


def _confidence_rgb(P, n_classes):
    """(n, n_classes) probabilities -> (n, 3) colours: region colour faded by doubt."""
    regions = _class_colors(n_classes)[1]
    top = P.max(axis=1)
    # 1/n_classes (a coin toss) -> UNSURE, 1 (certain) -> the full region colour
    strength = np.clip((top - 1 / n_classes) / (1 - 1 / n_classes), 0, 1)[:, None]
    return UNSURE - strength * (UNSURE - regions[P.argmax(axis=1)])


# -- training animation -----------------------------------------------------------
def _candidate_passes(num_pass, frames):
    """Pass counts at which animate_preds looks at the regions, increasing.

    Every pass when there are few; else 0, num_pass and CANDIDATES_PER_FRAME
    * frames in between, half spaced geometrically (gradient descent usually
    reshapes the regions most in its first passes) and half evenly (in case
    it does not).  The even half alone already holds ``frames`` distinct
    counts.  One frame shows the trained network only.
    """
    if frames == 1:
        return np.array([num_pass], dtype=np.int64)
    n = CANDIDATES_PER_FRAME * frames
    if num_pass < n:
        return np.arange(num_pass + 1, dtype=np.int64)
    ticks = np.concatenate(([0.0], np.geomspace(1, num_pass, n // 2),
                            np.linspace(0, num_pass, n // 2)))
    return np.unique(np.rint(ticks).astype(np.int64))


class _FrameThinner:
    """Recorded frames, thinned while training so at most ``limit`` remain.

    Each candidate frame is appended; when there are more than ``limit``, the
    inner frame whose two neighbours differ least is dropped, merging two
    steps of the animation into one.  So the kept frames end up spread
    evenly over the change in the picture, not over the pass count, and a
    stretch where nothing moves collapses into one step.  The change between
    two frames is the number of grid cells whose class differs; among equal
    changes (e.g. no cell moves at all) the smaller relative change in loss
    goes first.  The first and the newest frames are never dropped, so the
    last frame is the trained network.

    Memory: ``limit + 1`` grids of labels, whatever the number of candidates.
    """

    def __init__(self, limit, history):
        self.limit, self.history = limit, history
        self.regions, self.losses = [], []
        self.cost = []  # cost[k]: the change left by dropping frame k (inner k only)

    def add(self, passes, regions, grads):
        self.losses.append(self.history.record(passes, grads))
        self.regions.append(regions)
        self.cost.append(None)
        if len(self.regions) >= 3:
            self.cost[-2] = self._merged_change(len(self.regions) - 2)
        if len(self.regions) > self.limit:
            inner = range(1, len(self.regions) - 1)
            self._drop(min(inner, key=self.cost.__getitem__))

    def _merged_change(self, k):
        before, after = k - 1, k + 1
        cells = int(np.count_nonzero(self.regions[before] != self.regions[after]))
        a, b = self.losses[before], self.losses[after]
        loss = abs(a - b) / (abs(a) + abs(b)) if abs(a) + abs(b) > 0 else 0.0
        return cells, (loss if np.isfinite(loss) else np.inf)

    def _drop(self, k):
        for seq in (self.regions, self.losses, self.cost, *self.history.data.values()):
            del seq[k]
        # frame k's neighbours now neighbour each other
        for j in (k - 1, k):
            if 0 < j < len(self.regions) - 1:
                self.cost[j] = self._merged_change(j)


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

    Training runs first, as one run in compiled chunks (through the same core
    as ``train``), and stops at about ``8 * frames`` candidate pass counts
    to predict the regions on a 200 x 200 grid.  Of these, the ``frames``
    that show the most change are kept (see Notes), each with its grid
    predictions, pass count and loss.  The returned animation then only draws
    stored frames, so playing, re-playing or saving it never retrains, and
    afterwards the model holds exactly the weights that
    ``train(X, y, reg_lambda, epsilon, num_pass)`` would have left.

    Parameters
    ----------
    net : neural_net with 2 inputs
    X : array-like (n_samples, 2)
    y : array-like (n_samples,) of labels
        As for ``train``; on an untrained network this fixes ``net.classes_``.
    reg_lambda : float >= 0, L2 weight decay
    epsilon : float > 0, learning rate
    num_pass : int >= 0, default 35000
        Total gradient-descent passes.
    frames : int >= 1, default 120
        Frames in the animation; fewer only when ``num_pass + 1 < frames``
        (no two frames show the same pass).  The first frame is the initial
        weights (with ``frames=1``, the trained ones), the last the trained
        ones.
    interval : int >= 1, default 50
        Milliseconds between frames (a GIF plays at 1000 / interval fps).
    save : str or os.PathLike, optional
        Also write the animation to this file: ``.gif`` (Pillow) or ``.mp4``
        (needs ffmpeg on PATH).

    Returns
    -------
    anim : TrainingAnimation (a matplotlib.animation.FuncAnimation)
        ``anim.passes`` holds each frame's pass count, strictly increasing.
        In Jupyter, leaving it as the cell's value shows an inline JavaScript
        player (rcParams['animation.html'] is honoured when set; otherwise
        'jshtml').  Its figure is already closed, so no static frame is
        printed.  In a script with a GUI backend a window opens and plays;
        on Agg, use ``save=`` or ``anim.save(...)``.

    Notes
    -----
    Frames are spaced by change, not by pass count: gradient descent often
    settles the regions in its first few percent of passes (the notebook's
    circles within ~1000 of 35000) and then only sharpens the probabilities,
    so evenly spaced frames would spend most of the animation on a still
    picture.  Training looks at the regions at candidate pass counts (dense
    early, and evenly spread) and keeps the frames between which the most
    grid cells change class; where no cell changes, the change in loss
    decides.  The title shows each frame's pass count, so the jumps late in
    training are visible.

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
    >>> len(anim.passes), int(anim.passes[0]), int(anim.passes[-1])
    (10, 0, 2000)
    >>> anim.save("training.gif")  # doctest: +SKIP
    """
    plt = _plt()
    _check_2d_net(net, X, y)
    reg_lambda = V.check_float(reg_lambda, "reg_lambda")
    epsilon = V.check_float(epsilon, "epsilon", strict=True)
    num_pass = V.check_int(num_pass, "num_pass")
    frames = V.check_int(frames, "frames", minimum=1)
    interval = V.check_int(interval, "interval", minimum=1)
    writer = _writer_for(save, interval) if save is not None else None
    # everything is checked: this trains, so it may now fix net.classes_
    X, y = _check_2d_net(net, X, y, fit=True)

    n_classes = net.sizes[-1]
    model = net._model
    xs, ys = _grid_axes(X, n_x=ANIM_GRID, n_y=ANIM_GRID)
    pts = _grid_points(xs, ys, net.dtype)

    # Train up front, looking at the regions at every candidate pass count and
    # keeping the frames that change most.  uint8 labels keep 120 frames of a
    # 200x200 grid under 5 MB.
    label_type = np.uint8 if n_classes <= 256 else np.int64
    history = History(model, X, y, reg_lambda, epsilon=epsilon)
    kept = _FrameThinner(frames, history)
    done = 0
    for target in _candidate_passes(num_pass, frames):
        if target > done:
            # the shared core's compiled loop; slicing a run into chunks gives
            # bit-identical weights (each pass depends only on the weights)
            done += model.train(X, y, reg_lambda, epsilon, int(target - done))
        regions = model.predict(pts).astype(label_type).reshape(ys.size, xs.size)
        # the gradient at these weights: what the next pass would step along
        kept.add(done, regions, model.gradients(X, y, reg_lambda)[0])
    net.history_ = history.data
    passes = np.asarray(history.data["pass"], dtype=np.int64)
    Z, losses = kept.regions, kept.losses

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
    levels = _class_levels(n_classes)
    cmap, norm = _region_cmap(n_classes)
    state = {"cs": None}

    def draw(i):
        # Only the filled contours and the title change between frames; the
        # axes, limits and scatter are reused.  A ContourSet is one artist
        # (its .collections are gone since matplotlib 3.8), so remove() drops
        # the whole previous frame's regions.
        if state["cs"] is not None:
            state["cs"].remove()
        state["cs"] = ax.contourf(xs, ys, Z[i], levels=levels, cmap=cmap, norm=norm,
                                  zorder=1)
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
def plot_loss(net, ax=None, log=None):
    """Plot the recorded loss (and training accuracy) against the pass.

    Reads ``net.history_``, which ``train`` fills every ``print_every``
    passes (and ``animate_preds`` once per frame).

    Parameters
    ----------
    net : neural_net, trained
    ax : matplotlib Axes, optional; a new (7, 4) figure when omitted.
    log : None or bool, default None
        Log scale for the loss axis.  None chooses it when the recorded loss
        spans more than two decades (max / min > 100), as on separable data,
        where a linear axis would show a flat line at 0 after the first drop.

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
    if log is None:
        loss = np.asarray(hist["loss"], dtype=np.float64)
        loss = loss[np.isfinite(loss) & (loss > 0)]
        log = loss.size > 0 and loss.max() > LOG_LOSS_SPAN * loss.min()
    log = bool(log)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("pass")
    ax.set_ylabel("loss (cross-entropy + L2)" + (", log scale" if log else ""), color="C0")
    right = ax.twinx()
    right.plot(passes, hist["accuracy"], color="C1", linestyle="--",
               label="training accuracy")
    right.set_ylabel("training accuracy", color="C1")
    right.set_ylim(min(0.5, min(hist["accuracy"])) - 0.02, 1.01)
    ax.right_ax = right
    ax.set_title(f"final loss {hist['loss'][-1]:.4g}, "
                 f"accuracy {hist['accuracy'][-1]:.3f}")
    ax.grid(True, which="both" if log else "major", alpha=0.3)
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
    Unlike the other plotting functions, which draw on one Axes and return
    it, this draws two panels and returns both.

    Parameters
    ----------
    name : {'tanh', 'relu', 'sigmoid'}
    ax : pair of matplotlib Axes, optional
        Where to draw f and f'; a new (8, 3) figure with two panels when
        omitted.

    Returns
    -------
    axes : ndarray of 2 Axes
        ``axes[0]`` shows f, ``axes[1]`` shows f'.

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
        _, axes = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
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
        a.set_xlabel("x")
        a.grid(True, alpha=0.3)
    return np.asarray(axes)
