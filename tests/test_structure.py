"""The import graph keeps the architecture: no two packages import each other, and the shared plumbing (staff pages,
channels, the conversation kit, the outbox) imports no domain, so every domain can build on it."""

from __future__ import annotations

import ast
from collections import defaultdict

from hotline.config import ROOT

PACKAGE = ROOT / "hotline"
DOMAINS = {"admin", "benefits", "complaints", "privacy", "reminders", "voice"}
PLUMBING = {"staff", "channels", "dialogue", "messaging"}
# The composition at the top: it wires domains and plumbing together (create_app, the CLI, the scheduler, the engine).
TOP = {"main", "cli", "scheduler", "engine", "simulator"}


def _node(module: str) -> str | None:
    # hotline.complaints.service -> complaints; hotline.context -> context (a shared module is its own node).
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "hotline" else None


def import_graph() -> dict[tuple[str, str], list[str]]:
    """Edges between packages (and shared modules) of hotline/, with the files that make each."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        source = _node(module)
        if source is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hotline"):
                names = [f"hotline.{alias.name}" for alias in node.names]
                targets = names if node.module == "hotline" else [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names if alias.name.startswith("hotline.")]
            for target in targets:
                destination = _node(target)
                if destination and destination != source:
                    edges[(source, destination)].append(str(path.relative_to(ROOT)))
    return edges


def test_no_two_packages_import_each_other() -> None:
    edges = import_graph()
    both_ways = sorted(
        f"{a} <-> {b} ({edges[(a, b)][0]}, {edges[(b, a)][0]})" for a, b in edges if (b, a) in edges and a < b
    )
    assert both_ways == []


def test_the_shared_plumbing_imports_no_domain_and_nothing_above_it() -> None:
    edges = import_graph()
    upward = sorted(
        f"{a} -> {b} ({files[0]})" for (a, b), files in edges.items() if a in PLUMBING and b in DOMAINS | TOP
    )
    assert upward == []


def test_the_graph_is_read_from_the_real_code() -> None:
    # The checks above would pass on an empty graph: make sure the known edges are found.
    edges = import_graph()
    assert ("admin", "complaints") in edges and ("engine", "dialogue") in edges and ("channels", "messaging") in edges
