"""The layout rules of ``docs/design.md``, checked on the source itself.

* The layers contract (``[tool.importlinter]`` in ``pyproject.toml``): each layer imports only the
  layers below it, checked by import-linter on the whole import graph (lazy imports inside
  functions included).
* No import cycle anywhere in ``src/``, between any two modules, lazy imports included (grimp's
  import graph, strongly connected components from scipy).
* No module over 500 lines.
* Nothing outside the covariance models compares with, or looks up by, a covariance type's name
  (any of the registry's names).
* No test lists covariance types by name: the models a test runs over come from the registry
  (``tests/_helpers.py``), so a model added there is tested where its peers are.
* No two modules (or packages) share a name, whatever their folders: ``search`` in two layers
  leaves a reader asking which one a traceback means.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "gaussmix"
MAX_LINES = 500


def _type_names():
    """The covariance types' names, mclust's one-letter ``E`` and ``V`` aside (too common a
    string to judge by)."""
    from gaussmix.engine import covariance

    return {name for name in covariance.names() if len(name) > 1}


TYPE_NAMES = _type_names()


def _modules():
    return sorted(SOURCE.rglob("*.py"))


def test_layers_contract_holds():
    from importlinter import configuration
    from importlinter.application.use_cases import lint_imports

    configuration.configure()
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None,
                        no_logo=True), "a module imports from a layer above its own (see above)"


def import_cycles(package="gaussmix"):
    """Every set of modules that import each other in a loop (lazy imports included)."""
    import grimp
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    graph = grimp.build_graph(package, cache_dir=None)
    modules = sorted(graph.modules)
    index = {name: i for i, name in enumerate(modules)}
    edges = [(index[a], index[b]) for a in modules for b in graph.find_modules_directly_imported_by(a)]
    rows, cols = zip(*edges) if edges else ((), ())
    adjacency = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(modules),) * 2)
    n, labels = connected_components(adjacency, directed=True, connection="strong")
    groups = [[modules[i] for i in np.flatnonzero(labels == c)] for c in range(n)]
    return [group for group in groups if len(group) > 1]


def test_no_import_cycle_anywhere():
    cycles = import_cycles()
    assert not cycles, f"modules importing each other in a loop: {cycles}"


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(SOURCE)): n for p in _modules()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def _name_branches(tree):
    """Lines that compare with a covariance type's name or key a dict by one."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for part in [node.left, *node.comparators]:
                items = part.elts if isinstance(part, (ast.Tuple, ast.List, ast.Set)) else [part]
                if any(isinstance(i, ast.Constant) and i.value in TYPE_NAMES for i in items):
                    yield node.lineno
        elif isinstance(node, ast.Dict) and any(
            isinstance(k, ast.Constant) and k.value in TYPE_NAMES for k in node.keys
        ):
            yield node.lineno


def test_nothing_outside_the_covariance_models_branches_on_a_type_name():
    models = SOURCE / "engine" / "covariance"
    found = {
        f"{path.relative_to(SOURCE)}:{line}"
        for path in _modules() if models not in path.parents
        for line in _name_branches(ast.parse(path.read_text()))
    }
    assert not found, f"ask the covariance model instead of branching on its name: {sorted(found)}"


def module_names(root=SOURCE):
    """``{name: [paths]}`` of every module and package under ``root`` (``__init__`` and
    ``__main__`` aside: a package is named by its folder)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        if path.stem in ("__init__", "__main__"):
            continue
        names.setdefault(path.stem, []).append(str(path.relative_to(root)))
    for folder in sorted(p.parent for p in root.rglob("__init__.py")):
        if folder != root:
            names.setdefault(folder.name, []).append(f"{folder.relative_to(root)}/")
    return names


def test_no_two_modules_share_a_name():
    shared = {name: paths for name, paths in module_names().items()
              if len(paths) > 1}
    assert not shared, f"rename one of each pair, after what it holds: {shared}"


def test_the_shared_name_check_sees_a_clash(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
        (tmp_path / folder / "search.py").write_text("")
    (tmp_path / "a" / "b.py").write_text("")
    names = module_names(tmp_path)
    assert names["search"] == ["a/search.py", "b/search.py"]
    assert names["b"] == ["a/b.py", "b/"]


TESTS = ROOT / "tests"
# Tests whose lists of names are what they check, not the models they run over.
NAME_LISTS_ALLOWED = {
    # the model each standardised model becomes in raw units: a table of expected results
    "test_mclust_models.py::test_standardised_models_come_back_in_raw_units_as_the_right_model",
}


def _listed_type_names(tree, type_names):
    """``(line, function)`` of every tuple, list or set literal holding two or more
    covariance type names, with the test function (or ``None``) around it."""
    def visit(node, function):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and sum(
            isinstance(e, ast.Constant) and e.value in type_names for e in node.elts
        ) >= 2:
            yield node.lineno, function
        for child in ast.iter_child_nodes(node):
            yield from visit(child, function)

    yield from visit(tree, None)


def test_tests_take_covariance_types_from_the_registry():
    found = []
    for path in sorted(TESTS.glob("*.py")):
        for line, function in _listed_type_names(ast.parse(path.read_text()), TYPE_NAMES):
            if f"{path.name}::{function}" not in NAME_LISTS_ALLOWED:
                found.append(f"{path.name}:{line}")
    assert not found, (
        "list covariance types by a rule over the registry (tests/_helpers.py: MODELS, "
        f"SKLEARN_TYPES, ONE_PER_REPRESENTATION, models_where, ...), not by name: {found}")


def test_the_type_name_check_sees_a_list():
    tree = ast.parse('def test_x():\n    for t in ("one", "two"):\n        pass\n'
                     'TYPES = ["one"]\n')
    assert list(_listed_type_names(tree, {"one", "two"})) == [(2, "test_x")]
