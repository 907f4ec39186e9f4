"""The layering of the packages, read from the source: no import circle, imports go down.

Every import counts: top level, inside functions and under ``TYPE_CHECKING``
(a circle through a type-only import is still a circle for a reader).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests import PROJECT_ROOT

ROOT = PROJECT_ROOT

ORDER = ("circuits", "cosim", "cosim.paths", "cosim.threads", "cosim.hardware",
         "cosim.calibration", "cosim.accounting", "cosim.engine", "cosim.programming",
         "cosim.layers", "cosim.workloads", "cosim.outputs", "cosim.sweep", "cosim.verify",
         "cosim.stages",
         "cosim.config", "cosim.pipeline", "cosim.commands", "cosim.cli")
"""Packages from the bottom of the data path up: each may import only those before it
(``cosim`` itself: the package's ``__init__``)."""


def _modules() -> dict[str, Path]:
    mods = {}
    for base in ("circuits", "cosim"):
        for path in (ROOT / base).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


def _imports(path: Path, mods: dict[str, Path]) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in mods else node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m in mods}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(p, mods) for m, p in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def _package(module: str) -> str:
    for pkg in sorted(ORDER, key=len, reverse=True):
        if module == pkg or (module.startswith(pkg + ".") and pkg != "cosim"):
            return pkg
    return module


@pytest.mark.slow
def test_no_import_circle():
    assert _cycles(_graph()) == []


def test_the_check_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


@pytest.mark.slow
def test_imports_go_down_the_data_path():
    graph = _graph()
    upward = []
    for module, targets in graph.items():
        here = _package(module)
        assert here in ORDER, f"{module} is in no package of ORDER"
        for t in targets:
            there = _package(t)
            if there != here and ORDER.index(there) > ORDER.index(here):
                upward.append(f"{module} -> {t}")
    assert upward == []


def test_no_string_comparison_of_cell_kinds_or_iv_laws():
    pattern = re.compile(r"""(==|!=)\s*["'](0T1R|1T1R|linear|sinh)["']|["'](0T1R|1T1R|linear|"""
                         r"""sinh)["']\s*(==|!=)""")
    allowed = {ROOT / "circuits" / "cells.py", ROOT / "circuits" / "devices.py"}
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in _modules().values() if p not in allowed
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []


def test_no_workload_config_re_declares_hardware():
    workloads = ROOT / "cosim" / "workloads"
    for path in workloads.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name.endswith(("Config", "Stage")):
                fields = {t.target.id for t in node.body
                          if isinstance(t, ast.AnnAssign) and isinstance(t.target, ast.Name)}
                assert not fields & {"backend", "r_wire_ohm", "cell", "readout",
                                     "read_noise", "write_noise", "macro_rows"}, \
                    f"{path.relative_to(ROOT)}: {node.name} re-declares hardware"
