"""
A Bayesian mixture switches off the components it does not need
================================================================

Instead of fitting one mixture per number of components and comparing them,
:class:`gaussmix.BayesianGaussianMixture` fits once with more components than needed; a
prior that favours few large weights (a small ``weight_concentration_prior``) lets the data
keep only the components they need and drives the others' weights towards zero. Where
variational EM converges with a group split between two components, ``prune="elbo"`` (the
default) empties the spare half if that raises the lower bound (``model.pruned_`` lists what
it emptied; nothing here).
"""

# %%
import matplotlib.pyplot as plt

import gaussmix as gm

X, _, _ = gm.make_mixture(600, 3, overlap=0.005, random_state=2)
model = gm.BayesianGaussianMixture(10, weight_concentration_prior=1e-3, max_iter=500,
                                   random_state=0).fit(X)
print("weights:", model.weights_.round(3))
print("emptied by prune:", model.pruned_)

# %%
# Left, the components kept (those under 1% weight are not drawn); right, every weight.
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
gm.plot_mixture(model, X, ax=axes[0], legend="inside", title="ten offered")
gm.plot_weights(model, ax=axes[1])
plt.show()
