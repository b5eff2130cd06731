"""
EM step by step
===============

EM (expectation-maximisation) learns a mixture by repeating two simple steps from a rough
start. **E-step**: with the current components, compute every point's responsibilities (the
probability that each component made it, ``predict_proba``). **M-step**: re-estimate each
component from all the points, each point counted with its responsibility as a weight: the
weight of a component is its share of the responsibilities, its mean the weighted average of
the points, its covariance their weighted spread around that mean. Each round makes the data
more likely (the *lower bound*, the mean log-likelihood, never goes down); EM stops when it
no longer improves.
"""

# %%
# Record every iteration
# ----------------------
# :func:`gaussmix.viz.animation.em_trajectory` runs one fit and keeps the parameters after
# each iteration (iteration 0 is the start). ``init_params="random"`` starts from random
# responsibilities, a poor start that shows EM's work; the default start is far better.
import matplotlib.pyplot as plt
import numpy as np

import gaussmix as gm
from gaussmix.viz.animation import em_trajectory

X, _, _ = gm.make_mixture(400, 3, overlap=0.02, random_state=1)
estimator = gm.GaussianMixture(3, init_params="random", random_state=3, max_iter=200)
model, steps = em_trajectory(estimator, X)
print(f"{len(steps) - 1} iterations, converged: {model.converged_}")

# %%
# Snapshots
# ---------
# At the start every component sits near the middle of the data and the colours are a blur:
# every point is shared. Within a few iterations the components pull apart, each taking the
# points it explains best, which in turn moves it further towards them.
shown = sorted({0, 2, 5, 10, 20, len(steps) - 1} & set(range(len(steps))))
fig, axes = plt.subplots(2, 3, figsize=(12, 7), layout="constrained", sharex=True, sharey=True)
for ax, i in zip(axes.ravel(), shown):
    step = steps[i]
    snapshot = gm.GaussianMixture.from_parameters(step.weights, step.means, step.covariances)
    gm.plot_mixture(snapshot, X, ax=ax, legend=False, title=f"after {i} iterations",
                    reference=model)
plt.show()

# %%
# The animation
# -------------
# The same run, one frame per iteration (press play). :func:`gaussmix.animate_em` writes it as
# a GIF file; here matplotlib's ``FuncAnimation`` redraws the snapshots so that the page can
# show it.
from matplotlib.animation import FuncAnimation

frames = list(range(min(len(steps), 16))) + [len(steps) - 1]
fig, ax = plt.subplots(figsize=(5, 4), layout="constrained", dpi=60)


def draw(i):
    ax.clear()
    step = steps[i]
    snapshot = gm.GaussianMixture.from_parameters(step.weights, step.means, step.covariances)
    gm.plot_mixture(snapshot, X, ax=ax, legend=False, title=f"iteration {i}", reference=model)
    ax.set(xlim=axes[0, 0].get_xlim(), ylim=axes[0, 0].get_ylim())


animation = FuncAnimation(fig, draw, frames=frames, interval=400)
animation

# %%
# The lower bound climbs
# ----------------------
# One number per iteration: the mean log-likelihood of the points. The big gains come first;
# the last iterations only polish. :func:`gaussmix.plot_lower_bound` draws it from the fitted
# model's ``lower_bounds_``.
gm.plot_lower_bound(model)
plt.show()
print("never goes down:", bool(np.all(np.diff(model.lower_bounds_) >= -1e-10)))

# %%
# One E-step and one M-step by hand
# ---------------------------------
# The same arithmetic written out with NumPy, starting from the parameters after iteration 4:
# the responsibilities come from the current model, then the new weights, means and
# covariances are responsibility-weighted averages. They match the parameters EM itself had
# after iteration 5 (up to the small ``reg_covar`` added to each covariance's diagonal).
before, after = steps[4], steps[5]
current = gm.GaussianMixture.from_parameters(before.weights, before.means, before.covariances)
resp = current.predict_proba(X)                 # E-step: (n_samples, n_components)
nk = resp.sum(axis=0)                           # M-step: each component's share of the points
weights = nk / len(X)
means = resp.T @ X / nk[:, None]
covariances = np.stack([
    (resp[:, k, None] * (X - means[k])).T @ (X - means[k]) / nk[k] for k in range(3)
])
print("weights:", weights.round(4), "EM:", after.weights.round(4))
print("largest difference in the means:", float(np.abs(means - after.means).max()))
print("largest difference in the covariances:",
      float(np.abs(covariances - after.covariances).max()))
