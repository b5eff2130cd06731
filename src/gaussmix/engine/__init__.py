"""The engine: the arithmetic of EM, with no estimator state.

``covariance`` (the covariance models and their registry), ``stats`` (additive sufficient
statistics), ``kernel`` and ``estep`` (the chunked E-step), ``em`` (the E-step with its
cancellation re-pass, the M-step), ``starts`` and ``agglomeration`` (starting responsibilities),
``validation`` (input checks shared by every layer above). Imports nothing else from gaussmix.
"""
