"""What the real node leaves on the host, and how to take it away: decisions pure, commands thin.

kube-proxy's ``--cleanup`` removes its own rules but not kubelet's (``KUBE-FIREWALL``, ``KUBE-KUBELET-CANARY``)
nor the CNI portmap chains, so the rules are read back with ``iptables-save`` and every jump to, and every
chain named, ``KUBE-*`` or ``CNI-*`` is deleted. Nothing else on the machine creates such chains: this
stack's node is the only one allowed to run here.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import shlex
import subprocess
from collections.abc import Iterable
from pathlib import Path

OUR_CHAIN_PREFIXES = ("KUBE-", "CNI-")
#: Kernel settings kubelet changes at start (``protectKernelDefaults: false``); restored at down.
KUBELET_SYSCTLS = (
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    # kube-proxy is told to leave these alone; saved anyway, so a config mistake cannot outlive the node
    "net/netfilter/nf_conntrack_tcp_timeout_established",
    "net/netfilter/nf_conntrack_tcp_timeout_close_wait",
)


def _ours(chain: str) -> bool:
    return chain.startswith(OUR_CHAIN_PREFIXES)


def iptables_cleanup(save_output: str) -> list[list[str]]:
    """``iptables-save`` text → iptables argv lists (without the binary) that remove our rules and chains:
    first the rules in built-in chains that jump to ours, then flush and delete our chains."""
    table = ""
    jumps: list[list[str]] = []
    chains: list[tuple[str, str]] = []
    for line in save_output.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":"):
            name = line[1:].split()[0]
            if _ours(name):
                chains.append((table, name))
        elif line.startswith("-A "):
            words = shlex.split(line)
            chain = words[1]
            target = words[words.index("-j") + 1] if "-j" in words else ""
            if not _ours(chain) and _ours(target):
                jumps.append(["-t", table, "-D", *words[1:]])
    flushes = [["-t", t, "-F", c] for t, c in chains]
    deletes = [["-t", t, "-X", c] for t, c in chains]
    return jumps + flushes + deletes


def our_netns(netns_addresses: dict[str, list[str]], pod_cidr: str, sandboxes: Iterable[str] = ()) -> list[str]:
    """Network namespaces (name → IPv4 addresses) that hold a pod address of our bridge's range, and those our
    containerd named for its sandboxes (``sandboxes``): a CNI DEL cut short by the stop leaves a namespace with
    only ``lo``, which no address gives away."""
    network = ipaddress.ip_network(pod_cidr)
    named = set(sandboxes)
    return sorted(
        name
        for name, addresses in netns_addresses.items()
        if name in named or any(ipaddress.ip_address(a) in network for a in addresses)
    )


def sandbox_netns(container_info: str) -> str | None:
    """The named network namespace in a container's ``ctr containers info`` (its OCI spec), if it has one:
    a pod sandbox joins ``/var/run/netns/cni-…``; the pod's other containers join the sandbox's by path."""
    try:
        namespaces = json.loads(container_info)["Spec"]["linux"]["namespaces"]
    except (ValueError, KeyError, TypeError):
        return None
    for namespace in namespaces:
        path = str(namespace.get("path") or "")
        if namespace.get("type") == "network" and path.startswith(("/var/run/netns/", "/run/netns/")):
            return path.rsplit("/", 1)[1]
    return None


# --- acting ------------------------------------------------------------------------------------


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def remove_iptables_rules() -> list[str]:
    """Delete our jumps and chains in the IPv4 tables; return the commands that failed (with stderr)."""
    failed = []
    saved = run(["iptables-save"])
    for args in iptables_cleanup(saved.stdout):
        result = run(["iptables", *args])
        if result.returncode != 0:
            failed.append(f"iptables {' '.join(args)}: {result.stderr.strip()}")
    return failed


def netns_addresses() -> dict[str, list[str]]:
    listed = run(["ip", "-json", "netns", "list"])
    names = [n["name"] for n in json.loads(listed.stdout or "[]")]
    found: dict[str, list[str]] = {}
    for name in names:
        shown = run(["ip", "-n", name, "-json", "-4", "addr", "show"])
        links = json.loads(shown.stdout or "[]")
        found[name] = [a["local"] for link in links for a in link.get("addr_info", [])]
    return found


def remove_pod_netns(pod_cidr: str, sandboxes: Iterable[str] = ()) -> list[str]:
    """Pod network namespaces containerd could not tear down (it was stopped first): deleting one removes its
    veth pair too."""
    removed = our_netns(netns_addresses(), pod_cidr, sandboxes)
    for name in removed:
        run(["ip", "netns", "delete", name])
    return removed


def remove_link(name: str) -> bool:
    return run(["ip", "link", "delete", name]).returncode == 0


def ensure_cgroups(root: str) -> None:
    """kubelet refuses a cgroupRoot that does not exist: create it in every v1 hierarchy (cpuset needs its
    cpus and mems copied from the parent before anything can join it)."""
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        if not hierarchy.is_dir() or hierarchy.is_symlink() or hierarchy.name == "unified":
            continue
        top = hierarchy / root.strip("/")
        top.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (top / name).exists() and not (top / name).read_text().strip():
                (top / name).write_text((hierarchy / name).read_text())


def remove_container_log_links(pod_logs_dir: Path) -> None:
    """kubelet links every container log into /var/log/containers (a fixed path): remove our links, and the
    directory if that leaves it empty."""
    links = Path("/var/log/containers")
    if not links.is_dir():
        return
    for link in links.iterdir():
        with contextlib.suppress(OSError):
            if link.is_symlink() and str(link.readlink()).startswith(str(pod_logs_dir)):
                link.unlink()
    with contextlib.suppress(OSError):
        links.rmdir()


def remove_cgroups(root: str) -> None:
    """rmdir the (now empty) pod cgroups under ``root`` in every v1 hierarchy, deepest first."""
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        top = hierarchy / root.strip("/")
        if not top.is_dir():
            continue
        for directory in [*sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)), top]:
            with contextlib.suppress(OSError):  # one still holding a process stays; the rest go
                directory.rmdir()


def save_sysctls(path: Path) -> None:
    if path.exists():  # keep the values from before the first start, not ones kubelet already changed
        return
    values = {}
    for key in KUBELET_SYSCTLS:
        try:
            values[key] = (Path("/proc/sys") / key).read_text().strip()
        except OSError:
            continue
    path.write_text(json.dumps(values))


def restore_sysctls(path: Path) -> None:
    if not path.exists():
        return
    for key, value in json.loads(path.read_text()).items():
        try:
            (Path("/proc/sys") / key).write_text(value)
        except OSError:
            continue
    path.unlink()
