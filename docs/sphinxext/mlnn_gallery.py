"""sphinx-gallery plumbing for the mlnn docs (named by string in conf.py, so
that Sphinx can pickle its configuration)."""

import weakref

from sphinx_gallery.scrapers import matplotlib_scraper

# The example files, in the order the gallery shows them.
ORDER = [
    "plot_decision_boundary.py",
    "plot_training_animation.py",
    "plot_loss_and_gradients.py",
    "plot_sklearn_dropin.py",
    "plot_speed_small.py",
    "plot_dask_search.py",
]

_handed_back = weakref.WeakSet()


def scraper(block, block_vars, gallery_conf, **kwargs):
    """matplotlib's scraper, which also finds ``animate_preds`` animations.

    ``animate_preds`` closes its figure when it cannot show it (so that
    Jupyter does not print a static frame beside the player), and the
    matplotlib scraper only looks at figures pyplot holds.  Hand each new
    animation's figure back to pyplot once; the scraper then renders the
    animation (``'matplotlib_animations': True``) and closes it again.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import Animation

    for value in list(block_vars["example_globals"].values()):
        if isinstance(value, Animation) and value._fig not in _handed_back:
            _handed_back.add(value._fig)
            plt.figure(value._fig)  # re-registers a closed figure with pyplot
    return matplotlib_scraper(block, block_vars, gallery_conf, **kwargs)


class ExampleOrder:
    """``within_subsection_order``: the order of ORDER, then by file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in ORDER:
            return (ORDER.index(filename), filename)
        return (len(ORDER), filename)

    def __repr__(self):
        return f"<{type(self).__name__}>"
