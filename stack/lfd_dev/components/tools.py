"""Components that are installed tools rather than servers: helm, kubectl, and Flink (PyFlink runs its
own MiniCluster inside each job process locally; on Kubernetes the Flink Kubernetes Operator does)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from lfd_dev.components.base import Health
from lfd_dev.settings import Settings


def _run(argv: list[str | Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60)


@dataclass(frozen=True)
class Tool:
    name: str

    def start(self, settings: Settings) -> None:
        health = self.health(settings)
        if not health.healthy:
            from lfd_dev.components.base import MissingArtifact

            raise MissingArtifact(f"{self.name}: {health.detail}; run `make setup`")

    def stop(self, settings: Settings) -> bool:
        return False

    def health(self, settings: Settings) -> Health:
        if self.name == "flink":
            return _flink_health(settings)
        binary = settings.tool(self.name)
        if not binary.exists():
            return Health(False, f"{binary} missing")
        arg = ["version", "--short"] if self.name == "helm" else ["version", "--client"]
        result = _run([binary, *arg])
        first = (result.stdout or result.stderr).strip().splitlines()[:1]
        return Health(result.returncode == 0, f"{first[0] if first else '?'} ({binary})")


def _flink_health(settings: Settings) -> Health:
    jar = settings.flink_connector_jar
    if not jar.exists():
        return Health(False, f"Kafka connector jar missing at {jar}")
    python = settings.streaming_python
    if not python.exists():
        return Health(False, f"streaming environment missing at {python}")
    result = _run([python, "-c", "import importlib.metadata as m; print(m.version('apache-flink'))"])
    if result.returncode != 0:
        return Health(False, f"PyFlink not importable: {result.stderr.strip()[-200:]}")
    return Health(True, f"PyFlink {result.stdout.strip()} + {jar.name}")


HELM = Tool("helm")
KUBECTL = Tool("kubectl")
FLINK = Tool("flink")
