"""Our container images, built here with buildah (vfs storage, chroot isolation) and no registry pulls.

- ``lfd-debian``: a Debian 12 base made with debootstrap (python3 3.11, venv, libgomp1, ca-certificates),
  passed to our Dockerfiles as ``BASE_IMAGE`` (their default stays the public python image).
- ``lfd-pause``: the pods' sandbox image, from ``stack/go/pause`` (containerd's ``sandbox_image``).
- ``lfd-scoring``: ``services/scoring/Dockerfile`` on the local base.
- ``lfd-operator``: ``operator/Dockerfile`` on the local base (the chart's fraud-operator Deployment).

Each image's tag is the hash of what it is built from, and its OCI archive is kept in the cache: a warm
``make test`` finds the archive and builds nothing. The archives are imported into the node's containerd
(namespace ``k8s.io``) and referenced by tag with ``imagePullPolicy: IfNotPresent``.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from lfd_dev.process import StartError
from lfd_dev.settings import REPO_ROOT, Settings

#: debootstrap --include: what both stages of our Dockerfiles need from the base.
BASE_PACKAGES = ("python3", "python3-venv", "libgomp1", "ca-certificates", "passwd")
BASE_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
#: The host's CA bundle, mounted into RUN steps: pip/uv reach the package index through whatever TLS proxy
#: this machine is configured for (passed as build ARGs, never baked into an image).
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
#: Context paths our Dockerfiles COPY (plus the Dockerfile): an image's tag is their content hash.
PRODUCT_INPUTS = ("pyproject.toml", "uv.lock", "pipelines", "services", "operator", ".dockerignore")
IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Image:
    name: str
    tag: str

    @property
    def ref(self) -> str:
        return f"localhost/{self.name}:{self.tag}"

    def archive(self, settings: Settings) -> Path:
        return settings.cache / "images" / f"{self.name}-{self.tag}.oci.tar"


# --- deciding: content hashes (pure) ------------------------------------------------------------


def files_under(root: Path, entries: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for entry in entries:
        path = root / entry
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        found.extend(p for p in candidates if not IGNORED_PARTS.intersection(p.relative_to(root).parts))
    return found


def content_hash(root: Path, files: Iterable[Path], extra: str = "") -> str:
    """Hash of relative paths and bytes (and ``extra``: build arguments), 12 hex digits."""
    digest = hashlib.sha256(extra.encode())
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def base_image() -> Image:
    key = " ".join((BASE_SUITE, *BASE_PACKAGES))
    return Image("lfd-debian", "12-" + hashlib.sha256(key.encode()).hexdigest()[:8])


def pause_image() -> Image:
    pause_dir = REPO_ROOT / "stack" / "go" / "pause"
    return Image(
        "lfd-pause",
        content_hash(REPO_ROOT, files_under(REPO_ROOT, ["stack/go/pause"])) if pause_dir.exists() else "missing",
    )


SCORING_DOCKERFILE = "services/scoring/Dockerfile"
OPERATOR_DOCKERFILE = "operator/Dockerfile"


def _product_image(name: str, dockerfile: str, base: Image | None) -> Image:
    """Both product images COPY the same context paths (the wheel's sources and its lock)."""
    base = base or base_image()
    files = [*files_under(REPO_ROOT, PRODUCT_INPUTS), REPO_ROOT / dockerfile]
    return Image(name, content_hash(REPO_ROOT, files, extra=base.ref))


def scoring_image(base: Image | None = None) -> Image:
    return _product_image("lfd-scoring", SCORING_DOCKERFILE, base)


def operator_image(base: Image | None = None) -> Image:
    return _product_image("lfd-operator", OPERATOR_DOCKERFILE, base)


BASE = base_image()
PAUSE = pause_image()


# --- acting: buildah, debootstrap, ctr ---------------------------------------------------------


def _say(message: str) -> None:
    print(f"[images] {message}", file=sys.stderr, flush=True)


def buildah(settings: Settings, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    store = settings.cache / "buildah"
    argv = ["buildah", f"--root={store / 'root'}", f"--runroot={store / 'run'}", "--storage-driver=vfs", *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise StartError(f"buildah {' '.join(args[:2])} failed ({result.returncode}): {result.stderr[-3000:]}")
    return result


def _push_archive(settings: Settings, image: Image) -> None:
    archive = image.archive(settings)
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    buildah(settings, "push", "--quiet", image.ref, f"oci-archive:{partial}:{image.ref}")
    partial.rename(archive)
    # The archive is the cache: a copy in buildah's vfs store (~1 GB per scoring build, one per source
    # change) would only fill the disk. The base stays there: the Dockerfiles build FROM it.
    buildah(settings, "rmi", image.ref)


def _present(settings: Settings, image: Image) -> bool:
    listed = subprocess.run(
        ["buildah", f"--root={settings.cache / 'buildah' / 'root'}", f"--runroot={settings.cache / 'buildah' / 'run'}",
         "--storage-driver=vfs", "images", "--quiet", image.ref],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return listed.returncode == 0 and bool(listed.stdout.strip())


def build_base(settings: Settings) -> Image:
    """debootstrap a minimal Debian 12 with our packages into a buildah image (cached by package list)."""
    if _present(settings, BASE):
        return BASE
    _say(f"debootstrap {BASE_SUITE} + {', '.join(BASE_PACKAGES)} (a cold run takes a few minutes)")
    with tempfile.TemporaryDirectory(prefix="lfd-rootfs-", dir=settings.cache) as tmp:
        rootfs = Path(tmp) / "rootfs"
        argv = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            BASE_SUITE,
            str(rootfs),
            DEBIAN_MIRROR,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, check=False)
        if done.returncode != 0:
            raise StartError(f"debootstrap failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        shutil.rmtree(rootfs / "var" / "lib" / "apt" / "lists", ignore_errors=True)
        container = buildah(settings, "from", "scratch").stdout.strip()
        try:
            mount = Path(buildah(settings, "mount", container).stdout.strip())
            subprocess.run(["cp", "-a", f"{rootfs}/.", str(mount)], check=True, timeout=600)
            buildah(settings, "umount", container)
            buildah(settings, "config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "--env", "LANG=C.UTF-8", "--cmd", "/bin/bash", container)  # fmt: skip
            buildah(settings, "commit", "--quiet", container, BASE.ref)
        finally:
            subprocess.run(["buildah", f"--root={settings.cache / 'buildah' / 'root'}",
                            f"--runroot={settings.cache / 'buildah' / 'run'}", "--storage-driver=vfs", "rm", container],
                           capture_output=True, check=False)  # fmt: skip
    return BASE


def build_pause(settings: Settings) -> Image:
    if PAUSE.archive(settings).exists():
        return PAUSE
    binary = settings.tool("pause")
    if not binary.exists():
        raise StartError(f"pause not found at {binary}: run `make setup` (stack/install.sh go builds it)")
    _say(f"building {PAUSE.ref}")
    container = buildah(settings, "from", "scratch").stdout.strip()
    buildah(settings, "copy", container, str(binary), "/pause")
    buildah(settings, "config", "--entrypoint", '["/pause"]', "--user", "65535:65535", container)
    buildah(settings, "commit", "--quiet", "--rm", container, PAUSE.ref)
    _push_archive(settings, PAUSE)
    return PAUSE


def build_dockerfile(settings: Settings, image: Image, dockerfile: str, base: Image) -> Image:
    """``buildah bud`` of one of our Dockerfiles on the local base; skipped when its archive is cached."""
    if image.archive(settings).exists():
        return image
    _say(f"building {image.ref} from {dockerfile} on {base.ref} (a cold build takes minutes)")
    ca = f"{HOST_CA_BUNDLE}:/run/lfd-host-ca.crt:ro"
    buildah(settings, "bud", "--isolation=chroot", "--layers=false", f"--volume={ca}",
            "--build-arg=PIP_CERT=/run/lfd-host-ca.crt", "--build-arg=SSL_CERT_FILE=/run/lfd-host-ca.crt",
            f"--build-arg=BASE_IMAGE={base.ref}", "-f", dockerfile, "-t", image.ref, str(REPO_ROOT))  # fmt: skip
    _push_archive(settings, image)
    return image


def build_all(settings: Settings) -> list[Image]:
    base = build_base(settings)
    return [
        build_pause(settings),
        build_dockerfile(settings, scoring_image(base), SCORING_DOCKERFILE, base),
        build_dockerfile(settings, operator_image(base), OPERATOR_DOCKERFILE, base),
    ]


def import_image(settings: Settings, image: Image, ctr: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """Import the cached archive into containerd's ``k8s.io`` namespace unless it is already there."""
    if image.ref in ctr("images", "ls", "--quiet").stdout.split():
        return
    archive = image.archive(settings)
    if not archive.exists():
        raise StartError(f"{image.ref}: no archive at {archive}: run `make setup` (lfd images build)")
    result = ctr("images", "import", str(archive))
    if result.returncode != 0:
        raise StartError(f"ctr images import {archive} failed: {result.stderr[-2000:]}")
