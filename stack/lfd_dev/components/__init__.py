"""One module per stack component; each exposes a ``Component`` (see ``base``)."""
