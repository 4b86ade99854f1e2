"""Pure parts of the stack manager: settings overrides, component selection, generated configs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lfd_dev import manager, process
from lfd_dev.components.certs import kubeconfig
from lfd_dev.components.kafka import TRANSACTION_MAX_TIMEOUT_MS, parse_transaction_list, server_properties
from lfd_dev.components.kubernetes import node_manifest
from lfd_dev.settings import load_settings

pytestmark = pytest.mark.unit


def test_ports_and_paths_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LFD_PORT_KAFKA", "29092")
    monkeypatch.setenv("LFD_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("LFD_CACHE", str(tmp_path / "cache"))
    settings = load_settings()
    assert settings.ports.kafka == 29092
    assert settings.kafka_bootstrap == "127.0.0.1:29092"
    assert settings.kubeconfig == tmp_path / "state" / "kubernetes" / "admin.kubeconfig"
    assert settings.kafka_libs == tmp_path / "cache" / f"kafka-{settings.versions['KAFKA_VERSION']}" / "libs"


def test_selection_keeps_start_order_and_expands_groups() -> None:
    names = [c.name for c in manager.select(["mlflow", "kubernetes"])]
    assert names == ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl", "mlflow"]
    assert [c.name for c in manager.select(["kube-apiserver"])][:2] == ["etcd", "kube-apiserver"]
    # a bare `lfd stack up` starts everything but the real node (its own group, `lfd stack up node`)
    assert len(manager.select(None)) == len(manager.COMPONENTS) - len(manager.GROUPS["node"])
    with pytest.raises(ValueError, match="unknown component 'zookeeper'"):
        manager.select(["zookeeper"])


def test_node_dependencies_follow_the_direction_of_start_and_stop() -> None:
    """Starting the node starts the control plane; stopping the node must not stop it (tests/node ran before the
    kwok-based operator tests in one `make test` and took the API server down with its node); stopping the
    control plane takes the node with it."""
    node, plane = set(manager.GROUPS["node"]), set(manager.GROUPS["kubernetes"])
    assert {c.name for c in manager.select(["node"])} == node | plane
    assert {c.name for c in manager.select(["node"], for_stop=True)} == node
    assert {c.name for c in manager.select(["kubelet"], for_stop=True)} == {"kubelet"}
    assert {c.name for c in manager.select(["kubernetes"], for_stop=True)} == node | plane
    assert {c.name for c in manager.select(["kubernetes"])} == plane


def test_kafka_properties_allow_the_flink_sink_transaction_timeout() -> None:
    props = server_properties(load_settings(), Path("/data"))
    assert f"transaction.max.timeout.ms={TRANSACTION_MAX_TIMEOUT_MS}" in props
    assert TRANSACTION_MAX_TIMEOUT_MS >= 3_600_000
    assert "process.roles=broker,controller" in props
    assert "auto.create.topics.enable=false" in props


def test_transaction_list_is_parsed_by_column() -> None:
    text = (
        "TransactionalId               \tCoordinator\tProducerId\tTransactionState\t\n"
        "st-75fc0ba9-out-0-5           \t1          \t2007      \tOngoing         \t\n"
        "st-75fc0ba9-out-1-5           \t1          \t2011      \tEmpty           \t\n"
    )
    assert parse_transaction_list(text) == {"st-75fc0ba9-out-0-5": "Ongoing", "st-75fc0ba9-out-1-5": "Empty"}
    assert parse_transaction_list("SLF4J: no binding\n") == {}


def test_kwok_node_is_annotated_for_kwok() -> None:
    node = node_manifest("n0")
    assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"  # type: ignore[index]


def test_kubeconfig_embeds_the_pki(tmp_path: Path) -> None:
    for name, text in {"ca.crt": "CA", "admin.crt": "CRT", "admin.key": "KEY"}.items():
        (tmp_path / name).write_text(text)
    cfg = kubeconfig(tmp_path, "https://127.0.0.1:1")
    assert "server: https://127.0.0.1:1" in cfg and "Q0E=" in cfg  # base64("CA")


def test_spawn_and_stop_by_pid_file(tmp_path: Path) -> None:
    pid_file, log = tmp_path / "p.pid", tmp_path / "p.log"
    pid = process.spawn(
        "sleeper",
        [sys.executable, "-c", "print('up', flush=True); import time; time.sleep(60)"],
        pid_file=pid_file,
        log_file=log,
    )
    process.wait_until(lambda: "up" in log.read_text(), what="sleeper", timeout=10, pid_file=pid_file)
    assert process.read_pid(pid_file) == pid
    assert process.stop(pid_file, timeout=5) is True
    assert not process.is_alive(pid)
    assert not pid_file.exists()
    assert process.stop(pid_file) is False  # stopping twice is harmless


def test_wait_until_reports_a_dead_process_with_its_log(tmp_path: Path) -> None:
    pid_file, log = tmp_path / "p.pid", tmp_path / "p.log"
    process.spawn(
        "crasher",
        [sys.executable, "-c", "import sys; print('boom: bad flag'); sys.exit(3)"],
        pid_file=pid_file,
        log_file=log,
    )
    with pytest.raises(process.StartError, match="boom: bad flag"):
        process.wait_until(lambda: False, what="crasher", timeout=10, pid_file=pid_file, log_file=log)


def test_cli_help_teaches() -> None:
    out = subprocess.run([sys.executable, "-m", "lfd_dev.cli", "stack", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "examples:" in out.stdout and "lfd stack up kafka mlflow" in out.stdout


def test_stop_ends_children_that_left_the_process_group(tmp_path: Path) -> None:
    pid_file, log = tmp_path / "p.pid", tmp_path / "p.log"
    child_code = "import os, time; os.setsid(); print(os.getpid(), flush=True); time.sleep(60)"
    parent_code = (
        f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child_code!r}]); time.sleep(60)"
    )
    process.spawn("parent", [sys.executable, "-c", parent_code], pid_file=pid_file, log_file=log)
    process.wait_until(lambda: log.read_text().strip().splitlines()[-1].isdigit(), what="child", timeout=10)
    child = int(log.read_text().strip().splitlines()[-1])
    assert process.is_alive(child)
    assert process.stop(pid_file, timeout=5)
    assert not process.is_alive(child), "a child in its own session survived stop()"


def test_down_without_names_also_stops_app_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LFD_STATE", str(tmp_path))
    settings = load_settings()
    pid_file = settings.pids / "scoring.pid"
    pid = process.spawn(
        "scoring",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        pid_file=pid_file,
        log_file=settings.logs / "scoring.log",
    )
    assert "scoring" in manager.down(settings)
    assert not process.is_alive(pid)
