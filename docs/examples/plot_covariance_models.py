"""
The covariance models: sklearn's four and mclust's fourteen
===========================================================

A component's covariance matrix sets the size, the shape and the direction of its ellipses.
R's mclust writes it as ``lambda_k D_k A_k D_k^T``: a **volume** ``lambda_k``, a **shape**
``A_k`` (the axis ratios) and an **orientation** ``D_k`` (the axes' directions), each Equal for
all components, Variable between them, or the Identity (round, or along the feature axes). The
three letters name the model: ``VVV`` lets all three vary, ``EII`` gives every component the
same round ellipse. scikit-learn's four are four of them: ``full`` = VVV, ``tied`` = EEE,
``diag`` = VVI and ``spherical`` = VII.

Fewer free numbers means less to estimate (better with few points) but less freedom to fit.
"""

# %%
# Each model drawn
# ----------------
# Three components of a random mixture of each model. Look for what is shared: in the ``E``
# volume models the ellipses have the same area, in ``?E?`` the same shape, in ``??E`` the same
# direction, in ``??I`` axes along the features.
import matplotlib.pyplot as plt

import gaussmix as gm

MODELS = ["EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
          "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV"]
fig, axes = plt.subplots(2, 7, figsize=(15, 4.8), layout="constrained")
for ax, code in zip(axes.ravel(), MODELS):
    _, _, truth = gm.make_mixture(10, 3, overlap=0.01, covariance_type=code, random_state=4)
    gm.plot_mixture(truth, ax=ax, legend=False, n_std=(1, 2), title=code)
    ax.set(xticks=[], yticks=[], xlabel="", ylabel="")
    ax.set_aspect("equal", adjustable="box")
plt.show()

# %%
# How many numbers each model fits
# --------------------------------
# :func:`gaussmix.select_model` fits every model and reports its number of free parameters
# (weights, means and covariance parameters together; the ``n_parameters`` column), the
# number BIC charges for. Here with 3 components in 2 features: the weights take 2, the means
# 6, the covariances from 1 (EII) to 9 (VVV). With more features the gap grows fast: a full
# covariance has ``d (d + 1) / 2`` numbers per component.
X, _, _ = gm.make_mixture(300, 3, overlap=0.02, random_state=0)
selection = gm.select_model(X, [3], covariance_types=MODELS, random_state=0)
table = selection.table.set_index("covariance_type").loc[MODELS, ["n_parameters", "bic"]]
print(table.round(1).to_string())
