"""examples/notebook.ipynb runs top to bottom in a real Jupyter kernel.

nbclient starts an ipykernel (the test extra) and executes every cell; then
the outputs are checked: the loss lines from train(), a PNG from
visualize_preds, and the training animation as inline HTML/JS with no stray
static frame next to it.
"""

import base64
import io
import re
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebook.ipynb"

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def cell_with(nb, text):
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and text in c.source]
    return cell


def outputs_of(cell, kind):
    """MIME bundles / stream texts of one kind of output in a cell."""
    out = []
    for o in cell.outputs:
        if kind == "stream" and o.output_type == "stream":
            out.append(o.text)
        elif o.output_type in ("display_data", "execute_result") and kind in o.get("data", {}):
            out.append(o.data[kind])
    return out


@pytest.mark.slow
def test_notebook_runs_in_a_real_kernel(tmp_path, monkeypatch):
    from PIL import Image

    # the kernel inherits this process's environment: let it pick its own
    # backend (conftest forces Agg here), as a user's Jupyter would
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError if any cell fails

    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.outputs if o.output_type == "error"]

    # train(): the notebook's 25 loss lines, then the returned parameters
    train = cell_with(nb, "my_nn.train(")
    text = "".join(outputs_of(train, "stream"))
    lines = re.findall(r"^Loss after iteration (\d+): (\d+\.\d{6})$", text, re.M)
    assert [int(i) for i, _ in lines] == list(range(0, 25000, 1000))
    losses = [float(v) for _, v in lines]
    assert losses[-1] < losses[0]
    assert "'W2'" in "".join(outputs_of(train, "text/plain"))

    # visualize_preds: one inline PNG of the decision regions
    vis = cell_with(nb, "my_nn.visualize_preds(")
    (png,) = outputs_of(vis, "image/png")
    with Image.open(io.BytesIO(base64.b64decode(png))) as im:
        assert im.size[0] > 300 and im.size[1] > 200

    # the loss / gradient cell shows two figures
    assert len(outputs_of(cell_with(nb, "plot_gradients()"), "image/png")) == 2
    assert len(outputs_of(cell_with(nb, "plot_activation("), "image/png")) == 1

    # animate_preds: an HTML/JS player with 120 frames, and no static image
    anim = cell_with(nb, "new_nn.animate_preds(")
    (html,) = outputs_of(anim, "text/html")
    assert "<script" in html and "new Array(120)" in html
    assert len(re.findall(r"frames\[\d+\] = \"data:image/png;base64", html)) == 120
    assert outputs_of(anim, "image/png") == []
