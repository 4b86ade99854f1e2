"""The real-node tests run in every ``make test`` (and alone with ``make test-node``).

They need the images ``make setup`` builds (``stack/install.sh images``, cached by content hash) and root on
the machine (a bridge, iptables chains, cgroups). Nothing here is skipped: if the node cannot start or an
image is missing, ``real_node`` raises with the reason and every test using it errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lfd_dev import images, manager
from lfd_dev.components import node
from lfd_dev.settings import Settings

from .real_pods import fit_bundle


@pytest.fixture(scope="package")
def real_node(stack_settings: Settings) -> Iterator[Settings]:
    """The node for this package only: the rest of the suite (kwok's simulated pods) runs without kube-proxy's
    rules and kubelet's firewall chain. ``test_real_pods.py``'s last test stops it and checks the host; this
    teardown stops it anyway when that test was deselected or failed early (a second down is a no-op)."""
    try:
        manager.up(stack_settings, ["node"])  # raises with the component's log tail if the node cannot start
        for image in (images.scoring_image(), images.operator_image()):
            images.import_image(stack_settings, image, lambda *a: node.ctr(stack_settings, *a))
        yield stack_settings
    finally:
        manager.down(stack_settings, ["node"])


@pytest.fixture(scope="package")
def host_bundle(real_node: Settings) -> Path:
    return fit_bundle(real_node.state / "node" / "test-models" / "bundle")
