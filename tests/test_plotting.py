"""Pictures (mlnn.plotting): what is drawn agrees with the model, and drawing
never changes the model.  Runs on Agg (see conftest.py); no timing here."""

import copy
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
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


def class_colors(n_classes):
    norm = matplotlib.colors.Normalize(0, n_classes - 1)
    return plt.cm.Spectral(norm(np.arange(n_classes)))[:, :3]


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
    dist = np.linalg.norm(rgb[:, None, :] - class_colors(n_classes)[None], axis=2)
    shown = dist.argmin(axis=1)
    keep = away_from_boundary(nn, ax, X)
    assert keep.mean() > 0.8
    assert np.all(dist[keep].min(axis=1) < 0.02)
    np.testing.assert_array_equal(shown[keep], nn.predict(X)[keep])
    # and both / all classes actually appear (not a blank or flipped picture)
    assert set(shown[keep]) == set(range(n_classes))


def test_scatter_points_use_the_region_colours(moons):
    X, y = moons
    nn = trained(X, y, [2, 4, 2], num_pass=200)
    ax = nn.visualize_preds(X, y, resolution=0.02)
    (points,) = [c for c in ax.collections if not isinstance(c, ContourSet)]
    np.testing.assert_allclose(points.to_rgba(points.get_array())[:, :3], class_colors(2)[y])
    np.testing.assert_allclose(points.get_offsets(), X)


def test_proba_binary_shades_by_probability_of_class_1(moons):
    X, y = moons
    nn = trained(X, y, [2, 6, 2])
    ax = nn.visualize_preds(X, y, resolution=0.01, proba=True)
    rgb = rendered_pixels(ax, X)
    # invert the colormap: the shade under each sample, as a position in [0, 1]
    positions = np.linspace(0, 1, 501)
    ramp = plt.cm.Spectral(positions)[:, :3]
    shade = positions[np.linalg.norm(rgb[:, None] - ramp[None], axis=2).argmin(axis=1)]
    p1 = nn.predict_proba(X)[:, 1]
    # 20 bands of width 0.05: the band's colour is its midpoint's
    assert np.mean(np.abs(shade - p1) <= 0.06) > 0.95
    assert len(ax.figure.axes) == 2  # the colour bar


def test_proba_multiclass_fades_class_colour_by_confidence(blobs):
    X, y = blobs
    nn = trained(X, y, [2, 8, 3], num_pass=3000, epsilon=5e-4)
    ax = nn.visualize_preds(X, y, resolution=0.02, proba=True)
    rgb = rendered_pixels(ax, X)
    P = nn.predict_proba(X)
    sure = P.max(axis=1) > 0.99
    assert sure.sum() > 50
    np.testing.assert_allclose(rgb[sure], class_colors(3)[P.argmax(axis=1)][sure], atol=0.03)
    # where the network is least sure the colour is paler (closer to white)
    unsure = P.max(axis=1) < 0.7
    if unsure.any():
        assert rgb[unsure].mean() > rgb[sure].mean()


def test_visualize_preds_evaluates_the_grid_in_one_predict_call(moons, monkeypatch):
    X, y = moons
    nn = trained(X, y, [2, 4, 2], num_pass=100)
    calls = []
    real = nn._model.predict
    monkeypatch.setattr(nn._model, "predict", lambda A: calls.append(A.shape) or real(A))
    nn.visualize_preds(X, y)
    assert len(calls) == 1
    # the notebook's grid: step 0.005 over the data padded by 0.7
    span = (X.max(axis=0) - X.min(axis=0) + 1.4) / 0.005
    assert calls[0] == (int(np.ceil(span[0])) * int(np.ceil(span[1])), 2)


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


@pytest.mark.parametrize("method", ["plot_loss", "plot_gradients"])
def test_curves_need_a_trained_model(method):
    nn = neural_net([2, 4, 2], random_state=0)
    with pytest.raises(RuntimeError, match="call net.train"):
        getattr(nn, method)()


@pytest.mark.parametrize("name", ["tanh", "relu", "sigmoid"])
def test_plot_activation(name):
    axes = plotting.plot_activation(name)
    assert len(axes) == 2 and axes[0].figure is axes[1].figure
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
    assert list(anim.passes) == [0, 11, 44, 100, 178, 278, 400]
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
    nn.animate_preds(X, y, 0.001, 0.0001, num_pass=1000, frames=11, save=tmp_path / "a.gif")
    hist = nn.history_
    assert hist["pass"] == [0, 10, 40, 90, 160, 250, 360, 490, 640, 810, 1000]
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
    nn.animate_preds(X, y, 0.001, 0.0001, num_pass=0, frames=2, save=tmp_path / "a.gif")
    assert np.array_equal(nn._model.params, before)
    nn.animate_preds(X, y, 0.001, 0.0001, num_pass=30, frames=1, save=tmp_path / "b.gif")
    assert nn.history_["pass"] == [30]
