"""Cluster DNS for the real node's pods: ``lfd_dev.cluster_dns`` on the bridge's gateway, port 53.

Part of the ``node`` group. kubelet's ``clusterDNS`` is this address (``node_config.CLUSTER_DNS``), so every pod's
resolv.conf names it; it answers the Services' names from a table it refreshes from the API server and forwards
nothing. Ready once it answers ``kubernetes.default.svc.<domain>`` with the ``kubernetes`` Service's ClusterIP
(the table is loaded, and UDP to the bridge address works).
"""

from __future__ import annotations

import sys

from lfd_dev import cluster_dns
from lfd_dev.components import node_config as cfg
from lfd_dev.components.base import ProcessComponent
from lfd_dev.settings import Settings

#: The API server's own Service: always there, so its name answering means the table is loaded.
PROBE_NAME = f"kubernetes.default.svc.{cfg.CLUSTER_DOMAIN}"


def _answers(settings: Settings) -> bool:
    try:
        reply = cluster_dns.ask((cfg.CLUSTER_DNS, cfg.DNS_PORT), PROBE_NAME, timeout=1)
    except OSError:
        return False
    return reply.rcode == cluster_dns.NOERROR and bool(reply.addresses)


CLUSTER_DNS = ProcessComponent(
    name="cluster-dns",
    argv=lambda s: [
        sys.executable,
        "-m",
        "lfd_dev.cluster_dns",
        f"--listen={cfg.CLUSTER_DNS}:{cfg.DNS_PORT}",
        f"--kubeconfig={s.kubeconfig}",
        f"--domain={cfg.CLUSTER_DOMAIN}",
    ],
    ready=_answers,
    describe=lambda s: (
        f"pods resolve <svc>.<ns>.svc.{cfg.CLUSTER_DOMAIN} at {cfg.CLUSTER_DNS}:{cfg.DNS_PORT} (UDP, TCP); "
        "other names: NXDOMAIN in the domain, REFUSED outside; nothing forwarded"
    ),
    start_timeout=30,
)
