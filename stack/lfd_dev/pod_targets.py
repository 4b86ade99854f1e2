"""Prometheus targets for the real node's pods: ``python -m lfd_dev.pod_targets --help``.

In a cluster Prometheus finds scoring pods with ``kubernetes_sd_configs`` and relabels their labels into the
``namespace``/``fraudmodel``/``colour`` the SLO gate selects. Debian 12's Prometheus 2.42 is built without the
Kubernetes discovery (measured: ``promtool check config`` says "field kubernetes_sd_configs not found"), so this
process does that part: every interval it lists the pods kubelet runs on the real node, keeps those annotated
``prometheus.io/scrape: "true"`` whose address is on the host-only pod network, and writes them as a file
service-discovery target list that the stack's Prometheus already reads (``components/prometheus.py``).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from lfd_dev.api_get import ApiClient, ApiError

FRAUDMODEL_LABEL = "ml.livefraud.io/fraudmodel"
COLOUR_LABEL = "ml.livefraud.io/colour"


def targets(pods: Sequence[Mapping[str, Any]], node: str, pod_cidr: str) -> list[dict[str, Any]]:
    """Pure: file_sd target groups for the running, annotated pods of ``node`` with an address in ``pod_cidr``
    (the guard that keeps every scrape on the host-only bridge, whatever a pod's status says)."""
    network = ipaddress.ip_network(pod_cidr)
    groups = []
    for pod in pods:
        meta, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {})
        annotations, labels = meta.get("annotations") or {}, meta.get("labels") or {}
        ip, port = status.get("podIP"), annotations.get("prometheus.io/port", "")
        if spec.get("nodeName") != node or status.get("phase") != "Running":
            continue
        if annotations.get("prometheus.io/scrape") != "true" or not ip or not port.isdigit():
            continue
        if ipaddress.ip_address(ip) not in network:
            continue
        group_labels = {"namespace": meta.get("namespace", ""), "pod": meta.get("name", "")}
        group_labels["__metrics_path__"] = annotations.get("prometheus.io/path", "/metrics")
        for key, target in ((FRAUDMODEL_LABEL, "fraudmodel"), (COLOUR_LABEL, "colour")):
            if key in labels:
                group_labels[target] = labels[key]
        groups.append({"targets": [f"{ip}:{port}"], "labels": group_labels})
    return sorted(groups, key=lambda g: str(g["targets"]))


def write_atomically(path: Path, groups: list[dict[str, Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(groups, indent=1))
    tmp.replace(path)  # Prometheus never reads half a file


def list_pods(api: ApiClient, node: str) -> list[dict[str, Any]] | None:
    """The pods bound to ``node`` (None if the API server did not answer: keep the last list)."""
    try:
        # resourceVersion=0: served from the API server's watch cache, not a quorum read of etcd.
        query = urlencode({"fieldSelector": f"spec.nodeName={node}", "resourceVersion": "0"})
        items: list[dict[str, Any]] = api.get_json(f"/api/v1/pods?{query}")["items"]
    except (ApiError, KeyError, TypeError) as error:
        print(f"listing the pods failed: {error}", file=sys.stderr, flush=True)
        return None
    return items


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lfd_dev.pod_targets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--kubeconfig", required=True, type=Path, help="kubeconfig of the local API server")
    parser.add_argument("--node", required=True, help="the real node's name")
    parser.add_argument("--pod-cidr", required=True, help="only pod addresses inside this network are targets")
    parser.add_argument("--out", required=True, type=Path, help="file_sd JSON file to (re)write")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between lists (default 2)")
    args = parser.parse_args(argv)
    api = ApiClient(args.kubeconfig)
    last: list[dict[str, Any]] | None = None
    while True:
        pods = list_pods(api, args.node)
        if pods is not None:
            groups = targets(pods, args.node, args.pod_cidr)
            if groups != last or not args.out.exists():
                write_atomically(args.out, groups)
                print(f"{len(groups)} target(s): {[g['targets'][0] for g in groups]}", flush=True)
                last = groups
        time.sleep(args.interval)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
