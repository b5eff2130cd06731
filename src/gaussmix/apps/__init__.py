"""Applications: the places people use Gaussian mixtures, each built on the layers below.

The apps layer sits above ``viz`` and below ``cli`` (``docs/design.md``). Each application is
one module (or a small package) whose heavy dependencies are optional extras, imported lazily
through :func:`gaussmix._optional.require`.
"""
