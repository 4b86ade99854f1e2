"""The node helpers' kept-alive API client against the real local API server: it lists, it survives the
server closing the connection, and it names the path and status when the server refuses."""

from __future__ import annotations

import pytest

from lfd_dev.api_get import ApiClient, ApiError
from tests.conftest import Cluster

pytestmark = pytest.mark.integration


def test_lists_namespaces_over_one_connection(kubernetes: Cluster) -> None:
    api = ApiClient(kubernetes.kubeconfig)
    first = api.get_json("/api/v1/namespaces")
    connection = api._connection
    second = api.get_json("/api/v1/namespaces?resourceVersion=0")
    assert {"default", "kube-system"} <= {n["metadata"]["name"] for n in first["items"]}
    assert {n["metadata"]["name"] for n in second["items"]} == {n["metadata"]["name"] for n in first["items"]}
    assert api._connection is connection, "the second GET should reuse the kept-alive connection"
    api.close()


def test_reopens_a_connection_the_server_closed(kubernetes: Cluster) -> None:
    api = ApiClient(kubernetes.kubeconfig)
    api.get_json("/api/v1/namespaces/default")
    assert api._connection is not None and api._connection.sock is not None
    api._connection.sock.close()  # what an API server restart or an idle timeout leaves behind
    assert api.get_json("/api/v1/namespaces/default")["metadata"]["name"] == "default"
    api.close()


def test_refusal_names_path_and_status(kubernetes: Cluster) -> None:
    api = ApiClient(kubernetes.kubeconfig)
    with pytest.raises(ApiError, match=r"GET /api/v1/namespaces/no-such-namespace-here: HTTP 404"):
        api.get_json("/api/v1/namespaces/no-such-namespace-here")
    api.close()
