"""gaussmix: Gaussian Mixture Models you can generate, learn, see and scale."""

from ._version import __version__
from .mixture import GaussianMixture

__all__ = ["GaussianMixture", "__version__"]
