"""The package layering: no import cycles between Lookout's sub-packages, and the stages near the
sensors never reach for the ones near the users. Module paths named in strings (a lazily
imported format module) count as imports; imports only for type checking do not."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _unit(module: str) -> str:
    return ".".join(module.split(".")[:2])  # lookout.rules.kinds.zone -> lookout.rules


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for n in ast.walk(node)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("lookout.") \
                and node.value.replace(".", "").replace("_", "").isalnum():
            out.add(node.value)
    return {m for m in out if m.startswith("lookout.")}


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for p in (SRC / "lookout").rglob("*.py"):
        mod = ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        for dep in _imports(p):
            if _unit(dep) != _unit(mod):
                edges.setdefault(_unit(mod), set()).add(_unit(dep))
    return edges


def test_no_import_cycles_between_packages():
    edges = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(u: str) -> None:
        state[u] = 1
        path.append(u)
        for v in sorted(edges.get(u, ())):
            assert state.get(v) != 1, f"import cycle: {' -> '.join(path[path.index(v):] + [v])}"
            if v not in state:
                visit(v)
        path.pop()
        state[u] = 2

    for u in sorted(edges):
        if u not in state:
            visit(u)


def test_sensor_side_stages_do_not_depend_on_user_side_ones():
    edges = _graph()
    user_side = {"lookout.share", "lookout.api", "lookout.web", "lookout.analytics", "lookout.scale", "lookout.cli",
                 "lookout.commands", "lookout.demo"}
    for low in ("lookout.model", "lookout.geo", "lookout.stages", "lookout.sources", "lookout.tracking"):
        assert not edges.get(low, set()) & user_side, (low, sorted(edges.get(low, set()) & user_side))
    assert edges.get("lookout.stages", set()) <= {"lookout.model"}
