"""Component families: what a mixture's components are, beyond their covariance model.

A *family* supplies, for EM on the sufficient-statistics engine (see ``docs/design.md``, "The
component protocol"):

* its E-step terms (:meth:`ComponentFamily.terms`): an object with ``n_latent`` (the per-row
  ``(K, n)`` arrays the kernel keeps for it), whose ``log_density(lp, latent)`` turns the
  kernel's ``-d^2/2`` (half the squared Mahalanobis distance of each row from each component)
  into weighted log-densities and fills the per-row latent arrays, and whose
  ``accumulate(extras, resp, latent)`` adds the family's further sums and returns the weights
  the moments take (``None``: the fused Gaussian kernel, no extra pass);
* its M-step (:meth:`ComponentFamily.m_step`): weights, means, the sample covariances handed to
  the covariance model's constrained solve, and the family's own parameters;
* its parameter count (:meth:`ComponentFamily.n_parameters`).

The covariance model (:mod:`gaussmix.engine.covariance`) supplies the constrained solve of the
scatter; the uniform noise component (:mod:`.uniform_noise`) is a family of one component with no
moments. :data:`FAMILIES` is the registry: tests iterate it.
"""

from __future__ import annotations

from .gaussian_family import GaussianFamily
from .protocol import ComponentFamily, FamilyStep
from .student_t_family import StudentFamily, update_dofs
from .uniform_noise import UniformNoise, box_log_volume

#: name -> family; :func:`get` reads it.
FAMILIES: dict[str, ComponentFamily] = {
    "gaussian": GaussianFamily(),
    "student": StudentFamily(),
}


def get(name: str) -> ComponentFamily:
    """The registered family ``name``."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"Unknown component family {name!r}; expected one of "
                         f"{', '.join(map(repr, FAMILIES))}.") from None


def register(family: ComponentFamily) -> None:
    """Add ``family`` (an instance) under its ``name``."""
    FAMILIES[family.name] = family


__all__ = ["FAMILIES", "ComponentFamily", "FamilyStep", "GaussianFamily", "StudentFamily",
           "UniformNoise", "box_log_volume", "get", "register", "update_dofs"]
