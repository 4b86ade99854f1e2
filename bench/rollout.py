"""`make bench-rollout`: failed requests while traffic switches between real scoring pods on the local node.

Two ways to move a Service's traffic to a new model, same pods (the operator's rendered scoring Deployment on
the real node: containerd + runc, kubelet, kube-proxy in iptables mode), same open-loop client
(bench/loadgen, POST /score to the Service's ClusterIP from the host, a constant rate through the switch):

- blue-green, as the operator switches: both colours Ready, the stable Service's selector is patched from
  blue to green (promotion) and back (rollback); the old colour keeps running.
- baseline: one Deployment, `kubectl set image` (a second tag of the same image: a new ReplicaSet, a plain
  RollingUpdate, maxSurge 1 / maxUnavailable 0), then `kubectl rollout undo`.

Counts per switch: requests sent, non-2xx, connection errors/timeouts (everything loadgen does not count as
2xx). Writes bench/results/rollout.json; the summary goes to BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from bench_scoring import build_loadgen  # noqa: E402

from fraud_operator.builders import BuildContext, build_deployment, build_stable_service  # noqa: E402
from fraud_operator.spec import Colour, FraudModelSpec, parse_spec  # noqa: E402
from lfd_dev import images, manager  # noqa: E402
from lfd_dev.components import node  # noqa: E402
from lfd_dev.components.kubernetes import kubectl  # noqa: E402
from lfd_dev.settings import Settings, load_settings  # noqa: E402
from scoring.service import EXAMPLE_INPUT  # noqa: E402
from tests.node.real_pods import BUNDLE_IN_POD, fit_bundle, on_real_node  # noqa: E402


def _k(settings: Settings, *args: str, input_text: str | None = None) -> str:
    result = kubectl(settings, *args, input_text=input_text)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr}")
    return result.stdout


def _apply(settings: Settings, namespace: str, *objects: dict[str, Any]) -> None:
    manifest = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    _k(settings, "-n", namespace, "apply", "-f", "-", input_text=json.dumps(manifest))


def _wait_rollout(settings: Settings, namespace: str, deployment: str, timeout_s: float = 600) -> None:
    """Until every replica is updated and Ready (polled: one kubectl call is capped at 60 s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = json.loads(_k(settings, "-n", namespace, "get", "deployment", deployment, "-o", "json"))
        want, status = got["spec"].get("replicas", 1), got.get("status", {})
        if status.get("updatedReplicas") == want == status.get("readyReplicas") == status.get("replicas"):
            return
        time.sleep(2)
    raise RuntimeError(f"{namespace}/{deployment} not rolled out within {timeout_s:.0f}s")


def _cluster_ip(settings: Settings, namespace: str, service: str) -> str:
    return str(json.loads(_k(settings, "-n", namespace, "get", "service", service, "-o", "json"))["spec"]["clusterIP"])


def _load_through(
    loadgen: Path, url: str, body: Path, rate: float, duration_s: float, switch_at_s: float, switch: Any
) -> dict[str, Any]:
    """Run loadgen for ``duration_s`` and call ``switch()`` ``switch_at_s`` into it."""
    timer = threading.Timer(switch_at_s, switch)
    argv = [str(loadgen), "-mode", "http", "-url", url, "-body", str(body), "-rate", str(rate),
            "-duration", f"{duration_s}s", "-timeout", "5s"]  # fmt: skip
    load_at_start = os.getloadavg()[0]  # the machine is shared: say how busy it was when the window began
    started = time.monotonic()
    timer.start()
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=duration_s + 120)
    timer.join()
    result: dict[str, Any] = json.loads(out.stdout)
    result["switch_at_s"] = switch_at_s
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["non_2xx_or_error"] = result["sent"] - result["ok"]
    result["loadavg_1m_at_start"] = round(load_at_start, 2)
    result["loadavg_1m"] = round(os.getloadavg()[0], 2)
    return result


@contextlib.contextmanager
def _namespace(settings: Settings, prefix: str) -> Iterator[str]:
    """A fresh namespace for one scenario, deleted (without waiting) afterwards."""
    namespace = f"{prefix}-{uuid.uuid4().hex[:6]}"
    _k(settings, "create", "namespace", namespace)
    try:
        yield namespace
    finally:
        kubectl(settings, "delete", "namespace", namespace, "--wait=false")


def _serving(settings: Settings, namespace: str, spec: FraudModelSpec, *deployments: dict[str, Any]) -> str:
    """Apply ``deployments`` and the stable Service (on blue), wait until they are Ready; the Service's URL."""
    _apply(settings, namespace, *deployments, build_stable_service("fd", "blue", spec))
    for deployment in deployments:
        _wait_rollout(settings, namespace, deployment["metadata"]["name"])
    time.sleep(3)
    return f"http://{_cluster_ip(settings, namespace, 'fd')}:3000/score"


def blue_green(
    settings: Settings, loadgen: Path, body: Path, bundles: list[Path], rate: float, duration: float
) -> dict[str, Any]:
    with _namespace(settings, "bench-bg") as namespace:
        spec = parse_spec({"model": {"uri": BUNDLE_IN_POD}, "image": images.scoring_image().ref})
        blue = on_real_node(build_deployment("fd", "blue", spec, 1, 1, BuildContext()), bundles[0])
        green = on_real_node(build_deployment("fd", "green", spec, 2, 1, BuildContext()), bundles[1])
        url = _serving(settings, namespace, spec, blue, green)

        def point_to(colour: Colour) -> None:
            service = json.dumps(build_stable_service("fd", colour, spec))
            _k(settings, "-n", namespace, "apply", "-f", "-", input_text=service)

        promotion = _load_through(loadgen, url, body, rate, duration, duration / 3, lambda: point_to("green"))
        rollback = _load_through(loadgen, url, body, rate, duration, duration / 3, lambda: point_to("blue"))
        return {"promotion": promotion, "rollback": rollback}


def rolling_update(
    settings: Settings, loadgen: Path, body: Path, bundles: list[Path], rate: float, duration: float
) -> dict[str, Any]:
    with _namespace(settings, "bench-ru") as namespace:
        image = images.scoring_image()
        second_tag = f"{image.ref}-b"
        node.ctr(settings, "images", "tag", "--force", image.ref, second_tag)
        spec = parse_spec({"model": {"uri": BUNDLE_IN_POD}, "image": image.ref})
        url = _serving(
            settings,
            namespace,
            spec,
            on_real_node(build_deployment("fd", "blue", spec, 1, 1, BuildContext()), bundles[0]),
        )
        update = _load_through(loadgen, url, body, rate, duration, duration / 3,
                               lambda: _k(settings, "-n", namespace, "set", "image", "deployment/fd-blue", f"scoring={second_tag}"))  # fmt: skip
        _wait_rollout(settings, namespace, "fd-blue")
        undo = _load_through(loadgen, url, body, rate, duration, duration / 3,
                             lambda: _k(settings, "-n", namespace, "rollout", "undo", "deployment/fd-blue"))  # fmt: skip
        _wait_rollout(settings, namespace, "fd-blue")
        return {"promotion": update, "rollback": undo}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50, help="requests per second (default: %(default)s)")
    parser.add_argument("--duration", type=float, default=60, help="seconds per switch window (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "rollout.json")
    args = parser.parse_args()
    settings = load_settings()
    print("[bench-rollout] bringing up the real node", flush=True)
    manager.up(settings, ["node"])
    try:
        images.import_image(settings, images.scoring_image(), lambda *a: node.ctr(settings, *a))
        loadgen = build_loadgen()
        models = settings.state / "node" / "bench-models"
        bundles = [fit_bundle(models / name, seed) for name, seed in (("a", 7), ("b", 8))]
        with tempfile.TemporaryDirectory() as tmp:
            body = Path(tmp) / "score.json"
            body.write_text(json.dumps(EXAMPLE_INPUT))
            print(f"[bench-rollout] blue-green switch at {args.rate:.0f} req/s", flush=True)
            bg = blue_green(settings, loadgen, body, bundles, args.rate, args.duration)
            print(f"[bench-rollout] baseline RollingUpdate at {args.rate:.0f} req/s", flush=True)
            ru = rolling_update(settings, loadgen, body, bundles, args.rate, args.duration)
    finally:
        print("[bench-rollout] taking the real node down (bridge, chains and cgroups removed)", flush=True)
        manager.down(settings, ["node"])
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "rate": args.rate,
               "duration_s": args.duration, "blue_green": bg, "rolling_update": ru}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    for name, scenario in (("blue-green (operator switch)", bg), ("RollingUpdate (kubectl set image)", ru)):
        for phase, r in scenario.items():
            print(f"{name:36} {phase:9} sent {r['sent']:6}  ok {r['ok']:6}  failed {r['non_2xx_or_error']:4}  "
                  f"statuses {r['statuses']}  load at start {r['loadavg_1m_at_start']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
