"""Import rules that keep the layout readable (docs/ARCHITECTURE.md), read from the source.

- matcher never imports api.
- No module uses a ``_private`` name of another (a test may use those of the module it is
  named after: ``tests/matcher/test_names.py`` → ``matcher.names``).
- Every matcher module has a place below: a pipeline stage, shared domain knowledge and speed
  kernels, synthetic data, or composition. A stage imports only shared modules and stages up
  to its own (ingest → normalise → records → block → compare → score → cluster → histories);
  shared modules import only shared modules; synthetic modules only shared and synthetic.
- api's service modules (``api/services/``) import no web framework: they raise ``api.services.errors`` errors, which
  ``api.main`` maps to HTTP statuses in one place.
"""

from __future__ import annotations

import ast

from tests.import_graph import (
    all_uses,
    module_name,
    module_path,
    modules,
    source_files,
    uses,
)

# The pipeline order, from the modules as they are.
STAGES: dict[str, tuple[str, ...]] = {
    "ingest": ("ingest", "profiles"),
    "normalise": ("normalise",),
    "records": ("persons",),
    "block": ("blocking", "key_index"),
    "compare": ("compare", "name_diff"),
    "score": ("scoring", "em", "decisions"),
    "cluster": ("clustering",),
    "histories": ("histories", "history_lines", "fhir"),
}
# Domain facts and speed kernels: any module may use them; they use no stage.
SHARED = (
    "columns", "errors", "settings", "masking", "regions", "resident_id", "doc_types", "names",
    "dates", "demographics", "vaccines", "schedules", "lookup_keys", "dictionary", "frames",
    "sorting", "keyed_hash", "text_pieces",
)  # fmt: skip
SYNTHETIC = (
    "synthetic", "synthetic_corrupt", "synthetic_doses", "synthetic_export", "synthetic_people",
    "synthetic_scenarios", "synthetic_tables",
)  # fmt: skip
# They put the stages together (or measure them): they may import any matcher module.
COMPOSITION = (
    "pipeline", "job", "generic", "evaluate", "evaluate_histories", "engines",
    "engines.pandas_engine", "engines.spark", "engines.spark.batches", "engines.spark.candidates",
    "engines.spark.codec", "engines.spark.graph", "engines.spark.job", "engines.spark.model",
    "engines.spark.ordering",
)  # fmt: skip


def _matcher(name: str) -> str:
    return f"matcher.{name}"


STAGE_OF = {_matcher(m): i for i, names in enumerate(STAGES.values()) for m in names}
SHARED_MODULES = {_matcher(m) for m in SHARED}
SYNTHETIC_MODULES = {_matcher(m) for m in SYNTHETIC}
COMPOSITION_MODULES = {_matcher(m) for m in COMPOSITION}


def _imported_modules(importer: str) -> set[str]:
    path = module_path(importer)
    return {u.module for u in uses(path) if u.module != importer and u.module != "matcher"}


def test_every_matcher_module_has_a_place() -> None:
    placed = set(STAGE_OF) | SHARED_MODULES | SYNTHETIC_MODULES | COMPOSITION_MODULES
    ours = {m for m in modules() if m.startswith("matcher.")}
    assert sorted(ours - placed) == [], "place the new module in tests/test_import_rules.py"
    assert sorted(placed - ours) == [], "a placed module no longer exists"


def test_matcher_never_imports_api() -> None:
    wrong = [
        f"{u.importer}:{u.line} imports {u.module}"
        for u in all_uses("matcher")
        if u.module.split(".")[0] == "api"
    ]
    assert wrong == []


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_private_name_is_used_across_modules() -> None:
    wrong = [
        f"{u.importer}:{u.line} uses {u.module}.{u.name}"
        for u in all_uses("matcher", "api", "benchmarks")
        if u.name is not None and _private(u.name) and u.importer != u.module
    ]
    for path in source_files("tests"):
        tested = path.stem.removeprefix("test_")
        wrong += [
            f"{u.importer}:{u.line} uses {u.module}.{u.name}"
            for u in uses(path)
            if u.name is not None and _private(u.name)
            if u.module.rsplit(".", 1)[-1] != tested
        ]
    assert wrong == [], "make the name public (and list it in __all__) or move the logic"


def test_stages_import_only_earlier_stages_and_shared_modules() -> None:
    wrong = []
    for module, stage in STAGE_OF.items():
        for used in _imported_modules(module):
            if used in SHARED_MODULES:
                continue
            if used not in STAGE_OF or STAGE_OF[used] > stage:
                wrong.append(f"{module} (stage {stage}) imports {used}")
    assert wrong == []


def test_shared_and_synthetic_modules_import_no_stage() -> None:
    wrong = [
        f"{module} imports {used}"
        for module in SHARED_MODULES
        for used in _imported_modules(module)
        if used not in SHARED_MODULES
    ]
    wrong += [
        f"{module} imports {used}"
        for module in SYNTHETIC_MODULES
        for used in _imported_modules(module)
        if used not in SHARED_MODULES | SYNTHETIC_MODULES
    ]
    assert wrong == []


WEB_FRAMEWORKS = ("fastapi", "starlette")


def test_services_import_no_web_framework() -> None:
    wrong = []
    for path in source_files("api/services"):
        name = module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            imported = []
            if isinstance(node, ast.Import):
                imported = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported = [node.module]
            wrong += [
                f"{name}:{getattr(node, 'lineno', 0)} imports {m}"
                for m in imported
                if m.split(".")[0] in WEB_FRAMEWORKS
            ]
    assert wrong == [], "raise an api.services.errors error instead (mapped to HTTP in api.main)"
