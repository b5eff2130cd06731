"""Pictures that explain a Gaussian mixture (the edges: nothing here fits anything).

* :func:`plot_mixture` - points coloured by their most probable component (uncertain points blended
  and faded), red markers on the means, translucent 1, 2 and 3 standard-deviation ellipses.
* :func:`plot_pairs` - a corner plot of every feature pair with marginal ellipses, and the 1-D
  marginal densities on the diagonal.
* :func:`plot_1d` - a histogram with each weighted component density and the mixture density.
* :func:`plot_density` - log-density heat map with contours.
* :func:`plot_lower_bound` - the lower bound after each EM iteration.
* :func:`plot_weights` - the weights as bars: which components a Bayesian mixture kept.
* :func:`animate_em` - a GIF of EM at work, one frame per iteration (see
  :mod:`gaussmix.viz.animation`).

Every function takes a fitted mixture (``gaussmix.GaussianMixture``, scikit-learn's
``GaussianMixture`` or ``GaussianMixture.from_parameters(...)``) and works for every covariance
type. With more than two features a picture shows either a chosen pair of features (the exact
marginal of the mixture) or a projection onto the two leading principal axes; the axis labels say
which. matplotlib is imported only when a picture is drawn.

Modules: :mod:`~gaussmix.viz.mixture` (scatter, corner and 1-D pictures),
:mod:`~gaussmix.viz.density` (density and lower bound), :mod:`~gaussmix.viz.animation` (the EM
animation) and :mod:`~gaussmix.viz.drawing` (geometry, colours and drawing helpers). Every
covariance model hands the pictures its 2-D marginals (``CovarianceModel.marginal``), so a new model needs
nothing here.
"""

from .animation import animate_em, em_trajectory
from .density import plot_density, plot_lower_bound
from .mixture import plot_1d, plot_mixture, plot_pairs
from .weights import plot_weights

__all__ = [
    "animate_em",
    "em_trajectory",
    "plot_1d",
    "plot_density",
    "plot_lower_bound",
    "plot_mixture",
    "plot_pairs",
    "plot_weights",
]
