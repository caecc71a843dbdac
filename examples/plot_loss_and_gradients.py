"""
Loss, accuracy and gradient norms
=================================

``train`` records the loss, the training accuracy and each layer's gradient
norm ``||dW_l||`` after passes 0, ``print_every``, 2 ``print_every``, ... in
``history_``. :meth:`mlnn.neural_net.plot_loss` and
:meth:`mlnn.neural_net.plot_gradients` draw those records; they raise a
``RuntimeError`` on a network that was never trained.
"""

import matplotlib.pyplot as plt
import sklearn.datasets

from mlnn import neural_net
from mlnn.plotting import plot_activation

X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)

# four tanh hidden layers of 8
nn = neural_net([2, 8, 2], hidden_layers=4, random_state=0)
nn.train(X, y, 0.001, 0.0001, num_pass=15000, print_loss=False, print_every=250)
print("layers:", nn.sizes)
history = nn.history_
print(f"{len(history['pass'])} records, final loss {history['loss'][-1]:.4f}")

# %%
# The loss (left axis) and the training accuracy (right axis, dashed):

ax = nn.plot_loss()

# %%
# One line per weight matrix, on a log scale:

ax = nn.plot_gradients()

# %%
# Vanishing gradients
# -------------------
#
# Backprop multiplies by the activation's derivative at every layer on its way
# back to the input. :func:`mlnn.plotting.plot_activation` draws ``f`` and the
# ``f'`` that backprop uses: tanh's derivative reaches 1, the sigmoid's only
# 1/4.

fig, axes = plt.subplots(2, 2, figsize=(8, 5.5), layout="constrained")
plot_activation("tanh", ax=axes[0])
plot_activation("sigmoid", ax=axes[1])

# %%
# The same network with sigmoid hidden layers (and a larger learning rate) shows
# it: at first its gradient norms shrink from the output layer (dW5) towards
# the input layer (dW1), and the loss sits on a plateau for about a thousand
# passes before the network finds its way. Pass ``ax=`` to put the two plots
# side by side.

sig = neural_net([2, 8, 2], hidden_layers=4, activation="sigmoid", random_state=0)
sig.train(X, y, 0.001, 0.001, num_pass=15000, print_loss=False, print_every=250)

fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
sig.plot_loss(ax=axes[0])
sig.plot_gradients(ax=axes[1])
axes[1].set_title("sigmoid hidden layers: gradient norm per layer")
