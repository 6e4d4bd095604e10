"""The import graph of tinyquant and toy_problems, and its cycles.

Every ``import`` / ``from ... import`` statement of every module becomes an edge between
modules: function-level imports and ``importlib.import_module("literal")`` included (they are
dependencies too, only deferred), the ``if __name__ == "__main__":`` block left out (it runs
only when the file is executed as a script).
``from pkg import name`` points at ``pkg.name`` when that is a module, else at ``pkg``.
A cycle is a strongly connected component of more than one module (Tarjan's algorithm).
The autograd core (``tinyquant``, ``tinyquant.autograd``, ``tinyquant.tensor``,
``tinyquant.ops``) is allowed to be one: tensor methods call ops and ops build tensors.

    python tools/import_graph.py          # prints the cycles outside the core; exit 1 if any
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tinyquant", "toy_problems")
CORE = {"tinyquant", "tinyquant.autograd", "tinyquant.tensor", "tinyquant.ops"}


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Module name -> file, for every ``.py`` file of the packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(name: str, known: dict) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _is_main_guard(node) -> bool:
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


def _walk(tree):
    """``ast.walk`` without the ``if __name__ == "__main__":`` blocks: what runs only when the
    file is executed as a script is not a dependency of the module."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        todo.extend(child for child in ast.iter_child_nodes(node) if not _is_main_guard(child))


def edges(known: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules it imports (inside the packages only)."""
    graph = {name: set() for name in known}
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        for node in _walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")
                    base = base[:len(base) - node.level + (1 if is_package else 0)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known
                           else module for alias in node.names]
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
                  and node.args and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)):   # importlib.import_module("a.b")
                targets = [node.args[0].value]
            for target in targets:
                resolved = _resolve(target, known)
                if resolved is not None and resolved != name:
                    graph[name].add(resolved)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), each sorted."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    out.append(sorted(component))
    return out


def cycles(root: Path = ROOT) -> list[list[str]]:
    """The import cycles outside the core: components of more than one module, with the
    core's modules removed (a component that is only core modules is dropped)."""
    found = []
    for component in strongly_connected(edges(modules(root))):
        if len(component) > 1 and not set(component) <= CORE:
            found.append(component)
    return found


def main() -> int:
    found = cycles()
    for component in found:
        print(f"cycle of {len(component)} modules: {', '.join(component)}")
    print(f"{len(found)} import cycle(s) outside the autograd core")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
