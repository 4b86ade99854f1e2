"""Run the program through Pulumi's Automation API with an inline program and a local file backend.

The Python side of the program runs in this process (an inline program), so only the `pulumi` CLI and the
provider plugins are needed - no Python language host, no Pulumi Cloud account. This is how the app layer
is deployed to the local stack's cluster (and how tests/pulumi/test_local_up.py drives it):

    .venv/bin/python -m lfd_cloud.automation up --kubeconfig .stack/kubernetes/admin.kubeconfig \\
        --fraud-models examples/fraudmodel.yaml
    .venv/bin/python -m lfd_cloud.automation preview ...   # expect: no changes
    .venv/bin/python -m lfd_cloud.automation destroy ...

(`PYTHONPATH=pulumi`, or run from pulumi/.) State, plugins and stack config live in ``--state-dir``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lfd_cloud import program
from pulumi import automation as auto

PROJECT = "lfd"


@dataclass(frozen=True)
class Local:
    """Where the CLI, its plugins and the state are, and what the stack deploys."""

    state_dir: Path
    pulumi_root: Path  # contains bin/pulumi and bin/pulumi-resource-kubernetes
    config: Mapping[str, str]  # lfd:* keys -> values (strings; objects as JSON)
    stack_name: str = "local"

    def env(self) -> dict[str, str]:
        return {
            "PULUMI_HOME": str(self.state_dir / "home"),
            "PULUMI_CONFIG_PASSPHRASE": "",  # local state only; nothing secret is stored for target cluster
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",  # use the binaries make setup built
            "PULUMI_BACKEND_URL": f"file://{self.state_dir / 'backend'}",
            "PATH": f"{self.pulumi_root / 'bin'}:{os.environ.get('PATH', '')}",
        }


def stack(local: Local) -> auto.Stack:
    (local.state_dir / "backend").mkdir(parents=True, exist_ok=True)
    (local.state_dir / "home").mkdir(parents=True, exist_ok=True)
    env = local.env()
    # The provider plugin is found on PATH by the CLI (an "ambient" plugin); the CLI itself is run from here.
    os.environ["PATH"] = env["PATH"]
    workspace = auto.LocalWorkspaceOptions(
        work_dir=str(local.state_dir),
        pulumi_home=env["PULUMI_HOME"],
        env_vars=env,
        pulumi_command=auto.PulumiCommand(root=str(local.pulumi_root)),
        project_settings=auto.ProjectSettings(
            name=PROJECT, runtime="python", backend=auto.ProjectBackend(url=env["PULUMI_BACKEND_URL"])
        ),
        secrets_provider="passphrase",  # the provider's name, not a secret  # pragma: allowlist secret
    )
    result = auto.create_or_select_stack(
        stack_name=local.stack_name, project_name=PROJECT, program=program.run, opts=workspace
    )
    result.set_all_config({key: auto.ConfigValue(value) for key, value in local.config.items()})
    return result


def cluster_config(
    kubeconfig: Path, *, namespace: str, fraud_models: Sequence[Mapping[str, Any]], release: str = "lfd"
) -> dict[str, str]:
    """Stack config of the app layer on an existing cluster (target "cluster")."""
    return {
        "lfd:target": "cluster",
        "lfd:kubeconfig": str(kubeconfig),
        "lfd:namespace": namespace,
        "lfd:releaseName": release,
        "lfd:fraudModels": json.dumps([dict(m) for m in fraud_models]),
    }


def fraud_models_from(path: Path) -> list[dict[str, Any]]:
    """FraudModels of a manifest file (kubectl's format) as the chart's fraudModels items."""
    items = []
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == "FraudModel":
            items.append({"name": doc["metadata"]["name"], **doc["spec"]})
    return items


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lfd_cloud.automation",
        description="Deploy the app layer (Helm release + FraudModels) to an existing cluster with `pulumi` "
        "through the Automation API: local file backend, inline program, no Pulumi account.",
        epilog="Example: python -m lfd_cloud.automation up --kubeconfig .stack/kubernetes/admin.kubeconfig "
        "--fraud-models examples/fraudmodel.yaml",
    )
    parser.add_argument("action", choices=["up", "preview", "destroy", "outputs"])
    parser.add_argument("--kubeconfig", type=Path, required=True, help="kubeconfig of the target cluster")
    parser.add_argument("--namespace", default="fraud", help="namespace of the release (created)")
    parser.add_argument("--fraud-models", type=Path, help="a manifest with FraudModels to create with the release")
    parser.add_argument("--state-dir", type=Path, default=Path(".stack/pulumi"), help="state, plugins, config")
    parser.add_argument(
        "--pulumi-root",
        type=Path,
        default=Path(os.environ.get("LFD_CACHE", Path.home() / ".cache" / "live-fraud-detector")),
        help="directory whose bin/ holds pulumi and pulumi-resource-kubernetes (make setup builds them)",
    )
    args = parser.parse_args(argv)
    models = fraud_models_from(args.fraud_models) if args.fraud_models else []
    local = Local(
        state_dir=args.state_dir.resolve(),
        pulumi_root=args.pulumi_root,
        config=cluster_config(args.kubeconfig.resolve(), namespace=args.namespace, fraud_models=models),
    )
    target = stack(local)

    def show(line: str) -> None:  # the CLI's own progress, as it comes
        print(line, end="" if line.endswith("\n") else "\n", flush=True)

    if args.action == "up":
        target.up(on_output=show)
    elif args.action == "preview":
        target.preview(diff=True, on_output=show)
    elif args.action == "destroy":
        target.destroy(on_output=show)
    else:
        print(json.dumps({k: v.value for k, v in target.outputs().items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
