"""The layout rules of ``docs/design.md``, checked on the source itself.

* The layers contract (``[tool.importlinter]`` in ``pyproject.toml``): each layer imports only the
  layers below it, checked by import-linter on the whole import graph (lazy imports inside
  functions included).
* No import cycle anywhere in ``src/``, between any two modules, lazy imports included (grimp's
  import graph, strongly connected components from scipy).
* No module over 500 lines.
* Nothing outside the covariance models compares with, or looks up by, a covariance type's name.
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
TYPE_NAMES = {"full", "tied", "diag", "spherical"}


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


# Both are being rewritten by the one-EM-loop work of issue 28; the rename comes with it.
SHARED_NAMES_PENDING = {"base": {"engine/covariance/base.py", "estimators/base.py"}}


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
              if len(paths) > 1 and set(paths) != SHARED_NAMES_PENDING.get(name)}
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
