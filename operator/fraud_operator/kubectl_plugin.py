"""`kubectl fraudmodel`: status, history, promote, abort, retry and rollback of FraudModels.

Installed as the console script ``kubectl-fraudmodel``, so kubectl finds it on PATH as a plugin. Every action
is an annotation the operator handles (and removes) or a read: the plugin never writes status, so plain
`kubectl annotate` does exactly the same.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from fraud_operator.spec import ABORT_ANNOTATION, PROMOTE_ANNOTATION, RETRY_ANNOTATION, ROLLBACK_ANNOTATION

EPILOG = """\
examples:
  kubectl fraudmodel status fraud-detector -n fraud
  kubectl fraudmodel history fraud-detector
  kubectl fraudmodel promote fraud-detector          continue a rollout paused by autoPromotion: false
  kubectl fraudmodel abort fraud-detector            back to the stable colour; the new revision is halted
  kubectl fraudmodel retry fraud-detector            retry a halted revision (failed analysis or aborted)
  kubectl fraudmodel rollback fraud-detector         to the previous stable revision
  kubectl fraudmodel rollback fraud-detector --to-revision 3 --wait

plain kubectl does the same:
  kubectl annotate fraudmodel fraud-detector ml.livefraud.io/rollback=3
  kubectl patch fraudmodel fraud-detector --type merge -p '{"spec":{"model":{"version":"3"}}}'
"""


class PluginError(RuntimeError):
    pass


def previous_stable_revision(status: dict[str, Any]) -> int:
    """Pure: the newest Stable revision other than the active one (what `rollback` goes back to)."""
    active = status.get("activeRevision")
    stable = [
        e["revision"] for e in status.get("revisions", []) if e.get("outcome") == "Stable" and e["revision"] != active
    ]
    if not stable:
        raise PluginError("no earlier stable revision to roll back to (see `kubectl fraudmodel history`)")
    return int(max(stable))


def format_status(body: dict[str, Any]) -> str:
    s = body.get("status") or {}
    lines = [
        f"Name:            {body['metadata']['name']}",
        f"Namespace:       {body['metadata']['namespace']}",
        f"Phase:           {s.get('phase', '-')}  ({s.get('currentStep', '')})",
        f"Message:         {s.get('message', '')}",
        f"Active:          {s.get('activeColour', '-')}  revision {s.get('activeRevision', '-')}  "
        f"model {s.get('activeVersion', '-')}",
        f"Preview:         {s.get('previewColour', '-')}  revision {s.get('previewRevision', '-')}",
        f"Stable revision: {s.get('stableRevision', '-')}",
    ]
    if s.get("haltedReason"):
        lines.append(f"Halted:          {s['haltedReason']} (kubectl fraudmodel retry / rollback)")
    lines.append("Conditions:")
    lines += [f"  {c['type']:<12} {c['status']:<6} {c.get('reason', '')}" for c in s.get("conditions", [])]
    lines.append("Analysis:")
    lines += [f"  {a['kind']:<5} {a['result']:<12} {a.get('message', '')}" for a in s.get("analysis", [])]
    return "\n".join(lines)


def format_history(body: dict[str, Any]) -> str:
    s = body.get("status") or {}
    rows = [f"{'REVISION':<9} {'OUTCOME':<12} {'AT':<21} MODEL"]
    for e in s.get("revisions", []):
        marker = " (active)" if e["revision"] == s.get("activeRevision") else ""
        model = e["model"].get("version") or e["model"].get("alias") or e["model"].get("uri")
        rows.append(f"{e['revision']:<9} {e['outcome']:<12} {e.get('at', ''):<21} {model}{marker}")
    return "\n".join(rows)


class Client:
    def __init__(self, namespace: str | None) -> None:
        from kubernetes import client, config

        from fraud_operator.kube import load_config

        load_config()
        if namespace is None:
            try:
                _, context = config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
                namespace = context.get("context", {}).get("namespace")
            except (config.ConfigException, OSError):
                namespace = None
        self.namespace = namespace or "default"
        self.api = client.CustomObjectsApi()

    def get(self, name: str) -> dict[str, Any]:
        import json

        from kubernetes.client.exceptions import ApiException

        from fraud_operator.spec import GROUP, PLURAL, VERSION

        try:
            response = self.api.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, _preload_content=False
            )
        except ApiException as e:
            raise PluginError(f"fraudmodel {self.namespace}/{name}: {e.reason}") from e
        body: dict[str, Any] = json.loads(response.data)  # type: ignore[attr-defined]
        return body

    def annotate(self, name: str, key: str, value: str) -> None:
        from fraud_operator.spec import GROUP, PLURAL, VERSION

        self.api.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            name,
            {"metadata": {"annotations": {key: value}}},
            _content_type="application/merge-patch+json",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl fraudmodel",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-n", "--namespace", default=None, help="namespace (default: the context's)")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (
        ("status", "phase, colours, revisions, conditions, analyses"),
        ("history", "revision history with outcomes"),
        ("promote", "continue a rollout paused for promotion"),
        ("abort", "stop the rollout; traffic stays on (or returns to) the stable colour"),
        ("retry", "retry a halted revision"),
        ("rollback", "roll back to a revision (default: the previous stable one)"),
    ):
        p = sub.add_parser(action, help=text, description=text)
        p.add_argument("name", help="FraudModel name")
        p.add_argument("-n", "--namespace", dest="sub_namespace", default=None, help=argparse.SUPPRESS)
        if action == "rollback":
            p.add_argument("--to-revision", type=int, default=None, help="revision number (see history)")
            p.add_argument("--wait", action="store_true", help="wait until the revision is active and Healthy")
            p.add_argument("--timeout", type=float, default=300, help="seconds to wait (with --wait)")
    return parser


def _rollback(client: Client, args: argparse.Namespace) -> str:
    status = client.get(args.name).get("status") or {}
    revision = args.to_revision if args.to_revision is not None else previous_stable_revision(status)
    if revision not in {e["revision"] for e in status.get("revisions", [])}:
        raise PluginError(f"revision {revision} is not in the history (see `kubectl fraudmodel history`)")
    client.annotate(args.name, ROLLBACK_ANNOTATION, str(revision))
    if args.wait:
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            s = client.get(args.name).get("status") or {}
            if s.get("activeRevision") == revision and s.get("phase") == "Healthy":
                return f"fraudmodel/{args.name} rolled back: revision {revision} active on {s.get('activeColour')}"
            time.sleep(0.5)
        raise PluginError(f"revision {revision} not active after {args.timeout:.0f}s")
    return f"fraudmodel/{args.name} rollback to revision {revision} requested"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        client = Client(getattr(args, "sub_namespace", None) or args.namespace)
        if args.action == "status":
            print(format_status(client.get(args.name)))
        elif args.action == "history":
            print(format_history(client.get(args.name)))
        elif args.action == "rollback":
            print(_rollback(client, args))
        else:
            key = {"promote": PROMOTE_ANNOTATION, "abort": ABORT_ANNOTATION, "retry": RETRY_ANNOTATION}[args.action]
            client.get(args.name)  # a clear error for a wrong name
            client.annotate(args.name, key, "true")
            print(f"fraudmodel/{args.name} {args.action} requested")
    except PluginError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
