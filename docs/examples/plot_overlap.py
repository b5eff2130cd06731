"""
Overlap sets the difficulty
===========================

:func:`gaussmix.make_mixture` draws a random mixture whose components overlap by the amount
asked for. The overlap of two components is the probability that a point of one is more
likely (weights included) under the other, counted both ways (Maitra & Melnykov 2010); the
average over all pairs is what ``overlap`` sets. The same random draw at three overlaps: the
means, orientations and axis ratios stay, the covariances are scaled together.
"""

# %%
import matplotlib.pyplot as plt

import gaussmix as gm

fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
for ax, overlap in zip(axes, [0.001, 0.05, 0.2]):
    X, y, truth = gm.make_mixture(500, 3, overlap=overlap, random_state=0)
    gm.plot_mixture(truth, X, ax=ax, legend=False,
                    title=f"overlap={overlap}: achieved {truth.overlap_:.3f}")
    print(f"asked {overlap}: average {truth.overlap_:.4f}, largest pair {truth.max_overlap_:.4f}")
plt.show()

# %%
# :func:`gaussmix.pairwise_overlap` computes the overlap of every pair of a mixture's
# components (exactly, by numerical inversion of a characteristic function): ``matrix`` holds
# the pairwise overlaps, ``mean`` their average, the number ``make_mixture`` hit.
overlaps = gm.pairwise_overlap(truth)
print(overlaps.matrix.round(3))
print(f"average {overlaps.mean:.4f}")
