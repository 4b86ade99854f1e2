"""The real-node tests run in every ``make test`` (and alone with ``make test-node``).

They need the images ``make setup`` builds (``stack/install.sh images``, cached by content hash) and root on
the machine (a bridge, iptables chains, cgroups). Nothing here is skipped: if the node cannot start or an
image is missing, the module's fixture raises with the reason and every test in it errors.
"""
