"""
Watching the network learn
==========================

:meth:`mlnn.neural_net.animate_preds` trains the network and records the
decision regions as it goes. Training runs first, in compiled chunks; each
frame stores its grid of predictions, its pass count and its loss, so playing
or saving the animation never retrains. Afterwards the network holds exactly
the weights that ``train(X, y, reg_lambda, epsilon, num_pass)`` would have
left.

Frames are spaced by how much the picture changes, not evenly by pass: gradient
descent settles the regions early and then mostly sharpens them, so the frames
crowd into the first passes, and the title gives each frame's pass count. This
page uses a handful of frames so that it builds quickly; the notebook's version
uses ``num_pass=35000, frames=120``.
"""

import sklearn.datasets

from mlnn import neural_net

X, y = sklearn.datasets.make_circles(400, noise=0.18, factor=0.005, random_state=1)
nn = neural_net([2, 6, 2], random_state=0)

anim = nn.animate_preds(X, y, 0.001, 0.0001, num_pass=6000, frames=16, interval=250)
print(anim)
print("passes shown by the frames:", anim.passes.tolist())

# %%
# In Jupyter, leaving ``anim`` as a cell's value plays it inline (an HTML and
# JavaScript player). In a script, ``save="training.gif"`` (Pillow) or
# ``anim.save("training.mp4")`` (needs ffmpeg) writes a file; with a GUI
# backend a window opens and plays it.
#
# ``animate_preds`` also replaced ``history_`` with one record per frame, so
# :meth:`~mlnn.neural_net.plot_loss` draws the loss and the training accuracy
# at the frames' pass counts:

ax = nn.plot_loss()
