"""Component families: what a mixture's components are, beyond their covariance model.

A *family* supplies, for EM on the sufficient-statistics engine (see ``docs/design.md``, "The
component protocol"):

* its E-step terms (:meth:`ComponentFamily.terms`; ``None``: the fused Gaussian kernel, no
  extra pass): an object with ``n_latent`` (the per-row ``(K, n)`` arrays the kernel keeps for
  it in ``latent``) and ``row_scale``, ``row_offset`` (per component: the kernel writes
  ``row_scale * (-d^2/2) + row_offset``, ``d`` the Mahalanobis distance of each row from each
  component, into ``latent[:K]``, folding the map into its own coefficients), whose
  ``log_density(latent, lp)`` fills ``lp`` with the weighted log-densities, and whose
  ``accumulate(extras, resp, latent)`` adds the family's further sums and turns ``resp`` into
  the moments' weights in place, up to the per-component factor it returns (or ``None``);
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
