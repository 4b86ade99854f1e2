"""A throw-away PKI for the local control plane, made with the openssl command line."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

APISERVER_SANS = (
    "IP:127.0.0.1",
    "IP:10.96.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
)


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {result.stderr}")


def _signed_cert(pki: Path, name: str, subject: str, ext: str) -> None:
    _openssl("genrsa", "-out", f"{name}.key", "2048", cwd=pki)
    _openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=pki)
    (pki / f"{name}.ext").write_text(ext)
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "3650",
        "-sha256",
        "-extfile",
        f"{name}.ext",
        "-out",
        f"{name}.crt",
        cwd=pki,
    )


def ensure_pki(pki: Path) -> None:
    """Create CA, API-server serving cert, admin client cert and service-account key pair (once)."""
    pki.mkdir(parents=True, exist_ok=True)
    if (pki / "admin.crt").exists() and (pki / "sa.pub").exists():
        return
    _openssl("genrsa", "-out", "ca.key", "2048", cwd=pki)
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/CN=lfd-local-ca",
        "-days",
        "3650",
        "-out",
        "ca.crt",
        cwd=pki,
    )
    _signed_cert(
        pki,
        "apiserver",
        "/CN=kube-apiserver",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName={','.join(APISERVER_SANS)}\n",
    )
    # system:masters is the bootstrap superuser group; every other identity goes through RBAC.
    _signed_cert(
        pki,
        "admin",
        "/O=system:masters/CN=lfd-admin",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
    )
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def kubeconfig(pki: Path, server: str) -> str:
    def b64(name: str) -> str:
        return base64.b64encode((pki / name).read_bytes()).decode()

    return f"""\
apiVersion: v1
kind: Config
clusters:
- name: lfd-local
  cluster:
    server: {server}
    certificate-authority-data: {b64("ca.crt")}
users:
- name: lfd-admin
  user:
    client-certificate-data: {b64("admin.crt")}
    client-key-data: {b64("admin.key")}
contexts:
- name: lfd-local
  context: {{cluster: lfd-local, user: lfd-admin, namespace: default}}
current-context: lfd-local
"""
