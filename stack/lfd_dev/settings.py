"""Where the stack lives and which ports it uses: pure configuration read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Versions are pinned in stack/versions.env (read by install.sh too); these mirror them for status output.
REPO_ROOT = Path(__file__).resolve().parents[2]


def _read_versions(path: Path) -> dict[str, str]:
    versions: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip().strip('"')
    return versions


@dataclass(frozen=True)
class Ports:
    kafka: int = 19092
    kafka_controller: int = 19093
    etcd: int = 12379
    etcd_peer: int = 12380
    apiserver: int = 16443
    controller_manager: int = 10257
    scheduler: int = 10259
    kwok: int = 10247
    mlflow: int = 15000
    prometheus: int = 19090
    # The real node (``lfd stack up node``): one per machine, so the defaults serve every clone.
    kubelet: int = 10250
    kubelet_healthz: int = 10248
    kube_proxy_healthz: int = 10256
    kube_proxy_metrics: int = 10249


@dataclass(frozen=True)
class Settings:
    repo: Path
    cache: Path  # pinned downloads and builds; shared by every clone on the machine
    state: Path  # data, logs, pid files of this clone's running stack
    ports: Ports
    versions: dict[str, str]

    @property
    def bin(self) -> Path:
        return self.cache / "bin"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubernetes" / "admin.kubeconfig"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports.kafka}"

    @property
    def mlflow_uri(self) -> str:
        return f"http://127.0.0.1:{self.ports.mlflow}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.prometheus}"

    @property
    def kafka_libs(self) -> Path:
        return self.cache / f"kafka-{self.versions['KAFKA_VERSION']}" / "libs"

    @property
    def flink_connector_jar(self) -> Path:
        v = self.versions["FLINK_KAFKA_CONNECTOR_VERSION"]
        return self.cache / "flink" / f"flink-sql-connector-kafka-{v}.jar"

    @property
    def main_python(self) -> Path:
        return self.repo / ".venv" / "bin" / "python"

    @property
    def streaming_python(self) -> Path:
        return self.repo / ".venv-streaming" / "bin" / "python"

    def tool(self, name: str) -> Path:
        return self.bin / name


def load_settings() -> Settings:
    """Read LFD_CACHE, LFD_STATE and LFD_PORT_<NAME> overrides from the environment."""
    cache = Path(os.environ.get("LFD_CACHE", Path.home() / ".cache" / "live-fraud-detector"))
    state = Path(os.environ.get("LFD_STATE", REPO_ROOT / ".stack"))
    defaults = Ports()
    overrides = {
        name: int(os.environ[f"LFD_PORT_{name.upper()}"])
        for name in defaults.__dataclass_fields__
        if f"LFD_PORT_{name.upper()}" in os.environ
    }
    ports = Ports(**{**defaults.__dict__, **overrides})
    versions = _read_versions(REPO_ROOT / "stack" / "versions.env")
    return Settings(repo=REPO_ROOT, cache=cache, state=state, ports=ports, versions=versions)
