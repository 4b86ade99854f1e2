"""`make demo`: the main job, end to end on the local stack, printing where to look.

Steps run in order; each prints what it proved. The stack itself is started by `make up` first.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from lfd.stack import manager
from lfd.stack.cli import env_exports
from lfd.stack.settings import Settings, load_settings

Step = Callable[[Settings], str]


def stack_alive(settings: Settings) -> str:
    statuses = manager.status(settings)
    unhealthy = [s.name for s in statuses if not s.health.healthy]
    if unhealthy:
        raise RuntimeError(f"unhealthy components: {', '.join(unhealthy)} (see {settings.logs})")
    return "\n".join(f"    {s.name:<24} {s.health.detail}" for s in statuses)


STEPS: list[tuple[str, Step]] = [
    ("stack components healthy", stack_alive),
]


def main() -> int:
    settings = load_settings()
    began = time.monotonic()
    for title, step in STEPS:
        print(f"==> {title}", flush=True)
        try:
            print(step(settings), flush=True)
        except Exception as exc:
            print(f"demo step '{title}' failed: {exc}", file=sys.stderr)
            return 1
    print(f"\ndemo finished in {time.monotonic() - began:.0f}s. Where to look:")
    print(f"  MLflow UI        {settings.mlflow_uri}")
    print(f"  Prometheus       {settings.prometheus_url}")
    print(f"  Kafka            {settings.kafka_bootstrap}")
    print(f"  kubectl          KUBECONFIG={settings.kubeconfig} {settings.tool('kubectl')} get nodes")
    print(f"  logs             {settings.logs}")
    print("  shell exports    eval \"$(.venv/bin/lfd stack env)\"\n")
    print(env_exports(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
