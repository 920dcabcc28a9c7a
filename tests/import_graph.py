"""The project's imports read from the source (``ast``, nothing imported): who imports which
names from which vaxlink module, including imports inside functions."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("matcher", "api")


@dataclass(frozen=True, slots=True)
class Use:
    """``importer`` (a file's module name) uses ``name`` of vaxlink module ``module`` (``name``
    is None for the module itself)."""

    importer: str
    module: str
    name: str | None
    line: int


def module_name(path: Path) -> str:
    """``matcher/job.py`` → ``matcher.job``; ``api/routes/__init__.py`` → ``api.routes``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_path(module: str) -> Path:
    """The file of a module: ``matcher/job.py``, or ``matcher/engines/__init__.py`` for a package."""
    plain = ROOT / Path(*module.split(".")).with_suffix(".py")
    return plain if plain.exists() else ROOT / Path(*module.split(".")) / "__init__.py"


def source_files(*folders: str) -> list[Path]:
    """Python files under these top-level folders."""
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


@cache
def modules() -> frozenset[str]:
    """Every module of ``PACKAGES``."""
    return frozenset(module_name(p) for p in source_files(*PACKAGES))


def _is_ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def uses(path: Path) -> list[Use]:
    """Every use of a vaxlink module or of a name in one, by the file at ``path``.

    ``from m import x`` is a use of ``m.x`` (or of module ``m.x`` when that is a module);
    ``import m as a`` / ``from p import m as a`` then ``a.x`` is a use of ``m.x``.
    """
    importer = module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[Use] = []
    aliases: dict[str, str] = {}  # local name → vaxlink module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_ours(alias.name):
                    out.append(Use(importer, alias.name, None, node.lineno))
                    if alias.asname:
                        aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not _is_ours(node.module):
                continue
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in modules():
                    out.append(Use(importer, full, None, node.lineno))
                    aliases[alias.asname or alias.name] = full
                else:
                    out.append(Use(importer, node.module, alias.name, node.lineno))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module is not None and f"{module}.{node.attr}" not in modules():
                out.append(Use(importer, module, node.attr, node.lineno))
    return out


@cache
def all_uses(*folders: str) -> tuple[Use, ...]:
    """``uses`` of every file under these folders."""
    return tuple(u for path in source_files(*folders) for u in uses(path))
