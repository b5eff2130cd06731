"""
A Gaussian mixture: generate, learn, draw
=========================================

Six hundred points are drawn from a *known* mixture of three Gaussians, a new mixture is
learned from the points alone, and both are drawn: points coloured by the component that most
probably made them, a red cross on each mean and translucent ellipses at 1, 2 and 3 standard
deviations around it.
"""

# sphinx_gallery_thumbnail_number = 2

# %%
# One feature first: a sum of weighted bells
# ------------------------------------------
# Old Faithful's eruptions last either about two minutes or about four and a half. A mixture of
# two Gaussians describes the histogram: each component is a bell curve scaled by its weight
# (the shaded areas), and the mixture's density is their sum (the black line).
import matplotlib.pyplot as plt

import gaussmix as gm

eruptions = gm.datasets.load_old_faithful()[:, :1]
two_bells = gm.GaussianMixture(2, random_state=0).fit(eruptions)
gm.plot_1d(two_bells, eruptions, feature_names=["eruption length (min)"], legend="inside",
           title="two weighted bells and their sum")
plt.show()
print("weights:", two_bells.weights_.round(2), "means:", two_bells.means_.ravel().round(2))

# %%
# Generate from a known mixture
# -----------------------------
# :func:`gaussmix.make_mixture` draws random means and covariances, scaled until the average
# overlap of two components (the chance that a point of one is more likely under the other,
# counted both ways) is the one asked for, then samples points from it. It returns the points,
# the component that made each point, and the true mixture itself.
import matplotlib.pyplot as plt

import gaussmix as gm

X, y, truth = gm.make_mixture(600, 3, overlap=0.02, random_state=0)
print(X.shape, truth.weights_.round(2))

# %%
# Learn it back
# -------------
# The learner sees only ``X``: no labels, no true parameters. It must find three weights,
# three means and three covariance matrices that make the points likely.
model = gm.GaussianMixture(n_components=3, random_state=0).fit(X)
print("learned weights:", model.weights_.round(2))
print("learned means:\n", model.means_.round(2))

# %%
# Truth and fit side by side
# --------------------------
# Each ellipse is a contour of its component's bell: the inner one holds the points within one
# standard deviation of the mean (measured along the component's own stretched axes), the next
# two and three. A 2-D Gaussian puts about 39%, 86% and 99% of its points inside them. The
# ellipse's direction and shape come from the component's covariance matrix, its centre from the
# mean. Blended, faded points are the ones the model is unsure about.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
gm.plot_mixture(truth, X, ax=axes[0], title="the true mixture", legend=False)
gm.plot_mixture(model, X, ax=axes[1], title="learned from the points", legend=False,
                reference=truth)
plt.show()
