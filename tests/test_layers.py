"""The import contract: each layer imports only itself and the layers below (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import comms

ROOT = Path(comms.__file__).parent
# Lowest first. A module belongs to the longest prefix listed; every `<domain>.models` module is
# in "models", so any layer may use the tables, and models import only the base.
LAYERS = [
    ("base", ["comms.paths", "comms.clock", "comms.config", "comms.db", "comms.ids"]),
    ("models", ["comms.models"]),
    ("edges", ["comms.mail", "comms.zendesk", "comms.auth", "comms.operations"]),
    ("timeline", ["comms.timeline"]),
    ("incidents", ["comms.incidents"]),
    ("contacts", ["comms.contacts"]),
    ("followup", ["comms.followup"]),
    ("updates", ["comms.updates"]),
    ("integrations", ["comms.incident_io", "comms.slack"]),
    ("actions", ["comms.actions"]),
    # The scheduler is its own process: it runs the jobs of every domain.
    (
        "entry",
        ["comms", "comms.web", "comms.cli", "comms.demo", "comms.checks", "comms.migrate"]
        + ["comms.worker"]
        + ["comms.updates.scheduler"],
    ),
]
# The Zendesk emulator stands in for Zendesk: it is not part of the app and imports none of it.
APART = ["comms.sandbox", "comms.migrations"]
# Layers where an import inside a function would hide a dependency (the start-up paths of the
# command line and the app factory import late on purpose, to start fast).
NO_LATE_IMPORTS = {
    "timeline",
    "incidents",
    "contacts",
    "followup",
    "updates",
    "integrations",
    "actions",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    if module.endswith(".models"):
        return _index("models")
    best, found = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    assert found is not None, f"{module} is in no layer: add it to LAYERS and ARCHITECTURE.md"
    return found


def _index(name: str) -> int:
    return [layer for layer, _ in LAYERS].index(name)


def imports(tree: ast.Module) -> list[tuple[str, int, bool]]:
    """Every comms module imported, with its line and whether the import is inside a function."""
    found = []
    late = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
    }
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name.startswith("comms.") and _is_module(name):
                found.append((name, node.lineno, id(node) in late))
    return found


def _is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def app_modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        name = module_name(path)
        if not any(name == a or name.startswith(a + ".") for a in APART):
            found.append((name, ast.parse(path.read_text(), str(path))))
    return found


def test_every_layer_imports_only_itself_and_those_below():
    wrong = [
        f"{module}:{line} imports {imported} ({LAYERS[layer_of(imported)][0]} is above "
        f"{LAYERS[layer_of(module)][0]})"
        for module, tree in app_modules()
        for imported, line, _ in imports(tree)
        if layer_of(imported) > layer_of(module)
    ]
    assert wrong == []


def test_the_domains_import_at_the_top_of_the_module():
    late = [
        f"{module}:{line} imports {imported} inside a function"
        for module, tree in app_modules()
        if LAYERS[layer_of(module)][0] in NO_LATE_IMPORTS
        for imported, line, is_late in imports(tree)
        if is_late
    ]
    assert late == []


def test_no_module_is_loaded_by_name():
    loaded = [
        module
        for module, tree in app_modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(alias.name.startswith("importlib") for alias in node.names)
        or isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("importlib")
    ]
    assert loaded == []


def test_the_emulator_and_migrations_import_no_app_module():
    wrong = []
    for path in sorted(ROOT.rglob("*.py")):
        name = module_name(path)
        if any(name == a or name.startswith(a + ".") for a in APART):
            tree = ast.parse(path.read_text(), str(path))
            apart = next(a for a in APART if name == a or name.startswith(a + "."))
            wrong += [
                f"{name}:{line} imports {imported}"
                for imported, line, _ in imports(tree)
                if not imported.startswith(apart) and imported not in ALLOWED_APART
            ]
    assert wrong == []


# What the emulator and the migrations may use of the app: the tables and the settings.
ALLOWED_APART = {"comms.models", "comms.db", "comms.config", "comms.paths"}
