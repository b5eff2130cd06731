"""
Choosing the number of components: BIC, ICL and the selection plot
===================================================================

More components always fit the training points at least as well, so the log-likelihood alone
would always ask for more. The **BIC** (Bayesian information criterion) adds a penalty:
``BIC = -2 log L + p log n``, with ``p`` free parameters and ``n`` points; lower is better.
**ICL** adds twice the entropy of the soft assignments to BIC, so it also prefers components
that are well separated. :func:`gaussmix.select_model` fits a grid of numbers of components
and covariance models and ranks them.
"""

# %%
# Old Faithful: waiting time and eruption length
# ----------------------------------------------
# 272 eruptions of the geyser, two features. Every covariance type of scikit-learn, one to six
# components.
import matplotlib.pyplot as plt

import gaussmix as gm

X = gm.datasets.load_old_faithful()
selection = gm.select_model(X, range(1, 7), random_state=0)
print(selection)
print(selection.ranking(5)[["n_components", "covariance_type", "n_parameters", "bic", "icl"]]
      .round(1).to_string(index=False))

# %%
# The selection plot
# ------------------
# One line per covariance model, BIC against the number of components, the chosen model
# starred. The lines fall steeply while a new component explains real structure, then turn up
# once the penalty outweighs the small gain in fit.
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
selection.plot(ax=axes[0])
gm.plot_mixture(selection.best_, X, ax=axes[1], legend=False,
                feature_names=["eruption length (min)", "waiting time (min)"],
                title=f"best by BIC: {selection.best_params_}")
plt.show()

# %%
# ICL prefers separated groups
# ----------------------------
# The same fits, ranked by ICL: the entropy term penalises components that share many points.
selection.plot(criterion="icl")
plt.show()

# %%
# Degenerate fits
# ---------------
# With few points per component a covariance can shrink onto a handful of points and the
# likelihood grows without bound: a *spurious* fit, which BIC would love. ``select_model``
# marks a fit ``degenerate`` when a component holds fewer points than the parameters it fits
# on its own (plus one), or when it collapsed onto nearly identical values, and never chooses
# it. Here up to seven full-covariance components are offered for twenty points: from two
# components on, some component rests on fewer than six points (a mean and a covariance in 2-D
# take five numbers), so only K = 1 is a proper fit.
small = X[::14]
tiny = gm.select_model(small, range(1, 8), covariance_types="full", random_state=0)
print(tiny.table[["n_components", "status", "bic"]].round(1).to_string(index=False))
print("chosen:", tiny.best_params_)
