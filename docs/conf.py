"""Sphinx configuration: ``python -m sphinx -W -b html docs out/docs`` (see the README)."""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))   # tinyquant and toy_problems from this checkout
sys.path.insert(0, str(DOCS))

import generate_pages  # noqa: E402

generate_pages.generate(DOCS / "_generated")

project = "tinyquant"
author = "the tinyquant authors"
extensions = [
    "myst_nb",                    # Markdown pages and the notebooks
    "sphinx.ext.autodoc",         # the API reference from the docstrings
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",     # MathJax 3 served from the build's _static/, no CDN
]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"         # the committed notebooks, as they are (no outputs): the build stays fast
exclude_patterns = ["_build", "generate_pages.py"]
autodoc_member_order = "bysource"
autodoc_default_options = {"undoc-members": False}
html_theme = "alabaster"
html_theme_options = {"page_width": "1200px", "sidebar_width": "240px"}   # room for the reference tables
html_title = "tinyquant"


def setup(app):
    from docstrings import process_docstring

    app.connect("autodoc-process-docstring", process_docstring)
