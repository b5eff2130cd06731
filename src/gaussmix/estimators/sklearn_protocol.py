"""scikit-learn's estimator protocol, without importing scikit-learn.

Importing scikit-learn costs over a second (``sklearn/__init__`` brings SciPy's statistics and
pandas), more than a small fit. The estimators therefore do not inherit ``BaseEstimator``; they
implement the protocol scikit-learn's code relies on, by duck typing:

* parameters read from ``__init__``'s signature: ``get_params``, ``set_params`` (``a__b`` for
  nested estimators), ``__sklearn_clone__``, so ``clone``, ``Pipeline`` and ``GridSearchCV``
  work; pickling is Python's own (the instance's ``__dict__``, as ``BaseEstimator`` gives for
  classes outside scikit-learn, so older pickles load);
* what only scikit-learn's code asks for, importing scikit-learn then (it is already loaded):
  ``__sklearn_tags__``, the HTML display, metadata routing (``set_fit_request``, ...);
* ``repr``: scikit-learn's layout, ``Name(param=value, ...)`` of the parameters that differ
  from their default, wrapped at 80 columns;
* :func:`check_random_state`, :func:`check_is_fitted` and :func:`warn_convergence`, whose
  exceptions and warnings are scikit-learn's own classes, imported when one is raised.

The one visible difference: ``isinstance(model, sklearn.base.BaseEstimator)`` is False
(``check_estimator`` warns so; its checks pass).
"""

from __future__ import annotations

import copy
import inspect
import numbers
import sys
import threading
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

_WIDTH = 80  # scikit-learn's repr wraps at 80 columns


def check_random_state(seed):
    """A ``RandomState`` from ``seed``, as ``sklearn.utils.check_random_state``: None (NumPy's
    global generator), an integer, or a ``RandomState`` itself."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


def check_is_fitted(estimator, attributes):
    """``sklearn.utils.validation.check_is_fitted(estimator, attributes)``: raise scikit-learn's
    ``NotFittedError``, with its message, unless ``estimator`` has every one of ``attributes``."""
    names = [attributes] if isinstance(attributes, str) else attributes
    if all(hasattr(estimator, name) for name in names):
        return
    from sklearn.exceptions import NotFittedError

    raise NotFittedError(
        f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
        "appropriate arguments before using this estimator."
    )


def convergence_warning():
    """scikit-learn's ``ConvergenceWarning`` class (imported on demand)."""
    from sklearn.exceptions import ConvergenceWarning

    return ConvergenceWarning


_QUIET = threading.local()


@contextmanager
def convergence_warnings_off():
    """Within it, :func:`warn_convergence` says nothing (in this thread): for a caller that
    judges its fits' convergence itself (a model-selection grid), without a warnings filter on
    ``ConvergenceWarning``, whose class would have to be imported from scikit-learn first."""
    before = getattr(_QUIET, "on", False)
    _QUIET.on = True
    try:
        yield
    finally:
        _QUIET.on = before


def warn_convergence(message, stacklevel=2):
    """Warn with scikit-learn's ``ConvergenceWarning`` (imported only when there is one),
    unless inside :func:`convergence_warnings_off`."""
    if getattr(_QUIET, "on", False):
        return
    warnings.warn(message, convergence_warning(), stacklevel=stacklevel + 1)


def _scikit_learn_config(key, default):
    """scikit-learn's setting ``key``, or ``default`` while scikit-learn is not imported (then
    no one can have changed it)."""
    if "sklearn" not in sys.modules:
        return default
    from sklearn import get_config

    return get_config().get(key, default)


class SklearnEstimator:
    """The protocol of ``sklearn.base.BaseEstimator`` and ``DensityMixin``; see the module."""

    if TYPE_CHECKING:  # parameters and fitted attributes are set by the subclasses, as before
        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...

    # ---------------------------------------------------------------- parameters
    @classmethod
    def _get_param_names(cls):
        """The keyword parameters of ``__init__``, sorted (no ``*args`` allowed)."""
        if cls.__init__ is object.__init__:
            return []
        names = []
        for param in inspect.signature(cls.__init__).parameters.values():
            if param.kind == param.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__}.__init__ must not take *args: scikit-learn "
                                   "reads the parameters from its signature.")
            if param.name != "self" and param.kind != param.VAR_KEYWORD:
                names.append(param.name)
        return sorted(names)

    def get_params(self, deep=True):
        """The estimator's parameters; with ``deep``, those of estimators among them too
        (as ``name__param``)."""
        params = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{key}", inner)
                              for key, inner in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params):
        """Set parameters (``name__param`` reaches into an estimator parameter); returns self."""
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested = {}
        for key, value in params.items():
            name, nested_key, inner = key.partition("__")
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self}. Valid "
                                 f"parameters are: {self._get_param_names()!r}.")
            if nested_key:
                nested.setdefault(name, {})[inner] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, inner_params in nested.items():
            valid[name].set_params(**inner_params)
        return self

    def __sklearn_clone__(self):
        """An unfitted copy with the same parameters (``sklearn.base.clone``'s contract)."""
        from sklearn.base import clone

        params = {name: clone(value, safe=False)
                  for name, value in self.get_params(deep=False).items()}
        twin = type(self)(**params)
        kept = twin.get_params(deep=False)
        for name, value in params.items():
            if kept[name] is not value:
                raise RuntimeError(f"Cannot clone {self!r}: its constructor changes or drops "
                                   f"the parameter {name!r}.")
        for private in ("_metadata_request", "_sklearn_output_config"):
            if private in self.__dict__:
                setattr(twin, private, copy.deepcopy(self.__dict__[private]))
        return twin

    # ---------------------------------------------------------------- what scikit-learn asks
    def __sklearn_tags__(self):
        """The tags of a density estimator (``DensityMixin`` on ``BaseEstimator``)."""
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type="density_estimator", target_tags=TargetTags(required=False),
                    transformer_tags=None, regressor_tags=None, classifier_tags=None)

    def score(self, X, y=None):
        """``DensityMixin``'s placeholder; the estimators define the mean log-likelihood."""

    # ---------------------------------------------------------------- display
    def _changed_params(self):
        """``(name, value)`` in scikit-learn's repr order: those that differ from the default
        (all of them with ``sklearn.set_config(print_changed_only=False)``)."""
        params = self.get_params(deep=False)
        if not _scikit_learn_config("print_changed_only", True):
            return sorted(params.items())
        defaults = {name: p.default
                    for name, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = []
        for name, value in sorted(params.items()):
            default = defaults.get(name, inspect.Parameter.empty)
            if type(value) is not type(default) and hasattr(value, "get_params") or repr(value) != repr(default) and not (_is_nan(value) and _is_nan(default)):
                changed.append((name, value))
        return changed

    def __repr__(self):
        if "sklearn" in sys.modules:  # its pretty-printer (ellipsis, nesting), mirrored below
            return repr(_sklearn_twin(self))
        items = [f"{key}={_value_repr(value)}" for key, value in self._changed_params()]
        return _wrap(type(self).__name__, items)

    @property
    def _repr_html_(self):
        """scikit-learn's HTML diagram (Jupyter), when its ``display`` setting is 'diagram'."""
        if _scikit_learn_config("display", "diagram") != "diagram":
            raise AttributeError("_repr_html_ is only defined when the 'display' configuration "
                                 "option is set to 'diagram'")
        return self._html_repr

    def _html_repr(self):
        from sklearn.utils import estimator_html_repr

        return estimator_html_repr(_sklearn_twin(self))

    def _repr_mimebundle_(self, **kwargs):
        """What Jupyter shows: the text repr, and the HTML diagram as scikit-learn's setting asks."""
        bundle = {"text/plain": repr(self)}
        if _scikit_learn_config("display", "diagram") == "diagram":
            bundle["text/html"] = self._html_repr()
        return bundle

    # ---------------------------------------------------------------- metadata routing
    def get_metadata_routing(self):
        """scikit-learn's ``MetadataRequest`` of this estimator (what its methods consume)."""
        return _sklearn_twin(self).get_metadata_routing()

    def set_fit_request(self, **requests):
        """Whether ``fit`` asks a meta-estimator for ``sample_weight`` (metadata routing,
        ``sklearn.set_config(enable_metadata_routing=True)``); returns self."""
        return request_metadata(self, "fit", requests)


def request_metadata(estimator, method, requests):
    """``estimator.set_{method}_request(**requests)`` by scikit-learn's own code; returns
    ``estimator``."""
    getattr(_sklearn_twin(estimator), f"set_{method}_request")(**requests)
    return estimator


# ---------------------------------------------------------------------- helpers
def _is_nan(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isnan(value)


def _value_repr(value):
    if isinstance(value, np.ndarray):
        return np.array_repr(value)
    return repr(value)


def _wrap(name, items):
    """``Name(a=1, b=2, ...)``, items packed into lines of at most 80 columns, continued under
    the first one (scikit-learn's compact layout)."""
    indent = " " * (len(name) + 1)
    lines, line = [], name + "("
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else ")")
        if line.endswith("(") or len(line) + 1 + len(piece) <= _WIDTH:
            line += ("" if line.endswith("(") else " ") + piece
        else:
            lines.append(line)
            line = indent + piece
    if not items:
        line += ")"
    lines.append(line)
    return "\n".join(lines)


_TWINS = {}


def _sklearn_twin(estimator):
    """``estimator`` seen through ``sklearn.base.BaseEstimator``: an instance of a class with
    ``BaseEstimator`` first in its bases, sharing ``estimator``'s ``__dict__``. scikit-learn's
    own code then gives the repr, the HTML diagram and the metadata routing (built from the
    signatures of ``fit``, ``partial_fit`` and ``score``; requests are kept in the shared
    ``__dict__``). Only called once scikit-learn is imported."""
    from sklearn.base import BaseEstimator
    from sklearn.utils._metadata_requests import RequestMethod

    cls = type(estimator)
    twin_cls = _TWINS.get(cls)
    if twin_cls is None:
        twin_cls = type(cls.__name__, (BaseEstimator, cls), {"__module__": cls.__module__})
        for method in ("fit", "partial_fit"):  # ours come first in cls: scikit-learn's here
            requests = twin_cls._get_class_level_metadata_request_values(method)
            if hasattr(cls, f"set_{method}_request"):
                setattr(twin_cls, f"set_{method}_request", RequestMethod(method, sorted(requests)))
        _TWINS[cls] = twin_cls
    twin = object.__new__(twin_cls)
    twin.__dict__ = estimator.__dict__
    return twin
