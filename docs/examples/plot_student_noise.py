"""
Outliers: Student-t components and the noise component
======================================================

A Gaussian mixture must explain every point, so it bends to cover what does not fit: fat tails
inflate the covariances, and stray points pull the ellipses outwards. Two standard cures:

* :class:`gaussmix.StudentMixture`: Student-t components, whose heavier tails accept far points
  without stretching; each point counts in its component's mean and scale with a weight that
  falls with its distance.
* ``noise=True``: one extra uniform component over the data's bounding box (R mclust's noise
  component) takes the background points; ``predict`` labels them ``-1``.
"""

# %%
# Two heavy-tailed groups and a scattered background
# --------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np

import gaussmix as gm

rng = np.random.default_rng(0)
X = np.vstack([rng.standard_t(3, (300, 2)) - 5, rng.standard_t(3, (300, 2)) + 5,
               rng.uniform(-40, 40, (30, 2))])

gaussian = gm.GaussianMixture(2, random_state=0).fit(X)
student = gm.StudentMixture(2, random_state=0).fit(X)
noisy = gm.GaussianMixture(2, noise=True, random_state=0).fit(X)

# %%
# Three fits
# ----------
# The plain Gaussian ellipses are blown up by the background; the Student-t components keep
# tight scale ellipses (their degrees of freedom say how heavy the tails are); the noise
# component takes the background, and the two Gaussians describe the groups alone.
fig, axes = plt.subplots(1, 3, figsize=(14, 4.5), layout="constrained", sharex=True, sharey=True)
gm.plot_mixture(gaussian, X, ax=axes[0], legend=False, title="GaussianMixture(2)")
gm.plot_mixture(student, X, ax=axes[1], legend=False, title="StudentMixture(2)")
gm.plot_mixture(noisy, X, ax=axes[2], legend=False, title="GaussianMixture(2, noise=True)")
plt.show()

print("Gaussian covariances' determinants:", np.linalg.det(gaussian.covariances_).round(1))
print("Student-t scales' determinants:    ", np.linalg.det(student.covariances_).round(1))
print("Student-t degrees of freedom:      ", np.round(student.dofs_, 1))
print(f"noise weight {noisy.noise_weight_:.3f}; rows labelled noise: "
      f"{int((noisy.predict(X) == -1).sum())} (30 were drawn from the background, the rest are the groups' far tails)")
