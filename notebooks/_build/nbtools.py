"""Cells and notebook writing shared by the notebook builders in this folder.

Notebooks are written *without outputs* (the notebook tests execute them). Cell ids are the
notebook's number and the cell's position, so rebuilding an unchanged notebook gives an
identical file.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1]


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


def write_notebook(name: str, cells: list) -> Path:
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    for i, cell in enumerate(nb.cells):
        cell.id = f"{name[:2]}-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    path = NOTEBOOKS_DIR / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path
