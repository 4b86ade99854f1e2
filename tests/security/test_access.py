"""Who can reach what: the operator's ServiceAccount, bound to the chart's rendered Role on the REAL API
server, may do what a rollout needs in its own namespace and nothing else — no Secrets, no ConfigMaps,
nothing in another namespace, nothing cluster-wide, no pods/exec, no RBAC escalation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.operator.test_rbac import render_rbac, service_account_kubeconfig

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def operator_identity(
    helm: Any, kubectl: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str, str]]:
    """(the operator SA's kubeconfig, its namespace, another namespace)."""
    own, other = f"acc-{uuid.uuid4().hex[:6]}", f"acc-other-{uuid.uuid4().hex[:6]}"
    for namespace in (own, other):
        kubectl("create", "namespace", namespace, check=True)
    workdir = tmp_path_factory.mktemp("access")
    kubectl("apply", "-n", own, "-f", "-", input_text=render_rbac(helm, own, workdir), check=True)
    yield service_account_kubeconfig(helm, kubectl, own, workdir / "sa.kubeconfig"), own, other
    for namespace in (own, other):
        kubectl("delete", "namespace", namespace, "--wait=false")


ALLOWED = [
    ("patch", "fraudmodels.ml.livefraud.io"),
    ("create", "deployments.apps"),
    ("create", "services"),
    ("list", "endpointslices.discovery.k8s.io"),
]
DENIED_HERE = [
    ("get", "secrets"),
    ("list", "secrets"),
    ("get", "configmaps"),
    ("create", "pods"),
    ("create", "pods/exec"),
    ("delete", "deployments.apps"),
    ("delete", "fraudmodels.ml.livefraud.io"),
    ("create", "roles.rbac.authorization.k8s.io"),
    ("create", "rolebindings.rbac.authorization.k8s.io"),
    ("create", "serviceaccounts/token"),
]


def can(kubectl: Any, kubeconfig: Path, verb: str, resource: str, namespace: str | None) -> str:
    where = ["-n", namespace] if namespace else ["--all-namespaces"]
    answer: str = kubectl("--kubeconfig", str(kubeconfig), "auth", "can-i", verb, resource, *where).stdout.strip()
    return answer


def test_operator_service_account_can_do_its_job_and_nothing_more(
    kubectl: Any, operator_identity: tuple[Path, str, str]
) -> None:
    kubeconfig, own, other = operator_identity
    for verb, resource in ALLOWED:
        assert can(kubectl, kubeconfig, verb, resource, own) == "yes", f"{verb} {resource} in its namespace"
    for verb, resource in DENIED_HERE:
        assert can(kubectl, kubeconfig, verb, resource, own) == "no", f"{verb} {resource} must be denied"
    for verb, resource in [*ALLOWED, ("get", "secrets")]:
        assert can(kubectl, kubeconfig, verb, resource, other) == "no", f"{verb} {resource} in another namespace"
    for verb, resource in [
        ("list", "namespaces"),
        ("list", "nodes"),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
    ]:
        assert can(kubectl, kubeconfig, verb, resource, None) == "no", f"{verb} {resource} cluster-wide"


def test_operator_service_account_is_refused_secrets_by_the_api_server(
    kubectl: Any, operator_identity: tuple[Path, str, str]
) -> None:
    """Not only `can-i`: a real read is Forbidden."""
    kubeconfig, own, _ = operator_identity
    kubectl("create", "secret", "generic", "probe", "-n", own, "--from-literal=k=v", check=True)
    result = kubectl("--kubeconfig", str(kubeconfig), "get", "secret", "probe", "-n", own, "-o", "name")
    assert result.returncode != 0 and "forbidden" in result.stderr.lower(), result.stderr
