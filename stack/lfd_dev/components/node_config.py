"""Configuration files of the real node (containerd, CNI, kubelet, kube-proxy): pure renderers, no I/O.

Everything host-global is named so it is clearly ours (bridge ``lfd0``, chains created by kubelet and
kube-proxy are the standard ``KUBE-*``) and lives under the stack's state directory otherwise, so
``lfd stack down`` can return the machine to how it was found (see ``node_cleanup``).

Why each unusual setting:
- containerd ``restrict_oom_score_adj``: this machine lacks CAP_SYS_RESOURCE, so the negative
  oom_score_adj containerd gives sandboxes is refused and every pod fails with "runc create failed: can't
  get final child's PID from pipe: EOF".
- containerd ``sandbox_image``: our locally built pause image; nothing is pulled.
- kubelet ``failCgroupV1: false``: only cgroup v1 is mounted here, which 1.35 refuses by default;
  ``cgroupRoot: /lfd`` keeps every pod cgroup under one directory that down removes.
- CNI: a host-only bridge: no masquerade, and pods get routes only to the pod /24 and the Service range
  (no default route), so they reach the host and each other and nothing else.
- kubelet ``clusterDNS``: the gateway, where ``lfd_dev.cluster_dns`` answers the Services' names (no CoreDNS:
  building it is too heavy for the set-up) and refuses every other name; it forwards nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

BRIDGE = "lfd0"
NODE_NAME = "lfd-node"
POD_CIDR = "10.233.0.0/24"
GATEWAY = "10.233.0.1"
CLUSTER_DOMAIN = "cluster.local"
#: The pods' nameserver (kubelet's ``clusterDNS``): the ``cluster-dns`` component listens on the gateway.
CLUSTER_DNS = GATEWAY
DNS_PORT = 53
#: The real node's taint: only pods that tolerate it (the real-container tests and journeys) land on it,
#: so the kwok-simulated pods of the other tests never try to run a fake image here.
TAINT_KEY = "lfd.dev/real-node"
NODE_LABEL = "lfd.dev/node"


@dataclass(frozen=True)
class NodePaths:
    """Every file and directory of the node under the stack's state directory."""

    root: Path

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd" / "config.toml"

    @property
    def containerd_socket(self) -> Path:
        return self.root / "containerd" / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def kubelet_dir(self) -> Path:
        return self.root / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet-config.yaml"

    @property
    def kube_proxy_config(self) -> Path:
        return self.root / "kube-proxy-config.yaml"

    @property
    def resolv_conf(self) -> Path:
        return self.root / "resolv.conf"

    @property
    def sysctl_backup(self) -> Path:
        return self.root / "sysctl-before.json"


def containerd_toml(paths: NodePaths, sandbox_image: str, cni_bin_dir: str) -> str:
    root = paths.root / "containerd"
    return f"""\
version = 2
root = "{root / "root"}"
state = "{root / "state"}"
[grpc]
  address = "{paths.containerd_socket}"
[ttrpc]
  address = "{paths.containerd_socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin_dir}"
    conf_dir = "{paths.cni_conf_dir}"
    max_conf_num = 1
"""


def cni_conflist(paths: NodePaths, service_cidr: str) -> str:
    bridge = {
        "type": "bridge",
        "bridge": BRIDGE,
        "isGateway": True,  # the host holds the gateway address: pods reach host services on it
        "isDefaultGateway": False,
        "ipMasq": False,
        "hairpinMode": True,  # a pod reaching itself through a Service
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": POD_CIDR, "gateway": GATEWAY}]],
            "routes": [{"dst": service_cidr}],
            "dataDir": str(paths.cni_ipam_dir),
        },
    }
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": "lfd-pods",
            "plugins": [bridge, {"type": "portmap", "capabilities": {"portMappings": True}}],
        },
        indent=2,
    )


def kubelet_yaml(paths: NodePaths, ca_file: Path, port: int, healthz_port: int) -> str:
    """KubeletConfiguration (JSON is YAML). Authentication by client certificate of our CA only."""
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": "/lfd",
        "failSwapOn": False,
        "address": GATEWAY,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(ca_file)},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "containerRuntimeEndpoint": f"unix://{paths.containerd_socket}",
        "podLogsDir": str(paths.root / "pod-logs"),
        "resolvConf": str(paths.resolv_conf),
        "clusterDomain": CLUSTER_DOMAIN,
        # kubelet writes the pods' resolv.conf from these: nameserver, search <ns>.svc.<domain> ..., ndots:5
        "clusterDNS": [CLUSTER_DNS],
        "protectKernelDefaults": False,
        "makeIPTablesUtilChains": True,
        "serializeImagePulls": False,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "maxPods": 30,
        "syncFrequency": "10s",
        "nodeStatusReportFrequency": "10s",
        "localStorageCapacityIsolation": True,
    }
    return json.dumps(config, indent=2)


def kube_proxy_yaml(kubeconfig: Path, healthz_port: int, metrics_port: int) -> str:
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "clusterCIDR": POD_CIDR,
        "bindAddress": GATEWAY,
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "nodePortAddresses": [f"{GATEWAY}/32"],
        # No global sysctl changes: no conntrack table resize, no route_localnet for localhost NodePorts.
        # (0 = leave the kernel's value; the defaults would set nf_conntrack_tcp_timeout_* machine-wide).
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False, "syncPeriod": "5s", "minSyncPeriod": "0s"},
    }
    return json.dumps(config, indent=2)


def kubelet_argv(kubelet: Path, paths: NodePaths, kubeconfig: Path) -> list[str]:
    return [
        str(kubelet),
        f"--config={paths.kubelet_config}",
        f"--kubeconfig={kubeconfig}",
        f"--root-dir={paths.kubelet_dir}",
        f"--cert-dir={paths.kubelet_dir / 'pki'}",
        f"--hostname-override={NODE_NAME}",
        f"--node-ip={GATEWAY}",
        f"--node-labels={NODE_LABEL}=real",
        f"--register-with-taints={TAINT_KEY}=true:NoSchedule",
        "--v=1",
    ]
