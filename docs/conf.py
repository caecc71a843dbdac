"""Sphinx configuration for the mlnn documentation.

Build (from the repository root; warnings are errors):

    python -m sphinx -W -b html docs docs/_build/html

The gallery runs every ``examples/plot_*.py`` on each build; the generated
pages (``docs/auto_examples``, ``docs/generated``) are not kept in git.
"""

import os
import sys

import matplotlib

# Examples draw off-screen; set before sphinx-gallery imports pyplot.
matplotlib.use("Agg")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sphinxext"))

import mlnn  # noqa: E402

project = "mlnn"
author = "the mlnn developers"
copyright = "the mlnn developers"
version = release = mlnn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]
default_role = "literal"
root_doc = "index"

# -- API reference: autosummary writes one page per object into generated/ ----
autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
# A method overridden without a docstring (TrainingAnimation.save) is not
# given its base class's (matplotlib's docstrings use roles only matplotlib's
# own docs define).
autodoc_inherit_docstrings = False
# numpydoc renders the docstrings; the class templates list the members.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- gallery --------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "mlnn_gallery.ExampleOrder",
    "image_scrapers": ("mlnn_gallery.scraper",),
    # animate_preds' FuncAnimation becomes an inline JavaScript player
    "matplotlib_animations": True,
    # "Examples using X" on the API pages
    "doc_module": ("mlnn",),
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    # only what the examples print is shown, not the repr of a block's last
    # expression (``ax.set_title(...)`` would print ``Text(...)``)
    "capture_repr": (),
    "show_memory": False,
    # every example must run; an error fails the build
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
}

# -- HTML -------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"mlnn {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"install": [], "bench": []}
html_show_sourcelink = False


# -- references ---------------------------------------------------------------------
# Nitpicky: a reference to an mlnn object that does not exist (a typo in a
# docstring, a renamed function) fails the build.  There is no intersphinx
# (the build must work offline), so references to other projects are
# resolved here: the few that mlnn's pages use link to those projects' sites,
# and any other reference into another package (scikit-learn's inherited
# docstrings refer to scikit-learn's own labels and glossary) is shown as
# plain text.
nitpicky = True

EXTERNAL = {
    "sklearn.neural_network.MLPClassifier":
        "https://scikit-learn.org/stable/modules/generated/"
        "sklearn.neural_network.MLPClassifier.html",
    "sklearn.neural_network.MLPRegressor":
        "https://scikit-learn.org/stable/modules/generated/"
        "sklearn.neural_network.MLPRegressor.html",
    "matplotlib.animation.FuncAnimation":
        "https://matplotlib.org/stable/api/_as_gen/matplotlib.animation.FuncAnimation.html",
    "pickle": "https://docs.python.org/3/library/pickle.html",
    # labels and terms used by the scikit-learn docstrings the estimators inherit
    "metadata_routing": "https://scikit-learn.org/stable/metadata_routing.html",
    "accuracy_score":
        "https://scikit-learn.org/stable/modules/model_evaluation.html#accuracy-score",
    "r2_score": "https://scikit-learn.org/stable/modules/model_evaluation.html#r2-score",
    "meta-estimator": "https://scikit-learn.org/stable/glossary.html#term-meta-estimator",
}
OTHER_PACKAGES = ("sklearn", "matplotlib", "numpy", "np", "scipy", "pandas", "dask",
                  "distributed", "joblib", "threadpoolctl", "tqdm")


def _external_reference(app, env, node, contnode):
    from docutils import nodes

    target = node.get("reftarget", "")
    url = EXTERNAL.get(target) or EXTERNAL.get(target.lower())
    if url is not None:
        ref = nodes.reference("", "", internal=False, refuri=url)
        ref += contnode
        return ref
    package = target.split(".")[0]
    if (package in OTHER_PACKAGES or package in sys.stdlib_module_names
            or "docstring of sklearn." in (node.source or "")):
        return contnode  # plain text, no link
    return None  # a dangling reference: Sphinx warns, -W fails the build


def _drop_object_base(app, name, obj, options, bases):
    # "Bases: object" says nothing
    if object in bases:
        bases.remove(object)


def setup(app):
    app.connect("missing-reference", _external_reference)
    app.connect("autodoc-process-bases", _drop_object_base)
