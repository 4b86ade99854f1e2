"""Thin adapter over the Kubernetes API: raw dicts in and out, create-or-patch, 404/409 tolerated where safe."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from fraud_operator.builders import FRAUDMODEL_LABEL, preview_service_name
from fraud_operator.spec import GROUP, KIND, PLURAL, VERSION

MERGE = "application/merge-patch+json"
#: Who posts our Events (the "From" column of `kubectl describe`).
EVENT_SOURCE = "fraud-operator"
EVENT_MESSAGE_LIMIT = 1024

log = logging.getLogger(__name__)


def load_config() -> None:
    """In-cluster service account when running in a pod, else $KUBECONFIG / ~/.kube/config."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]


def fraudmodel_ref(namespace: str, name: str, uid: str | None = None) -> dict[str, str]:
    """Pure: the involvedObject of an Event about a FraudModel."""
    ref = {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "namespace": namespace, "name": name}
    return ref | ({"uid": uid} if uid else {})


def event_body(ref: Mapping[str, str], type_: str, reason: str, message: str, now: datetime) -> dict[str, Any]:
    """Pure: a core/v1 Event (the legacy shape `kubectl get events` and `describe` show; no eventTime, so the API
    server does not ask for the events.k8s.io reporting fields). Long messages are cut: the API refuses > 1 KiB."""
    if len(message) > EVENT_MESSAGE_LIMIT:
        message = message[: EVENT_MESSAGE_LIMIT - 3] + "..."
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "metadata": {"generateName": f"{ref['name']}.", "namespace": ref["namespace"]},
        "involvedObject": dict(ref),
        "type": type_,
        "reason": reason,
        "message": message,
        "source": {"component": EVENT_SOURCE},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def _json(response: Any) -> Any:
    return json.loads(response.data)


@dataclass
class Kube:
    apps: client.AppsV1Api
    core: client.CoreV1Api
    autoscaling: client.AutoscalingV2Api
    discovery: client.DiscoveryV1Api
    custom: client.CustomObjectsApi

    @classmethod
    def connect(cls) -> Kube:
        load_config()
        return cls(
            client.AppsV1Api(),
            client.CoreV1Api(),
            client.AutoscalingV2Api(),
            client.DiscoveryV1Api(),
            client.CustomObjectsApi(),
        )

    # --- reads ----------------------------------------------------------------------------------

    def fraudmodel(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            body: dict[str, Any] = _json(
                self.custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, name, _preload_content=False
                )
            )
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return body

    def children(self, namespace: str, name: str) -> tuple[list[Any], list[Any], list[Any], Any]:
        """Deployments, Services, EndpointSlices of both Services, and the HPA (or None)."""
        selector = f"{FRAUDMODEL_LABEL}={name}"
        deployments = _json(
            self.apps.list_namespaced_deployment(namespace, label_selector=selector, _preload_content=False)
        )["items"]
        services = _json(self.core.list_namespaced_service(namespace, label_selector=selector, _preload_content=False))[
            "items"
        ]
        slices = _json(
            self.discovery.list_namespaced_endpoint_slice(
                namespace,
                label_selector=f"kubernetes.io/service-name in ({name},{preview_service_name(name)})",
                _preload_content=False,
            )
        )["items"]
        try:
            hpa = _json(
                self.autoscaling.read_namespaced_horizontal_pod_autoscaler(name, namespace, _preload_content=False)
            )
        except ApiException as e:
            if e.status != 404:
                raise
            hpa = None
        return deployments, services, slices, hpa

    def cluster_ip(self, namespace: str, service: str) -> str | None:
        """The Service's ClusterIP (None if it does not exist)."""
        try:
            body = _json(self.core.read_namespaced_service(service, namespace, _preload_content=False))
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        ip: str | None = body.get("spec", {}).get("clusterIP")
        return ip

    # --- writes ---------------------------------------------------------------------------------

    def _kind(self, kind: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
        table: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
            "Deployment": (self.apps.create_namespaced_deployment, self.apps.patch_namespaced_deployment),
            "Service": (self.core.create_namespaced_service, self.core.patch_namespaced_service),
            "HorizontalPodAutoscaler": (
                self.autoscaling.create_namespaced_horizontal_pod_autoscaler,
                self.autoscaling.patch_namespaced_horizontal_pod_autoscaler,
            ),
        }
        return table[kind]

    def create_or_patch(self, namespace: str, obj: dict[str, Any], patch_body: dict[str, Any] | None = None) -> str:
        """Create; on 409 (exists) merge-patch with ``patch_body`` (default ``obj``). "created" or "patched"."""
        create, patch = self._kind(obj["kind"])
        try:
            create(namespace, obj, _preload_content=False)
            return "created"
        except ApiException as e:
            if e.status != 409:
                raise
        patch(obj["metadata"]["name"], namespace, patch_body or obj, _content_type=MERGE, _preload_content=False)
        return "patched"

    def patch(self, namespace: str, kind: str, name: str, body: dict[str, Any]) -> bool:
        """Merge-patch; False if the object does not exist (404 tolerated)."""
        _, patch = self._kind(kind)
        try:
            patch(name, namespace, body, _content_type=MERGE, _preload_content=False)
            return True
        except ApiException as e:
            if e.status == 404:
                return False
            raise

    def delete_hpa(self, namespace: str, name: str) -> None:
        try:
            self.autoscaling.delete_namespaced_horizontal_pod_autoscaler(name, namespace, _preload_content=False)
        except ApiException as e:
            if e.status != 404:
                raise

    def patch_fraudmodel(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, body, _content_type=MERGE, _preload_content=False
        )

    def patch_status(self, namespace: str, name: str, resource_version: str, status: dict[str, Any]) -> None:
        """One status write, guarded by resourceVersion (409 if the object changed since it was read)."""
        body = {"metadata": {"resourceVersion": resource_version}, "status": status}
        self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, name, body, _content_type=MERGE, _preload_content=False
        )

    def post_event(self, ref: Mapping[str, str], type_: str, reason: str, message: str) -> None:
        """An Event about ``ref``; a refusal is logged, never raised (Events are auxiliary)."""
        body = event_body(ref, type_, reason, message, datetime.now(UTC))
        try:
            self.core.create_namespaced_event(ref["namespace"], body, _preload_content=False)  # type: ignore[arg-type]  # a dict is sent as is
        except ApiException as e:
            log.warning(
                "could not post Event %s for %s/%s: %s %s", reason, ref["namespace"], ref["name"], e.status, e.reason
            )
