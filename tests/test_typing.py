"""The public API's type hints: complete on every public function and method, and consistent
(mypy, configured in ``[tool.mypy]`` of ``pyproject.toml``, passes on the modules that hold them).

The estimators are checked too (``PENDING`` is empty: no public class is left out).
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import gaussmix
import gaussmix.io
from gaussmix.apps import speaker
from gaussmix.apps.finance import risk

ROOT = Path(__file__).resolve().parents[1]
# Public names whose hints come with the rewrite of their modules (issue 28).
PENDING: set = set()


def _public_callables():
    """``(name, function)`` of every public function, and of every public method a public
    class defines itself (``__init__`` included), of ``gaussmix``, its datasets and its apps."""
    named = [(name, getattr(gaussmix, name)) for name in gaussmix.__all__
             if name not in PENDING and name != "__version__"]
    named += [(f"datasets.{name}", getattr(gaussmix.datasets, name))
              for name in gaussmix.datasets.__all__]
    named += [(f"apps.speaker.{name}", getattr(speaker, name)) for name in speaker.__all__]
    named += [(f"apps.finance.{name}", getattr(risk, name)) for name in risk.__all__]
    for name, obj in named:
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if isinstance(member, property):
                    yield f"{name}.{attr}", member.fget
                elif inspect.isfunction(member) and (attr == "__init__"
                                                     or not attr.startswith("_")):
                    yield f"{name}.{attr}", member
        elif inspect.isfunction(obj):
            yield name, obj


def test_every_public_function_is_annotated():
    missing = []
    for name, function in _public_callables():
        signature = inspect.signature(function)
        bare = [p.name for p in signature.parameters.values()
                if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
        if bare or signature.return_annotation is inspect.Signature.empty:
            missing.append(f"{name}({', '.join(bare)})"
                           + (" -> ?" if signature.return_annotation is inspect.Signature.empty
                              else ""))
    assert not missing, f"public functions without complete hints: {missing}"


def test_the_annotation_check_sees_every_public_name():
    names = {name.split(".")[0] for name, _ in _public_callables()}
    assert {"select_model", "make_mixture", "save", "load", "segment_image", "plot_mixture",
            "MixtureOutlierDetector", "ImageSegmentation", "map_adapt"} <= names
    assert not names & PENDING


def test_mypy_passes_on_the_public_api():
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                            check=False, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def _type_checking_names(module):
    """Names a module imports under ``if TYPE_CHECKING:``."""
    tree = ast.parse(Path(module.__file__).read_text())
    return {alias.asname or alias.name
            for node in tree.body
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
            for statement in node.body if isinstance(statement, ast.ImportFrom)
            for alias in statement.names}


def test_type_checkers_see_every_lazy_public_name():
    """``gaussmix`` and ``gaussmix.io`` import their public names lazily (a module
    ``__getattr__``, which a type checker reads as ``Any``); each lists them again for type
    checkers, and the two lists must agree."""
    for module in (gaussmix, gaussmix.io):
        assert _type_checking_names(module) == set(module._LAZY), module.__name__
