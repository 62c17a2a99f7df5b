"""The layer rule of helpers: a module imports only from layers above it (or from modules before it in
its own layer), and no module uses another module's private names. The layers are listed once, in
helpers/__init__.py (``LAYERS``)."""

import ast
from pathlib import Path

import pytest

import helpers

HELPERS = Path(helpers.__file__).resolve().parent
MODULES = sorted(p for p in HELPERS.glob("*.py") if p.name != "__init__.py") + [HELPERS / "exercises"]


def _order():
    """``{module name: (layer index, position in its layer)}`` from helpers.LAYERS."""
    return {
        name: (layer, position)
        for layer, names in enumerate(helpers.LAYERS.values())
        for position, name in enumerate(names)
    }


def _name(path):
    return path.stem if path.is_file() else path.name


def _files(path):
    return [path] if path.is_file() else sorted(path.glob("*.py"))


def _helpers_imports(tree):
    """Yield (line, imported helpers module, names taken from it) for every import of a helpers module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "helpers":
                continue
            if len(parts) == 1:  # from helpers import a, b
                for alias in node.names:
                    yield node.lineno, alias.name, []
            else:  # from helpers.x import a, b
                yield node.lineno, parts[1], [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "helpers" and len(parts) > 1:
                    yield node.lineno, parts[1], []


def test_every_module_is_in_exactly_one_layer():
    listed = [name for names in helpers.LAYERS.values() for name in names]
    assert len(listed) == len(set(listed)), "a module is listed in two layers"
    assert sorted(listed) == sorted(_name(path) for path in MODULES), "helpers.LAYERS and the files disagree"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_imports_only_from_layers_above_or_before_it(path):
    order, this = _order(), _name(path)
    for file in _files(path):
        for line, imported, _ in _helpers_imports(ast.parse(file.read_text(encoding="utf-8"))):
            if imported == this:
                continue  # a package importing its own parts (exercises)
            assert imported in order, f"{file.name}:{line} imports unknown helpers module {imported!r}"
            assert order[imported] < order[this], (
                f"{file.name}:{line} imports {imported!r}, which comes after {this!r} in helpers.LAYERS "
                f"({list(helpers.LAYERS)[order[imported][0]]} layer): move the code, or the import, upwards"
            )


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_module_uses_another_modules_private_names(path):
    this = _name(path)
    for file in _files(path):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        aliases = set()
        for line, imported, names in _helpers_imports(tree):
            if imported == this:
                continue
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{file.name}:{line} imports private {private} from helpers.{imported}"
            if not names:
                aliases.add(imported)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
            ):
                raise AssertionError(f"{file.name}:{node.lineno} uses {node.value.id}.{node.attr}, a private name")


@pytest.mark.parametrize("path", [p for p in MODULES if p.is_file() and not p.name.startswith("_")], ids=_name)
def test_every_public_module_says_what_it_exports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    exported = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    ]
    assert exported, f"{path.name} has no __all__"
    names = ast.literal_eval(exported[0].value)
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    defined |= {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert set(names) <= defined, f"{path.name}: __all__ names {sorted(set(names) - defined)} that it does not define"
