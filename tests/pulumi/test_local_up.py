"""`pulumi up` for real: the app layer (Helm release of our chart + the example FraudModel) against the
local stack's API server, through the pulumi CLI and Kubernetes provider `make setup` built, with a local
file backend and the program inline (Automation API).

Given the local control plane and no release
When `pulumi up` runs, then `pulumi preview`, then `pulumi destroy`
Then up creates the namespace, the release and the FraudModel; preview shows no changes; kubectl sees the
FraudModel; destroy leaves no namespace, release or FraudModel behind.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from lfd_cloud import automation
from pulumi import automation as auto
from tests.conftest import Cluster

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraudmodel.yaml"


def _kubectl(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cluster.kubectl), *args], env=cluster.env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.e2e
def test_up_preview_destroy_of_the_app_layer(helm: Cluster, tmp_path: Path) -> None:
    pulumi_root = helm.settings.bin.parent
    for binary in ("pulumi", "pulumi-resource-kubernetes"):
        assert (pulumi_root / "bin" / binary).exists(), f"{binary} missing: run `make setup`"
    namespace = f"pulumi-{uuid.uuid4().hex[:6]}"
    models = automation.fraud_models_from(EXAMPLE)
    assert [m["name"] for m in models] == ["fraud-detector"]
    local = automation.Local(
        state_dir=tmp_path,
        pulumi_root=pulumi_root,
        config=automation.cluster_config(helm.kubeconfig, namespace=namespace, fraud_models=models),
    )
    stack = automation.stack(local)
    try:
        started = time.monotonic()
        up = stack.up(color="never")
        up_seconds = time.monotonic() - started
        changes = dict(up.summary.resource_changes or {})
        # stack + component + provider + namespace + release
        assert changes.get(auto.OpType.CREATE) == 5, changes
        assert up.outputs["scoringEndpoint"].value == f"http://fraud-detector.{namespace}.svc:3000"
        # The only warning is that the provider comes from PATH (make setup's build, not a downloaded plugin):
        # no "SDK expects a newer provider" one, since pyproject pins pulumi-kubernetes to the provider's 4.25.0.
        warnings = {line.strip() for line in up.stdout.splitlines() if "warning:" in line}
        ambient = f"warning: using pulumi-resource-kubernetes from $PATH at {pulumi_root / 'bin'}"
        assert warnings and all(w.endswith(ambient + "/pulumi-resource-kubernetes") for w in warnings), warnings

        preview = stack.preview(color="never")
        assert set(preview.change_summary) == {auto.OpType.SAME}, (
            f"second preview is not a no-op: {preview.change_summary}"
        )

        got = _kubectl(helm, "get", "fraudmodels", "-n", namespace, "-o", "json")
        assert got.returncode == 0, got.stderr
        items = json.loads(got.stdout)["items"]
        assert [i["metadata"]["name"] for i in items] == ["fraud-detector"]
        assert items[0]["spec"]["model"] == {"name": "fraud-detector", "version": "1"}
        assert items[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        operator = _kubectl(helm, "get", "deployment", "fraud-operator", "-n", namespace, "-o", "json")
        assert json.loads(operator.stdout)["status"].get("availableReplicas") == 1
        print(f"pulumi up of the app layer: {up_seconds:.1f} s")
    finally:
        destroy = stack.destroy(color="never")
    assert dict(destroy.summary.resource_changes or {}).get(auto.OpType.DELETE) == 5, destroy.summary.resource_changes
    gone = _kubectl(helm, "get", "namespace", namespace)
    assert gone.returncode != 0 and "NotFound" in gone.stderr, "destroy left the namespace behind"
    releases = subprocess.run(
        [str(helm.helm), "list", "-A", "-o", "json"], env=helm.env, capture_output=True, text=True, timeout=60
    )
    assert namespace not in releases.stdout
    assert not (stack.export_stack().deployment or {}).get("resources"), "state still holds resources"
