"""Pictures (mlnn.plotting): what is drawn agrees with the model, the pictures
explain themselves (title, axis labels, legend, distinct colours), and drawing
never changes the model.  Runs on Agg (see conftest.py); no timing here."""

import copy
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import sklearn.datasets
from matplotlib.animation import FuncAnimation
from matplotlib.contour import ContourSet
from PIL import Image

from mlnn import neural_net, plotting
from mlnn._reference import ACTIVATIONS, activate, activation_grad


@pytest.fixture(scope="module")
def moons():
    return sklearn.datasets.make_moons(300, noise=0.22, random_state=0)


@pytest.fixture(scope="module")
def blobs():
    return sklearn.datasets.make_blobs(240, centers=3, cluster_std=1.2, random_state=3)


@pytest.fixture(scope="module")
def circles():
    return sklearn.datasets.make_circles(120, noise=0.18, factor=0.005, random_state=1)


def trained(X, y, sizes, num_pass=3000, epsilon=1e-4, **kw):
    nn = neural_net(sizes, random_state=0, **kw)
    nn.train(X, y, 0.001, epsilon, num_pass=num_pass, print_loss=False)
    return nn


def snapshot(nn):
    return nn._model.params.copy(), copy.deepcopy(nn.history_)


def assert_unchanged(nn, snap):
    params, history = snap
    assert np.array_equal(nn._model.params, params)
    assert nn.history_ == history


def rendered_pixels(ax, X):
    """RGB (0..1) of the rendered figure under each sample, with the scatter hidden."""
    for coll in ax.collections:
        if not isinstance(coll, ContourSet):
            coll.set_visible(False)
    fig = ax.figure
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[:, :, :3] / 255.0
    disp = ax.transData.transform(X)
    cols = np.clip(np.round(disp[:, 0]).astype(int), 0, img.shape[1] - 1)
    rows = np.clip(np.round(img.shape[0] - disp[:, 1]).astype(int), 0, img.shape[0] - 1)
    return img[rows, cols]


def away_from_boundary(nn, ax, X, pixels=4):
    """Samples whose prediction is the same everywhere within `pixels` of them
    (contour edges are interpolated and anti-aliased, so the colour right at a
    boundary is legitimately mixed)."""
    to_data = ax.transData.inverted()
    d = np.abs(to_data.transform([[pixels, pixels]]) - to_data.transform([[0, 0]]))[0]
    pred = nn.predict(X)
    keep = np.ones(len(X), dtype=bool)
    for sx in (-1, 0, 1):
        for sy in (-1, 0, 1):
            keep &= nn.predict(X + [sx * d[0], sy * d[1]]) == pred
    return keep


def region_colors(n_classes):
    return plotting._class_colors(n_classes)[1]


def point_colors(n_classes):
    return plotting._class_colors(n_classes)[0]


def lab(rgb):
    """sRGB in [0, 1] (..., 3) -> CIE L*a*b* (D65), for colour distances."""
    rgb = np.asarray(rgb, dtype=np.float64)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = lin @ np.array([[0.4124, 0.3576, 0.1805],
                          [0.2126, 0.7152, 0.0722],
                          [0.0193, 0.1192, 0.9505]]).T / [0.95047, 1.0, 1.08883]
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def delta_e(a, b):
    """CIE76 colour distance; about 2 is just noticeable, 10 plain side by side."""
    return np.linalg.norm(lab(a) - lab(b), axis=-1)


def legend_texts(ax):
    legend = ax.get_legend() or ax.figure.legends[0]
    return [t.get_text() for t in legend.get_texts()]


# -- visualize_preds ------------------------------------------------------------
@pytest.mark.parametrize("case", ["moons", "blobs"])
def test_region_colour_at_each_sample_agrees_with_predict(case, moons, blobs):
    X, y = moons if case == "moons" else blobs
    n_classes = 2 if case == "moons" else 3
    nn = trained(X, y, [2, 6, n_classes])
    ax = nn.visualize_preds(X, y, resolution=0.01)
    assert isinstance(ax, matplotlib.axes.Axes)
    rgb = rendered_pixels(ax, X)
    # the colour under each sample is (nearly exactly) one of the class colours
    dist = np.linalg.norm(rgb[:, None, :] - region_colors(n_classes)[None], axis=2)
    shown = dist.argmin(axis=1)
    keep = away_from_boundary(nn, ax, X)
    assert keep.mean() > 0.8
    assert np.all(dist[keep].min(axis=1) < 0.02)
    np.testing.assert_array_equal(shown[keep], nn.predict(X)[keep])
    # and both / all classes actually appear (not a blank or flipped picture)
    assert set(shown[keep]) == set(range(n_classes))


def test_scatter_points_use_the_class_point_colours(moons):
    X, y = moons
    nn = trained(X, y, [2, 4, 2], num_pass=200)
    ax = nn.visualize_preds(X, y, resolution=0.02)
    (points,) = [c for c in ax.collections if not isinstance(c, ContourSet)]
    np.testing.assert_allclose(points.get_facecolors()[:, :3], point_colors(2)[y])
    np.testing.assert_allclose(points.get_offsets(), X)


def test_proba_binary_shades_by_probability_of_class_1(moons):
    X, y = moons
    nn = trained(X, y, [2, 6, 2])
    ax = nn.visualize_preds(X, y, resolution=0.01, proba=True)
    rgb = rendered_pixels(ax, X)
    # the predicted class's region colour, faded to white by 1 - |2 P(1) - 1|
    p1 = nn.predict_proba(X)[:, 1]
    strength = np.abs(2 * p1 - 1)[:, None]
    expected = 1 - strength * (1 - region_colors(2)[(p1 > 0.5).astype(int)])
    # 20 bands of width 0.05: the band's colour is its midpoint's
    assert np.mean(np.abs(rgb - expected).max(axis=1) <= 0.04) > 0.95
    (cbar,) = [a for a in ax.figure.axes if a is not ax]  # the colour bar
    assert cbar.get_ylabel() == "P(1)"


def test_proba_multiclass_fades_class_colour_by_confidence(blobs):
    X, y = blobs
    nn = trained(X, y, [2, 8, 3], num_pass=3000, epsilon=5e-4)
    ax = nn.visualize_preds(X, y, resolution=0.02, proba=True)
    rgb = rendered_pixels(ax, X)
    P = nn.predict_proba(X)
    sure = P.max(axis=1) > 0.99
    assert sure.sum() > 50
    np.testing.assert_allclose(rgb[sure], region_colors(3)[P.argmax(axis=1)][sure], atol=0.03)
    # where the network is least sure the colour is paler (closer to white)
    unsure = P.max(axis=1) < 0.7
    if unsure.any():
        assert rgb[unsure].mean() > rgb[sure].mean()
    # and the legend says what the fading means
    assert legend_texts(ax)[:3] == ["0", "1", "2"]
    assert legend_texts(ax)[3].startswith("unsure")


def test_visualize_preds_evaluates_the_grid_in_one_predict_call(moons, monkeypatch):
    X, y = moons
    nn = trained(X, y, [2, 4, 2], num_pass=100)
    calls = []
    real = nn._model.predict
    monkeypatch.setattr(nn._model, "predict", lambda A: calls.append(A.shape) or real(A))
    nn.visualize_preds(X, y)
    # the notebook's grid: step 0.005 over the data padded by 0.7, in one call
    # (the other call is the accuracy in the title, on X itself)
    span = (X.max(axis=0) - X.min(axis=0) + 1.4) / 0.005
    grid = (int(np.ceil(span[0])) * int(np.ceil(span[1])), 2)
    assert sorted(calls) == sorted([grid, X.shape])


def test_title_axis_labels_and_legend(moons):
    X, y = moons
    nn = trained(X, y, [2, 6, 2], num_pass=1000)
    acc = np.mean(nn.predict(X) == y)
    ax = nn.visualize_preds(X, y, resolution=0.05)
    assert ax.get_title() == f"[2, 6, 6, 2] tanh, accuracy {acc:.3f}"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    assert legend_texts(ax) == ["0", "1"]
    # own figure: the legend sits beside the plot, not over the data
    assert ax.get_legend() is None and len(ax.figure.legends) == 1

    ax = nn.visualize_preds(X, y, resolution=0.05, data_name="moons",
                            feature_names=["width", "height"], class_names=["up", "down"])
    assert ax.get_title() == f"moons: [2, 6, 6, 2] tanh, accuracy {acc:.3f}"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("width", "height")
    assert legend_texts(ax) == ["up", "down"]
    ax = nn.visualize_preds(X, y, resolution=0.05, title="my title")
    assert ax.get_title() == "my title"
    # a DataFrame's columns name the axes
    df = pd.DataFrame(X, columns=["sepal width", "petal length"])
    ax = nn.visualize_preds(df, y, resolution=0.05)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("sepal width", "petal length")
    # on the user's axes the legend goes inside them
    _, user_ax = plt.subplots()
    nn.visualize_preds(X, y, ax=user_ax, resolution=0.05)
    assert [t.get_text() for t in user_ax.get_legend().get_texts()] == ["0", "1"]


def test_legend_names_come_from_classes(moons):
    X, y = moons
    labels = np.array(["dog", "cat"])[y]  # sorted: cat -> output 0, dog -> output 1
    nn = trained(X, labels, [2, 4, 2], num_pass=300)
    assert list(nn.classes_) == ["cat", "dog"]
    ax = nn.visualize_preds(X, labels, resolution=0.05, proba=True)
    assert legend_texts(ax) == ["cat", "dog"]
    assert [a for a in ax.figure.axes if a is not ax][0].get_ylabel() == "P(dog)"
    # the accuracy in the title compares labels with labels
    acc = np.mean(nn.predict(X) == labels)
    assert acc > 0.7 and ax.get_title().endswith(f"accuracy {acc:.3f}")
    # class_names wins over classes_
    ax = nn.visualize_preds(X, labels, resolution=0.05, class_names=["a", "b"])
    assert legend_texts(ax) == ["a", "b"]


def test_legend_lists_only_classes_in_use(blobs):
    X, y = blobs
    nn = trained(X, y, [2, 6, 5], num_pass=1500, epsilon=5e-4)  # outputs 3, 4 unused
    ax = nn.visualize_preds(X, y, resolution=0.05, class_names=["a", "b", "c"])
    assert legend_texts(ax) == ["a", "b", "c"]


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(feature_names=["a"]), ValueError, "2 features"),
    (dict(feature_names="ab"), TypeError, "feature_names"),
    (dict(class_names=["a", "b", "c"]), ValueError, "3 names.*2 outputs"),
    (dict(class_names="ab"), TypeError, "class_names"),
])
def test_visualize_preds_validates_names(moons, kwargs, exc, match):
    X, y = moons
    nn = trained(X, y, [2, 4, 2], num_pass=10)
    with pytest.raises(exc, match=match):
        nn.visualize_preds(X, y, resolution=0.05, **kwargs)


@pytest.mark.parametrize("n_classes", range(2, 11))
def test_class_colours_are_distinct_from_each_other_and_from_unsure(n_classes):
    points, regions = plotting._class_colors(n_classes)
    assert points.shape == regions.shape == (n_classes, 3)
    pairs = np.triu_indices(n_classes, 1)
    # regions side by side, points on any region, and the white that stands
    # for "unsure" in proba pictures: CIE76 > 10 is plainly visible
    assert delta_e(regions[pairs[0]], regions[pairs[1]]).min() > 15
    assert delta_e(points[pairs[0]], points[pairs[1]]).min() > 20
    assert delta_e(regions, plotting.UNSURE).min() > 15
    assert delta_e(points, plotting.UNSURE).min() > 40
    # a point never has its own region's colour
    assert delta_e(points, regions).min() > 15


def test_three_classes_proba_unsure_is_white_and_unlike_every_class(blobs):
    X, y = blobs
    nn = trained(X, y, [2, 8, 3], num_pass=3000, epsilon=5e-4)
    xs, ys = plotting._grid_axes(X, n_x=150, n_y=150)
    P = nn.predict_proba(plotting._grid_points(xs, ys, np.float64))
    rgb = plotting._confidence_rgb(P, 3)
    # a coin toss is white; any class colour (even the middle one) is far from it
    np.testing.assert_allclose(plotting._confidence_rgb(np.full((1, 3), 1 / 3), 3), [[1, 1, 1]])
    unsure = P.max(axis=1) < 0.45  # near where the three regions meet
    assert unsure.sum() > 10
    assert np.all(delta_e(rgb[unsure], plotting.UNSURE)
                  < delta_e(rgb[unsure][:, None], region_colors(3)[None]).min(axis=1))


def test_visualize_preds_draws_on_given_axes(moons):
    X, y = moons
    nn = trained(X, y, [2, 4, 2], num_pass=100)
    fig, axes = plt.subplots(1, 2)
    assert nn.visualize_preds(X, y, ax=axes[1], resolution=0.05) is axes[1]
    assert not axes[0].collections and axes[1].collections
    assert plt.get_fignums() == [fig.number]


def test_show_only_on_displaying_backends(moons, monkeypatch):
    X, y = moons
    nn = trained(X, y, [2, 4, 2], num_pass=100)
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(1))
    assert plotting._backend_kind() == "none"  # Agg
    nn.visualize_preds(X, y, resolution=0.05)
    assert shown == []
    monkeypatch.setattr(plotting, "_backend_kind", lambda: "notebook")
    nn.visualize_preds(X, y, resolution=0.05)
    assert shown == [1]
    _, ax = plt.subplots()
    nn.visualize_preds(X, y, ax=ax, resolution=0.05)  # user's axes: user shows
    assert shown == [1]


@pytest.mark.parametrize("name, kind", [
    ("agg", "none"), ("pdf", "none"), ("module://matplotlib_inline.backend_inline", "notebook"),
    ("module://ipympl.backend_nbagg", "notebook"), ("nbAgg", "notebook"),
    ("tkagg", "gui"), ("QtAgg", "gui")])
def test_backend_kind(name, kind, monkeypatch):
    monkeypatch.setattr(matplotlib, "get_backend", lambda: name)
    assert plotting._backend_kind() == kind


def test_visualize_preds_validates(moons):
    X, y = moons
    nn = trained(X, y, [2, 4, 2], num_pass=10)
    with pytest.raises(ValueError, match="resolution"):
        nn.visualize_preds(X, y, resolution=0)
    with pytest.raises(ValueError, match="larger resolution"):
        nn.visualize_preds(X, y, resolution=1e-5)
    with pytest.raises(ValueError, match="one label per row"):
        nn.visualize_preds(X, y[:-1])
    nn3 = neural_net([3, 4, 2], random_state=0)
    with pytest.raises(ValueError, match="2 input features"):
        nn3.visualize_preds(np.zeros((5, 3)), np.zeros(5, dtype=int))


def test_plotting_leaves_model_state_untouched(moons):
    X, y = moons
    nn = trained(X, y, [2, 5, 2], num_pass=2500)
    snap = snapshot(nn)
    nn.visualize_preds(X, y, resolution=0.05)
    nn.visualize_preds(X, y, resolution=0.05, proba=True)
    nn.plot_loss()
    nn.plot_gradients()
    plotting.plot_activation("tanh")
    assert_unchanged(nn, snap)


# -- training curves --------------------------------------------------------------
def test_plot_loss_and_gradients_read_history(moons):
    X, y = moons
    nn = trained(X, y, [2, 4, 2], num_pass=5000)
    hist = nn.history_
    ax = nn.plot_loss()
    (loss_line,) = ax.get_lines()
    np.testing.assert_array_equal(loss_line.get_xdata(), hist["pass"])
    np.testing.assert_array_equal(loss_line.get_ydata(), hist["loss"])
    np.testing.assert_array_equal(ax.right_ax.get_lines()[0].get_ydata(), hist["accuracy"])

    ax = nn.plot_gradients()
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert len(lines) == 3  # one per weight matrix
    norms = np.asarray(hist["grad_norms"])
    for l, line in enumerate(lines):
        np.testing.assert_array_equal(line.get_xdata(), hist["pass"])
        np.testing.assert_allclose(line.get_ydata(), norms[:, l])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "dW1 (2×4)", "dW2 (4×4)", "dW3 (4×2)"]


def test_plot_loss_uses_a_log_axis_when_the_loss_spans_decades(circles, moons):
    X, y = circles
    nn = trained(X, y, [2, 6, 2], num_pass=4000, epsilon=1e-3)
    loss = np.asarray(nn.history_["loss"])
    assert loss.max() / loss.min() > 100  # separable: the loss keeps falling
    ax = nn.plot_loss()
    assert ax.get_yscale() == "log"
    low, high = ax.get_ylim()
    assert high / low > 100  # not a flat line at 0
    assert nn.plot_loss(log=False).get_yscale() == "linear"
    # moons: the loss levels off well above 0, a linear axis reads best
    nn = trained(*moons, [2, 4, 2], num_pass=5000)
    assert nn.plot_loss().get_yscale() == "linear"
    assert nn.plot_loss(log=True).get_yscale() == "log"


@pytest.mark.parametrize("method", ["plot_loss", "plot_gradients"])
def test_curves_need_a_trained_model(method):
    nn = neural_net([2, 4, 2], random_state=0)
    with pytest.raises(RuntimeError, match="call net.train"):
        getattr(nn, method)()


@pytest.mark.parametrize("name", ["tanh", "relu", "sigmoid"])
def test_plot_activation(name):
    # the one plotting function with two panels: it returns both (f, f')
    axes = plotting.plot_activation(name)
    assert isinstance(axes, np.ndarray) and axes.shape == (2,)
    assert all(isinstance(a, matplotlib.axes.Axes) for a in axes)
    assert axes[0].figure is axes[1].figure
    x = np.linspace(-np.pi, np.pi, 120)
    f, df = axes[0].get_lines()[0], axes[1].get_lines()[0]
    act = activate(x, ACTIVATIONS[name])
    np.testing.assert_allclose(f.get_ydata(), act)
    np.testing.assert_allclose(df.get_ydata(), activation_grad(act, ACTIVATIONS[name]))
    assert [a.get_title() for a in axes] == [f"{name}(x)", f"{name}'(x)"]
    assert axes[0].get_xlim() == (-3, 3)


def test_plot_activation_validates():
    with pytest.raises(ValueError, match="activation"):
        plotting.plot_activation("gelu")
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="pair of Axes"):
        plotting.plot_activation("tanh", ax=ax)


# -- animate_preds ----------------------------------------------------------------
def test_animation_produces_the_requested_frames_and_a_multiframe_gif(circles, tmp_path):
    X, y = circles
    nn = neural_net([2, 6, 2], random_state=0)
    path = tmp_path / "training.gif"
    anim = nn.animate_preds(X, y, 0.001, 0.0001, num_pass=400, frames=7, save=path)
    assert isinstance(anim, FuncAnimation)
    assert repr(anim) == "<TrainingAnimation: 7 frames, passes 0..400>"
    assert len(anim.passes) == 7 and anim.passes[0] == 0 and anim.passes[-1] == 400
    assert np.all(np.diff(anim.passes) > 0)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.is_animated
        assert im.n_frames == 7
        assert im.info["duration"] == 50  # interval, ms
    html = anim.to_jshtml()
    assert "new Array(7)" in html and "frames[6]" in html and "frames[7]" not in html
    # one filled-contour set at a time: the previous frame's is removed
    ax = anim._fig.axes[0]
    assert sum(isinstance(c, ContourSet) for c in ax.get_children()) == 1
    assert re.fullmatch(r"pass 400 / 400 +loss \d\.\d{4}", ax.get_title())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_animate_leaves_exactly_the_weights_of_train(circles, backend, dtype):
    X, y = circles
    kw = dict(backend=backend, dtype=dtype, random_state=7)
    a, b = neural_net([2, 6, 2], **kw), neural_net([2, 6, 2], **kw)
    anim = a.animate_preds(X, y, 0.001, 0.0003, num_pass=1237, frames=9)
    b.train(X, y, 0.001, 0.0003, num_pass=1237, print_loss=False)
    assert np.array_equal(a._model.params, b._model.params)
    # replaying or saving the animation draws stored frames: no retraining
    snap = snapshot(a)
    anim.to_jshtml()
    assert_unchanged(a, snap)


def test_animate_records_one_history_entry_per_frame(circles, tmp_path):
    X, y = circles
    nn = neural_net([2, 6, 2], random_state=0)
    # (saved only because matplotlib warns about animations never rendered)
    anim = nn.animate_preds(X, y, 0.001, 0.0001, num_pass=1000, frames=11,
                            save=tmp_path / "a.gif")
    hist = nn.history_
    assert hist["pass"] == anim.passes.tolist()
    assert len(hist["pass"]) == 11 and hist["pass"][0] == 0 and hist["pass"][-1] == 1000
    assert hist["loss"][-1] == pytest.approx(nn.crossentropy_loss(X, y, 0.001), rel=1e-12)
    assert hist["accuracy"][-1] == np.mean(nn.predict(X) == y)
    assert np.asarray(hist["grad_norms"]).shape == (11, 3)
    nn.plot_loss()


def test_animation_in_jupyter_is_inline_html_and_leaves_no_open_figure(circles):
    X, y = circles
    nn = neural_net([2, 6, 2], random_state=0)
    assert matplotlib.rcParams["animation.html"] == "none"
    anim = nn.animate_preds(X, y, 0.001, 0.0001, num_pass=50, frames=3)
    assert plt.get_fignums() == []  # no stray static frame for the inline backend
    html = anim._repr_html_()
    assert "<script" in html and "new Array(3)" in html
    size_mb = len(html) / 2**20
    assert size_mb < matplotlib.rcParams["animation.embed_limit"]


def test_default_frames_fit_in_the_embed_limit_estimate(circles):
    # 120 frames at 72 dpi: estimate from a few frames rather than render 120
    X, y = circles
    nn = neural_net([2, 6, 2], random_state=0)
    html = nn.animate_preds(X, y, 0.001, 0.0001, num_pass=60, frames=4).to_jshtml()
    per_frame = len(html) / 4
    assert 120 * per_frame / 2**20 < matplotlib.rcParams["animation.embed_limit"] / 2


def test_animate_mp4_needs_ffmpeg(circles, tmp_path):
    from matplotlib import animation
    X, y = circles
    nn = neural_net([2, 6, 2], random_state=0)
    path = tmp_path / "training.mp4"
    if animation.writers.is_available("ffmpeg"):
        nn.animate_preds(X, y, 0.001, 0.0001, num_pass=20, frames=3, save=path)
        assert path.stat().st_size > 0
    else:
        snap = snapshot(nn)
        with pytest.raises(RuntimeError, match="ffmpeg"):
            nn.animate_preds(X, y, 0.001, 0.0001, num_pass=20, frames=3, save=path)
        assert_unchanged(nn, snap)  # refused before training


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(frames=0), ValueError, "frames"),
    (dict(num_pass=-1), ValueError, "num_pass"),
    (dict(interval=0), ValueError, "interval"),
    (dict(epsilon=0.0), ValueError, "epsilon"),
    (dict(reg_lambda=-1.0), ValueError, "reg_lambda"),
    (dict(frames=2.5), TypeError, "frames"),
    (dict(save="x.avi"), ValueError, r"\.gif or \.mp4"),
])
def test_animate_validates_before_training(circles, kwargs, exc, match):
    X, y = circles
    nn = neural_net([2, 6, 2], random_state=0)
    snap = snapshot(nn)
    args = dict(reg_lambda=0.001, epsilon=0.0001, num_pass=10, frames=2)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        nn.animate_preds(X, y, **args)
    assert_unchanged(nn, snap)
    assert plt.get_fignums() == []


def test_animate_zero_passes_and_one_frame(circles, tmp_path):
    X, y = circles
    nn = neural_net([2, 6, 2], random_state=0)
    before = nn._model.params.copy()
    anim = nn.animate_preds(X, y, 0.001, 0.0001, num_pass=0, frames=2, save=tmp_path / "a.gif")
    assert np.array_equal(nn._model.params, before)
    assert anim.passes.tolist() == [0]  # no two frames show the same pass
    nn.animate_preds(X, y, 0.001, 0.0001, num_pass=30, frames=1, save=tmp_path / "b.gif")
    assert nn.history_["pass"] == [30]
    # fewer passes than frames: every pass is a frame
    anim = nn.animate_preds(X, y, 0.001, 0.0001, num_pass=5, frames=10, save=tmp_path / "c.gif")
    assert anim.passes.tolist() == [0, 1, 2, 3, 4, 5]


def grid_regions(X, y, passes, epsilon, seed=0):
    """The animation grid's predicted classes after each pass count in
    ``passes``, from a separate network trained the plain way."""
    nn = neural_net([2, 6, 2], random_state=seed)
    Xc = np.ascontiguousarray(X, dtype=np.float64)
    xs, ys = plotting._grid_axes(Xc, n_x=plotting.ANIM_GRID, n_y=plotting.ANIM_GRID)
    pts = plotting._grid_points(xs, ys, np.float64)
    done, out = 0, []
    for p in passes:
        nn.train(X, y, 0.001, epsilon, num_pass=int(p) - done, print_loss=False)
        done = int(p)
        out.append(nn.predict(pts))
    return np.array(out)


def cells_changed(regions):
    """Grid cells that change class between consecutive frames."""
    return (regions[1:] != regions[:-1]).sum(axis=1)


def test_every_frame_of_the_animation_shows_change(circles, tmp_path):
    # circles settle early: with epsilon=1e-3 the regions stop moving after
    # ~300 of 4000 passes, while the loss falls by 200x over the whole run
    X, y = circles
    nn = neural_net([2, 6, 2], random_state=0)
    anim = nn.animate_preds(X, y, 0.001, 0.001, num_pass=4000, frames=16,
                            save=tmp_path / "a.gif")
    passes = anim.passes
    assert len(passes) == 16 and passes[0] == 0 and passes[-1] == 4000
    assert np.all(np.diff(passes) > 0)
    changed = cells_changed(grid_regions(X, y, passes, 0.001))
    # every step, in the second half too, moves a good share of an average
    # step's cells (a still frame would be 0)
    assert changed.min() >= 0.25 * changed.mean()
    assert changed[len(changed) // 2:].min() > 0
    # frames evenly spaced by pass count (the notebook's, or quadratic as
    # before) fail this: their second half is nearly still
    for even in (np.rint(np.linspace(0, 1, 16) * 4000),
                 np.rint(np.linspace(0, 1, 16) ** 2 * 4000)):
        still = cells_changed(grid_regions(X, y, even, 0.001))
        assert still.min() < 0.05 * still.mean()


def test_animation_uses_string_labels_and_sets_classes(circles, tmp_path):
    X, y = circles
    names = np.array(["inner", "outer"])[1 - y]  # sorted: inner -> 0 = class 1 of y
    a, b = neural_net([2, 6, 2], random_state=3), neural_net([2, 6, 2], random_state=3)
    a.animate_preds(X, names, 0.001, 0.0003, num_pass=300, frames=4, save=tmp_path / "a.gif")
    b.train(X, names, 0.001, 0.0003, num_pass=300, print_loss=False)
    assert list(a.classes_) == list(b.classes_) == ["inner", "outer"]
    assert np.array_equal(a._model.params, b._model.params)
