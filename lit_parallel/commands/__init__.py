"""The tool commands of ``lit-parallel``, one module each: its parser (``add_parser``) and its run function.

``lit_parallel.cli`` routes to them; ``lightning`` builds the LightningCLI of ``fit|validate|test``.
"""
