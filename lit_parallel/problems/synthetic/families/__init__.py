"""The task families, one module per skill; importing this package registers them all."""

from lit_parallel.problems.synthetic.families import arithmetic, conditions, lists, loops, numbers, strings  # noqa: F401
