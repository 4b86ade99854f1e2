"""Prometheus scrapes the real node's pods: ``lfd_dev.pod_targets`` publishes them as file_sd targets.

Part of the ``node`` group. Stopping it removes the target file, so Prometheus stops scraping pods that are gone.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lfd_dev.components import node_config as cfg
from lfd_dev.components.base import ProcessComponent
from lfd_dev.components.prometheus import targets_dir
from lfd_dev.process import stop
from lfd_dev.settings import Settings


def target_file(settings: Settings) -> Path:
    return targets_dir(settings) / "real-node-pods.json"


def _prepare(settings: Settings) -> None:
    targets_dir(settings).mkdir(parents=True, exist_ok=True)
    target_file(settings).unlink(missing_ok=True)  # ready = written by this run


class _PodTargets(ProcessComponent):
    def stop(self, settings: Settings) -> bool:
        target_file(settings).unlink(missing_ok=True)
        return stop(self.pid_file(settings))


POD_TARGETS = _PodTargets(
    name="pod-targets",
    argv=lambda s: [
        sys.executable,
        "-m",
        "lfd_dev.pod_targets",
        f"--kubeconfig={s.kubeconfig}",
        f"--node={cfg.NODE_NAME}",
        f"--pod-cidr={cfg.POD_CIDR}",
        f"--out={target_file(s)}",
    ],
    prepare=_prepare,
    ready=lambda s: target_file(s).exists(),
    describe=lambda s: f"Prometheus scrapes the real node's annotated pods (file_sd {target_file(s).name})",
    start_timeout=60,
)
