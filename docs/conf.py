"""Sphinx configuration for the skdistill documentation."""

import os
from importlib.metadata import version as _version
from pathlib import Path

_root = Path(__file__).resolve().parent.parent
# The gallery runs the examples; they read the shared benchmark data when it sits beside
# the project (as in the development setup) and the bundled copies otherwise.
if "SKDISTILL_DATA" not in os.environ and (_root.parent / "shared" / "data").is_dir():
    os.environ["SKDISTILL_DATA"] = str(_root.parent / "shared" / "data")

project = "skdistill"
author = "skdistill developers"
copyright = "2026, skdistill developers"
release = _version("skdistill")
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
nitpicky = False

# No network while building: no intersphinx inventories are fetched.
intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": str(_root / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
}

templates_path = []
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
html_theme = "pydata_sphinx_theme"
html_title = f"skdistill {release}"
html_theme_options = {"navigation_with_keys": False}
html_static_path = []
