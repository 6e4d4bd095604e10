"""Write the documentation's generated pages into docs/_generated/ (ignored by git).

Run by conf.py at every build, so the site always shows the repository as it is: the guide
(README.md), the API reference (one page per module, autodoc), the quantizer and STE reference
(from the registry), the notebooks (the committed .ipynb files, not executed), the bibliography
(REFERENCES.md), the claims ledgers (toy_problems/reports/*.md) and the studies' results
(studies/results/*.md).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")


def _plain_links(text: str, keep=()) -> str:
    """Markdown links to repository files become plain text (the files are not pages of the site);
    web links, in-page anchors and links in ``keep`` (mapped to their page) stay links."""
    def repl(m):
        label, target = m.group(1), m.group(2)
        if target.startswith(("http://", "https://", "#", "mailto:")):
            return m.group(0)
        base = target.split("#", 1)[0]
        if base in keep:
            return f"[{label}]({keep[base]})"
        return label if label.strip("`") == base else f"{label} (`{base}`)"
    return _LINK.sub(repl, text)


def _copy_markdown(src: Path, dst: Path, title: str | None = None, keep=None):
    text = _plain_links(src.read_text(encoding="utf-8"), keep or {})
    if title and not text.lstrip().startswith("# "):
        text = f"# {title}\n\n{text}"
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(text, encoding="utf-8")


def _modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(pkg.__path__, package + "."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        names.append(info.name)
    return sorted(names)


def _api_pages(out: Path) -> list[str]:
    pages = []
    for package in ("tinyquant", "toy_problems"):
        for name in _modules(package):
            page = out / "api" / f"{name}.md"
            page.parent.mkdir(parents=True, exist_ok=True)
            is_package = hasattr(importlib.import_module(name), "__path__")
            members = "" if is_package else "   :members:\n   :show-inheritance:\n"   # a package's are on its modules' pages
            page.write_text(f"# `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n{members}```\n", encoding="utf-8")
            pages.append(name)
    index = ["# API reference", "", "Every module of the framework (`tinyquant`) and of the theory sandbox "
             "(`toy_problems`), from its docstrings.", "", "```{toctree}", ":maxdepth: 1", ""]
    index += pages + ["```", ""]
    (out / "api" / "index.md").write_text("\n".join(index), encoding="utf-8")
    return pages


def _facts(cls):
    """The registry's declared facts of a class (``cls.facts``), when the registry declares them."""
    return getattr(cls, "facts", None)


def _doc(cls) -> str:
    return inspect.cleandoc(cls.__doc__ or "").strip()


_CITATION = re.compile(r"seed 00\d(?:,? (?:eqs?\.? ?[\d–-]+(?:, ?\d+)*|§[\d.]+|Table \d+|Fig\. \d+))?")


def _citation(cls, facts) -> str:
    """The registry's declared reference; until a class declares one, the seed citations its docstring makes."""
    declared = getattr(facts, "reference", None)
    if declared:
        return declared if isinstance(declared, str) else ", ".join(declared)
    found = list(dict.fromkeys(c.rstrip(".") for c in _CITATION.findall(_doc(cls))))
    return "; ".join(found[:3]) or "see the class docstring"


def _defaults(cls) -> str:
    params = inspect.signature(cls.__init__).parameters
    shown = [f"`{p.name}={p.default!r}`" for p in params.values()
             if p.name != "self" and p.default is not inspect.Parameter.empty]
    return ", ".join(shown) or "—"


def _quantizer_page(out: Path):
    from tinyquant.quant import QUANTIZERS, STES
    from tinyquant.quant.registry import ACTIVATION_QUANTIZERS

    lines = ["# Quantizers and straight-through estimators", "",
             "Generated from the registry (`tinyquant.quant.QUANTIZERS`, `tinyquant.quant.STES`) at every "
             "docs build. `get_quantizer(name, **options)` and `get_ste(name, **params)` build them. "
             "A quantizer's forward maps a weight or activation to its levels; its backward passes the "
             "incoming gradient through the straight-through estimator (STE) named by its `ste=` option: "
             "∂Q/∂x is replaced by F′(x), the derivative of the STE's soft forward F. "
             "The papers are listed in the [bibliography](references.md).", "",
             "## Quantizers", "",
             "| name | kind | forward | backward (default STE) | reference |", "|---|---|---|---|---|"]
    for name, cls in QUANTIZERS.items():
        facts = _facts(cls)
        kind = getattr(facts, "kind", None) or ("activation" if name in ACTIVATION_QUANTIZERS else "weight")
        params = inspect.signature(cls.__init__).parameters
        takes_ste = getattr(facts, "takes_ste", "ste" in params)
        ste = getattr(facts, "default_ste", None)
        if ste is None and facts is None and "ste" in params and params["ste"].default is not inspect.Parameter.empty:
            ste = params["ste"].default
        if ste:
            backward = f"F′ of `{ste}`" + (" (any STE via `ste=`)" if takes_ste else "")
        else:
            backward = "the paper's own rule" + (" (or any STE via `ste=`)" if takes_ste else "")
        ref = _citation(cls, facts)
        forward = getattr(facts, "formula", None) or _doc(cls).split("\n\n", 1)[0].replace("\n", " ")
        lines.append(f"| [`{name}`](#{name.replace('_', '-')}) | {kind} | {forward.replace('|', '&#124;')} | "
                     f"{backward} | {ref} |")
    for name, cls in QUANTIZERS.items():
        facts = _facts(cls)
        lines += ["", f"### `{name}`", ""]
        if facts is not None and getattr(facts, "formula", None):
            lines += [f"**Forward:** {facts.formula}", ""]
        if facts is not None and getattr(facts, "levels", None):
            lines += [f"**Levels:** {facts.levels}", ""]
        if facts is not None:
            bits = getattr(facts, "bits", None)
            traits = [t for t, on in (("symmetric", getattr(facts, "symmetric", False)),
                                      ("idempotent", getattr(facts, "idempotent", False)),
                                      ("stochastic", getattr(facts, "stochastic", False))) if on]
            learned = ", ".join(f"`{p}`" for p in getattr(facts, "parameters", ())) or "none"
            lines += [f"**Bits:** {'fixed levels' if bits is None else f'{bits[0]} to {bits[1]}'}; "
                      f"**learned parameters:** {learned}; **properties:** {', '.join(traits) or '—'}; "
                      f"**reference:** {_citation(cls, facts)}", ""]
        lines += [f"**Defaults:** {_defaults(cls)}", "", "```{eval-rst}",
                  f".. autoclass:: {cls.__module__}.{cls.__qualname__}", "   :no-index:", "```"]
    lines += ["", "## Straight-through estimators", "",
              "| name | parameters (defaults) | F and F′ | reference |", "|---|---|---|---|"]
    for name, cls in STES.items():
        facts = _facts(cls)
        formula = getattr(facts, "formula", None) or _doc(cls).split("\n\n", 1)[0].replace("\n", " ")
        ref = _citation(cls, facts)
        defaults = getattr(facts, "defaults", None)
        shown = ", ".join(f"`{k}={v!r}`" for k, v in defaults.items()) if defaults else _defaults(cls)
        lines.append(f"| [`{name}`](#ste-{name.replace('_', '-')}) | {shown or '—'} | "
                     f"{formula.replace('|', '&#124;')} | {ref} |")
    for name, cls in STES.items():
        facts = _facts(cls)
        lines += ["", f"### STE `{name}`", ""]
        if facts is not None:
            lines += [f"**F and F′:** {facts.formula}", "", f"**Reference:** {_citation(cls, facts)}", ""]
        lines += ["```{eval-rst}",
                  f".. autoclass:: {cls.__module__}.{cls.__qualname__}", "   :no-index:", "```"]
    (out / "quantizers.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _notebook_pages(out: Path):
    nb_dir = out / "notebooks"
    nb_dir.mkdir(parents=True, exist_ok=True)
    names = []
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:          # links to repository files: to their pages, or plain text
            if cell.cell_type == "markdown":
                cell.source = _plain_links(cell.source, {"../REFERENCES.md": "../references.md"})
        nbformat.write(notebook, nb_dir / path.name)
        names.append(path.stem)
    _copy_markdown(ROOT / "notebooks" / "README.md", nb_dir / "course.md", "Coursework notebooks")
    index = ["# Notebooks", "", "The coursework, shown as committed (not executed here: run them in Jupyter, "
             "see [how the course is organised](course.md)).", "", "```{toctree}", ":maxdepth: 1", "", "course"]
    (nb_dir / "index.md").write_text("\n".join(index + names + ["```", ""]), encoding="utf-8")


def _markdown_group(out: Path, folder: str, title: str, intro: str, sources: list[Path]):
    group = out / folder
    group.mkdir(parents=True, exist_ok=True)
    names = []
    for src in sources:
        _copy_markdown(src, group / src.name, src.stem.replace("_", " "))
        names.append(src.stem)
    (group / "index.md").write_text("\n".join([f"# {title}", "", intro, "", "```{toctree}", ":maxdepth: 1", ""]
                                              + names + ["```", ""]), encoding="utf-8")


def generate(out: Path):
    """(Re)write every generated page under ``out``."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    _copy_markdown(ROOT / "README.md", out / "guide.md", "Guide",
                   keep={"REFERENCES.md": "references.md", "notebooks/README.md": "notebooks/course.md"})
    _copy_markdown(ROOT / "REFERENCES.md", out / "references.md", "Bibliography")
    _api_pages(out)
    _quantizer_page(out)
    _notebook_pages(out)
    _markdown_group(out, "ledgers", "Claims ledgers", "The theory sandbox's reports: each paper claim, "
                    "recomputed, with its verdict.", sorted((ROOT / "toy_problems" / "reports").glob("*.md")))
    results = sorted((ROOT / "studies" / "results").glob("*.md"))
    results = [p for p in results if p.name == "README.md"] + [p for p in results if p.name != "README.md"]
    _markdown_group(out, "studies", "Studies' results", "The paper studies' measured results "
                    "(`studies/`, run with `tinyquant sweep`).", results)
