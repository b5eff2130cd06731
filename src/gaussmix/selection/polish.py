"""Comparing fits at their optima: :func:`polished_log_likelihood`."""

from __future__ import annotations

from ..estimators import GaussianMixture

__all__ = ["polished_log_likelihood"]


def polished_log_likelihood(model, X, *, tol=1e-12, max_iter=20_000):
    """Total log-likelihood of ``X`` at the EM fixed point reached from ``model``'s parameters.

    Two fits stopped by a loose ``tol`` can differ only in how close to their optimum they
    stopped; running EM on from each (with a tiny ``tol``) compares the optima themselves. Works
    for any fitted mixture with scikit-learn's attributes (``weights_``, ``means_``,
    ``precisions_``, ``covariance_type``), scikit-learn's own included. A run that does not reach
    ``tol`` within ``max_iter`` iterations warns with ``ConvergenceWarning``.

    Examples
    --------
    >>> import gaussmix as gm
    >>> X = gm.datasets.load_old_faithful()
    >>> rough = gm.GaussianMixture(2, tol=1e-1, random_state=0).fit(X)
    >>> polished = gm.polished_log_likelihood(rough, X)
    >>> bool(polished >= rough.score(X) * len(X))
    True
    """
    polish = GaussianMixture(
        model.n_components, covariance_type=model.covariance_type, tol=tol, max_iter=max_iter,
        weights_init=model.weights_, means_init=model.means_, precisions_init=model.precisions_,
    )
    polish.fit(X)
    return float(polish.score(X) * len(X))
