"""
Soft assignments against k-means' hard cut
==========================================

k-means gives every point one cluster, even a point exactly between two. A Gaussian mixture
gives every point a *probability* for each component (``predict_proba``): near a component's
centre it is close to 1, between two components it is shared, and the sharing follows the
components' spreads and weights, not only the distance to the centres.
"""

# %%
# Two overlapping groups
# ----------------------
# A narrow group on the left and a wide one on the right, with many points in between.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans

import gaussmix as gm

truth = gm.GaussianMixture.from_parameters(
    weights=[0.5, 0.5],
    means=[[-2.0, 0.0], [2.0, 0.0]],
    covariances=[[[0.6, 0.0], [0.0, 0.6]], [[2.5, 0.0], [0.0, 2.5]]],
    random_state=0,  # the seed of sample()
)
X, _ = truth.sample(500)
model = gm.GaussianMixture(2, random_state=0).fit(X)
hard = KMeans(2, n_init=10, random_state=0).fit_predict(X)
proba = model.predict_proba(X)

# %%
# The picture
# -----------
# Left, k-means: a straight cut halfway between the two centres, every point on one side or
# the other. Right, the mixture: each point coloured by its probability of belonging to the
# *right-hand* component. The boundary where the probability is one half is curved and lies
# closer to the narrow group, because a point a little outside the narrow group is still well
# within the wide one's reach.
right = int(np.argmax(model.means_[:, 0]))
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained", sharey=True)
axes[0].scatter(X[:, 0], X[:, 1], c=hard, cmap="coolwarm", s=8)
axes[0].set_title("k-means: one label per point")
points = axes[1].scatter(X[:, 0], X[:, 1], c=proba[:, right], cmap="coolwarm", s=8,
                         vmin=0, vmax=1)
axes[1].set_title("mixture: probability of the right-hand component")
fig.colorbar(points, ax=axes[1], label="predict_proba(X)[:, right]")
for ax in axes:
    ax.set_xlabel("feature 0")
    ax.set_aspect("equal", adjustable="datalim")
axes[0].set_ylabel("feature 1")
plt.show()

# %%
# Along the line between the two means
# ------------------------------------
# Walking from one mean to the other, the probability changes smoothly from one component to
# the other. Each row of ``predict_proba`` sums to one: the point belongs *somewhere*, and the
# two numbers say how the evidence is shared.
line = np.column_stack([np.linspace(-4, 4, 9), np.zeros(9)])
for x, p in zip(line[:, 0], model.predict_proba(line)[:, right]):
    print(f"x = {x:+.0f}: P(right) = {p:.3f}, P(left) = {1 - p:.3f}")
