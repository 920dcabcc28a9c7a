"""matcher's public surface is explicit: every module lists it in ``__all__``, and nothing
outside a module (matcher, api, benchmarks) uses a name of it that is not listed.

To use a matcher name from elsewhere, add it to that module's ``__all__``. Tests may use any
public name of the module they test.
"""

from __future__ import annotations

import ast
import importlib

import pytest

from tests.import_graph import all_uses, module_path, modules

MATCHER = sorted(m for m in modules() if m.startswith("matcher."))


def _declared(module: str) -> list[str] | None:
    """The literal ``__all__`` of a module's source (None when it has none)."""
    for node in ast.parse(module_path(module).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return None


@pytest.mark.parametrize("module", MATCHER)
def test_module_declares_its_public_names(module: str) -> None:
    declared = _declared(module)
    assert declared is not None, f"{module} has no literal __all__"
    assert len(declared) == len(set(declared)), f"{module}.__all__ repeats a name"
    assert not [n for n in declared if n.startswith("_")], f"{module}.__all__ lists a private name"
    loaded = importlib.import_module(module)
    assert not [n for n in declared if not hasattr(loaded, n)], f"{module}.__all__ names nothing"


def test_nothing_outside_a_module_uses_an_unlisted_name() -> None:
    surfaces = {m: set(_declared(m) or ()) for m in MATCHER}
    outside = [
        f"{u.importer}:{u.line} uses {u.module}.{u.name}"
        for u in all_uses("matcher", "api", "benchmarks")
        if u.module in surfaces and u.importer != u.module and u.name is not None
        if u.name not in surfaces[u.module]
    ]
    assert outside == [], "add these to the module's __all__ (or stop using them):\n" + "\n".join(
        outside
    )
