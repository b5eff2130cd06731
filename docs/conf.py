"""Sphinx configuration of the gaussmix documentation site.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors; the gallery's
examples in ``docs/examples/`` run during the build, so every picture is made by its code).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import gaussmix

project = "gaussmix"
author = "the gaussmix authors"
copyright = "the gaussmix authors, BSD-3-Clause"
release = gaussmix.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "matplotlib.sphinxext.mathmpl",  # formulas drawn by matplotlib: readable offline, no MathJax
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "images", "examples/README.rst", "**.ipynb_checkpoints"]

# design.md links to files of the repository (../src/...), which are not pages of the site
myst_heading_anchors = 3
suppress_warnings = [
    "myst.xref_missing", "myst.header",
    # the gallery's sort key (LearnerOrder, below) is a class, which Sphinx cannot pickle into
    # its environment cache; it only means a changed conf.py rebuilds everything
    "config.cache",
]

autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types

numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

intersphinx_mapping: dict[str, tuple[str, None]] = {}

# the gallery in the learner's order: the guide's first pages, then the practitioner's topics
GALLERY_ORDER = [
    "plot_first_mixture.py", "plot_overlap.py", "plot_soft_assignment.py", "plot_em_steps.py",
    "plot_covariance_models.py", "plot_model_selection.py", "plot_bayesian_pruning.py",
    "plot_student_noise.py",
]


class LearnerOrder:
    """sphinx-gallery sort key: the files of GALLERY_ORDER first, in that order, then the rest."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in GALLERY_ORDER:
            return (GALLERY_ORDER.index(filename), filename)
        return (len(GALLERY_ORDER), filename)

    def __repr__(self):
        return f"LearnerOrder({GALLERY_ORDER})"


sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",  # every example is executed
    "ignore_pattern": r"__init__\.py",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("gaussmix",),
    "reference_url": {"gaussmix": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": LearnerOrder,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "show_memory": False,
    "matplotlib_animations": (True, "jshtml"),  # the EM animation plays on its page
}

html_theme = "pydata_sphinx_theme"
html_title = f"gaussmix {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
html_static_path: list[str] = []
html_show_sourcelink = False
templates_path = ["_templates"]


def _skip_metadata_routing(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing plumbing (its docstrings cite sklearn's pages)."""
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_routing)

mathmpl_fontsize = 14.0  # close to the body text
mathmpl_srcset = ["2x"]  # sharp on high-resolution screens
