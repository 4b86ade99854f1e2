"""Training pipeline: load/validate → split → tune/train → evaluate → threshold → register.

One concern per module, each usable on its own (see ``pipeline.py`` for the end-to-end run and
``cli.py`` for ``lfd train`` / ``lfd promote`` / ``lfd generate``). Import direction: ``pipeline``
and ``cli`` may import every step; steps import only ``lfd.contract``, ``lfd.model_bundle`` and
the pure steps (``evaluate``, ``threshold``), never each other's I/O.
"""
