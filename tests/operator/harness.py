"""Test harness: real scoring processes standing in for the pods kwok only simulates, and the operator process.

``ScoringPool``  one real ``lfd serve --model-dir`` per model bundle (started once per session).
``PodSimulator`` our "kubelet + kube-proxy": every 0.5 s it reads the namespace's Deployments and, for each colour
                 with replicas > 0, maps ``<ns>/<deployment>`` to the process serving that Deployment's
                 ``--model-dir`` in the service-map file the operator's resolver reads; it registers that process
                 with Prometheus under the colour's labels, and (optionally) sends live traffic to whatever colour
                 the stable Service selects.
``OperatorProcess`` ``lfd operator run`` as a subprocess that tests can kill -9 and restart.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from fraud_operator.analysis.smoke import CANNED_TRANSACTIONS
from lfd_dev.components.prometheus import register_target, unregister_target
from lfd_dev.scoring_process import ScoringProcess
from lfd_dev.settings import Settings

REPO = Path(__file__).resolve().parents[2]
LFD = REPO / ".venv" / "bin" / "lfd"


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


class ScoringPool:
    """One real scoring service per bundle directory, started together (their start-ups overlap)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.processes: dict[str, ScoringProcess] = {}

    def start(self, bundles: list[Path]) -> None:
        for bundle in bundles:
            log = self.logs / f"serve-{bundle.name}.log"
            self.processes[str(bundle)] = ScoringProcess(["--model-dir", str(bundle)], log).start()
        for process in self.processes.values():
            process.wait_ready(timeout_s=180, port_retries=2)

    def for_bundle(self, bundle: str) -> ScoringProcess | None:
        return self.processes.get(bundle)

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


def _model_dir(deployment: dict[str, Any]) -> str | None:
    """The pod's model: a bundle path (``--model-dir``) or a registry URI (``--model-uri models:/name/3``)."""
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0].get("args", [])
    for flag in ("--model-dir", "--model-uri"):
        if flag in args:
            return args[args.index(flag) + 1]
    return None


def _target_name(source: str) -> str:
    """Prometheus target name of a model source: the bundle directory's name, or ``models-<name>-<version>``."""
    name = Path(source).name if source.startswith("/") else re.sub(r"[^A-Za-z0-9-]+", "-", source).strip("-")
    return f"op-{name}"


class ModelPool(Protocol):
    """Where the simulator finds the real process serving a model source (None: not serving yet)."""

    def for_bundle(self, bundle: str) -> ScoringProcess | None: ...


@dataclass
class PodSimulator:
    kubectl: Callable[..., subprocess.CompletedProcess[str]]
    namespace: str
    pool: ModelPool
    settings: Settings
    service_map: Path
    traffic: bool = False
    errors: list[str] = field(default_factory=list)
    requests_sent: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _registered: set[str] = field(default_factory=set)

    def start(self) -> PodSimulator:
        self.service_map.write_text("{}")
        for target in (self._sync_loop, self._traffic_loop):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        for name in self._registered:
            unregister_target(self.settings, name)

    def current_map(self) -> dict[str, str]:
        mapping: dict[str, str] = json.loads(self.service_map.read_text())
        return mapping

    def _sync_loop(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self._sync()
            except Exception as e:  # keep simulating; the test sees the error list
                self.errors.append(repr(e))

    def _sync(self) -> None:
        result = self.kubectl("get", "deployments", "-n", self.namespace, "-o", "json")
        if result.returncode != 0:
            return
        mapping: dict[str, str] = {}
        for dep in json.loads(result.stdout)["items"]:
            bundle = _model_dir(dep)
            process = self.pool.for_bundle(bundle) if bundle else None
            if process is None or not dep["spec"].get("replicas"):
                continue
            name = dep["metadata"]["name"]
            mapping[f"{self.namespace}/{name}"] = process.url
            labels = dep["metadata"]["labels"]
            target = _target_name(bundle or "")
            register_target(
                self.settings,
                target,
                process.url.removeprefix("http://"),
                {
                    "namespace": self.namespace,
                    "fraudmodel": labels["ml.livefraud.io/fraudmodel"],
                    "colour": labels["ml.livefraud.io/colour"],
                },
            )
            self._registered.add(target)
        tmp = self.service_map.with_suffix(".tmp")
        tmp.write_text(json.dumps(mapping))
        tmp.replace(self.service_map)

    def stable_url(self, name: str) -> str | None:
        result = self.kubectl("get", "service", name, "-n", self.namespace, "-o", "json")
        if result.returncode != 0:
            return None
        colour = json.loads(result.stdout)["spec"]["selector"].get("ml.livefraud.io/colour")
        return self.current_map().get(f"{self.namespace}/{name}-{colour}")

    def _traffic_loop(self) -> None:
        """Like real clients of the stable Service: a few requests a second to whatever colour it selects."""
        url: str | None = None
        last_lookup = 0.0
        with httpx.Client(timeout=5) as client:
            while not self._stop.wait(0.2):
                if not self.traffic:
                    continue
                try:
                    if time.monotonic() - last_lookup > 1.0:
                        url, last_lookup = self.stable_url("fm"), time.monotonic()
                    if url is None:
                        continue
                    client.post(f"{url}/score", json={"transactions": list(CANNED_TRANSACTIONS)})
                    self.requests_sent += 1
                except Exception as e:  # keep the traffic flowing; the test sees the error list
                    self.errors.append(f"traffic: {e!r}")


@dataclass
class OperatorProcess:
    env: dict[str, str]
    namespace: str
    service_map: Path
    prometheus_url: str
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> OperatorProcess:
        self.starts += 1
        argv = [
            str(LFD),
            "operator",
            "run",
            "-n",
            self.namespace,
            "--service-map",
            str(self.service_map),
            "--prometheus-url",
            self.prometheus_url,
            "--metrics-port",
            "0",
            "--liveness",
            "",
            "--interval",
            "1",
            "--log-format",
            "json",
        ]
        with self.log.open("ab") as out:
            out.write(f"\n=== start {self.starts} ===\n".encode())
            self.process = subprocess.Popen(
                argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown at all, the harshest restart."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text()[-chars:] if self.log.exists() else ""


@dataclass
class SelectorWatcher:
    """Samples, every 0.2 s, which colour the stable Service selects and how many of that colour's pods are Ready
    (the pods' own Ready condition, independent of the operator's bookkeeping). Any sample with 0 is a violation."""

    kubectl: Callable[..., subprocess.CompletedProcess[str]]
    namespace: str
    name: str = "fm"
    samples: list[tuple[str, int]] = field(default_factory=list)
    preview_colours: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> SelectorWatcher:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def violations(self) -> list[tuple[str, int]]:
        return [s for s in self.samples if s[1] == 0]

    def caught_up(self, timeout: float = 15.0) -> SelectorWatcher:
        """Wait for two samples taken after this call, so assertions see the cluster's current state."""
        target = len(self.samples) + 2
        deadline = time.monotonic() + timeout
        while len(self.samples) < target:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"selector watcher stalled at {len(self.samples)} samples; errors: {self.errors[-3:]}"
                )
            time.sleep(0.1)
        return self

    @property
    def stable_colours(self) -> list[str]:
        seen: list[str] = []
        for colour, _ in self.samples:
            if not seen or seen[-1] != colour:
                seen.append(colour)
        return seen

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self._sample()
            except Exception as exc:  # a slow or odd kubectl answer must not end the watch silently
                self.errors.append(repr(exc))

    def _selects(self) -> dict[str, str | None] | None:
        services = self.kubectl("get", "services", "-n", self.namespace, "-o", "json")
        if services.returncode != 0:
            return None
        return {
            s["metadata"]["name"]: (s["spec"].get("selector") or {}).get("ml.livefraud.io/colour")
            for s in json.loads(services.stdout)["items"]
        }

    def _sample(self) -> None:
        # Services, pods, services again: two kubectl reads are not one snapshot, so a sample only counts
        # when the selection did not move while the pods were read (else a switch followed at once by the
        # old colour's scale-down would look like the selector pointing at a colour with no ready pods).
        selects = self._selects()
        pods = self.kubectl("get", "pods", "-n", self.namespace, "-o", "json")
        if selects is None or pods.returncode != 0 or self._selects() != selects:
            return
        if f"{self.name}-preview" in selects:
            self.preview_colours.add(selects[f"{self.name}-preview"])
        colour = selects.get(self.name)
        if colour is None:
            return
        ready = sum(
            1
            for p in json.loads(pods.stdout)["items"]
            if p["metadata"].get("labels", {}).get("ml.livefraud.io/colour") == colour
            and not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))
        )
        self.samples.append((colour, ready))
