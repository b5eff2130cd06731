"""Applications: the places people use Gaussian mixtures, each built on the layers below.

The apps layer sits above ``viz`` and below ``cli`` (``docs/design.md``). Each application is a
package (``anomaly``, ``explore``, ``finance``, ``segmentation``, ``speaker``) whose public names
its ``__init__`` exports, and whose heavy dependencies are optional extras, imported lazily
through :func:`gaussmix._optional.require`.
"""
