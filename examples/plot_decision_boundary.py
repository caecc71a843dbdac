"""
The decision boundary
=====================

The notebook's first picture: train ``neural_net([2, 4, 2])`` (two tanh hidden
layers of 4, a softmax output) on the two moons and colour the plane by the
class it predicts. :meth:`mlnn.neural_net.visualize_preds` evaluates a fine grid
over the data with one call to the compiled ``predict`` and draws it with
``contourf``; the points are scattered on top in their class colours, so a
point that stands out from its region is misclassified.
"""

import matplotlib.pyplot as plt
import sklearn.datasets

from mlnn import neural_net

X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)
nn = neural_net([2, 4, 2], random_state=0)

# reg_lambda (L2 weight decay) and epsilon (learning rate), as in the notebook;
# the loss is printed every print_every passes.
model = nn.train(X, y, 0.001, 0.0001, num_pass=20000, print_every=5000)
print("training accuracy:", (nn.predict(X) == y).mean())

# %%
# ``visualize_preds`` returns the Axes it drew on. In a script on a
# non-interactive backend nothing is shown; save the figure with
# ``ax.figure.savefig(...)``.

ax = nn.visualize_preds(X, y)
ax.set_title("neural_net([2, 4, 2]) on make_moons(300)")

# %%
# Probabilities instead of classes
# --------------------------------
#
# With ``proba=True`` two classes are shaded by P(class 1), with a colour bar,
# so you can see where the network is unsure. Pass ``ax=`` to compose your own
# figures.

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
nn.visualize_preds(X, y, ax=axes[0])
axes[0].set_title("predicted class")
nn.visualize_preds(X, y, ax=axes[1], proba=True)
axes[1].set_title("P(class 1)")

# %%
# Three classes work the same way; the network's output layer just has three
# units. A ``layers_dim`` longer than three sizes spells out every layer.
#
# ``resolution`` is the grid step in data units. These blobs span about 15
# units, so the default step of 0.005 would evaluate some 10 million points;
# 0.03 is plenty for a picture this size.

X3, y3 = sklearn.datasets.make_blobs(300, centers=3, cluster_std=1.6,
                                     random_state=2)
nn3 = neural_net([2, 16, 8, 3], random_state=0)
nn3.train(X3, y3, 0.001, 0.0005, num_pass=3000, print_loss=False)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
nn3.visualize_preds(X3, y3, ax=axes[0], resolution=0.03)
axes[0].set_title("neural_net([2, 16, 8, 3])")
nn3.visualize_preds(X3, y3, ax=axes[1], resolution=0.03, proba=True)
axes[1].set_title("class colour, faded where unsure")
