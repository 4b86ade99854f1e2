"""Offline dependency audit: both locked environments (``uv export`` from uv.lock) against a vendored
snapshot of the PyPA advisory database (OSV format), because pip-audit's online sources do not
answer here: PyPI's JSON API returns 404 for ``/pypi/<name>/<version>/json`` on this machine's
registry (measured: pip-audit skipped 258 of 258 packages, "Dependency not found on PyPI") and
osv.dev is not reachable.

    python -m tests.security.advisories build <advisory-database checkout>   # refresh the snapshot
    python -m tests.security.advisories audit                                 # what the test runs

``advisories.json`` keeps only advisories for packages in our locks (any version), so it stays small;
refresh it whenever the lock gains a package or the snapshot gets old (its date is in the file).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

HERE = Path(__file__).parent
SNAPSHOT = HERE / "advisories.json"
REPO = HERE.parents[1]
ENVIRONMENTS = {"main (.venv)": ["--extra", "main", "--group", "dev", "--group", "test", "--group", "cloud"],
                "streaming (.venv-streaming)": ["--extra", "streaming", "--group", "dev"]}  # fmt: skip
#: Advisories we accept, with why. Empty: nothing is waived.
WAIVERS: dict[str, str] = {}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def uv_binary() -> str:
    found = sorted(Path.home().glob(".cache/live-fraud-detector/uv-*/bin/uv"))
    return str(found[-1]) if found else "uv"


def locked_versions(args: list[str]) -> dict[str, str]:
    """``name -> version`` of one environment, from uv.lock (no network, no environment needed)."""
    command = [uv_binary(), "export", "--frozen", "--no-hashes", "--no-emit-project", *args]
    text = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", text, flags=re.MULTILINE)
    return {normalise(name): version for name, version in pins}


@dataclass(frozen=True)
class Finding:
    environment: str
    package: str
    version: str
    advisory: str
    fixed: str

    def __str__(self) -> str:
        return f"{self.environment}: {self.package} {self.version} has {self.advisory} (fixed in {self.fixed or '?'})"


def affected(version: str, advisory: dict[str, Any]) -> tuple[bool, str]:
    """Whether ``version`` is affected (listed, or inside an ECOSYSTEM range), and the fix version."""
    if version in advisory.get("versions", []):
        return True, advisory.get("fixed", "")
    try:
        v = Version(version)
    except InvalidVersion:
        return False, ""
    for events in advisory.get("ranges", []):
        introduced, fixed, last = Version("0"), None, None
        for event in events:
            if "introduced" in event:
                introduced = Version(event["introduced"])
            if "fixed" in event:
                fixed = Version(event["fixed"])
            if "last_affected" in event:
                last = Version(event["last_affected"])
        if v >= introduced and (fixed is None or v < fixed) and (last is None or v <= last):
            return True, str(fixed or "")
    return False, ""


def audit() -> tuple[list[Finding], dict[str, int], str]:
    snapshot = json.loads(SNAPSHOT.read_text())
    findings: list[Finding] = []
    counts: dict[str, int] = {}
    for environment, args in ENVIRONMENTS.items():
        versions = locked_versions(args)
        counts[environment] = len(versions)
        for package, version in sorted(versions.items()):
            for advisory in snapshot["advisories"].get(package, []):
                hit, fixed = affected(version, advisory)
                if hit and advisory["id"] not in WAIVERS:
                    findings.append(Finding(environment, package, version, advisory["id"], fixed))
    return findings, counts, snapshot["source"]


def build(database: Path) -> None:
    """Keep the advisories of every package in our locks (withdrawn ones dropped)."""
    packages = set().union(*(locked_versions(args) for args in ENVIRONMENTS.values()))
    kept: dict[str, list[dict[str, Any]]] = {}
    for directory in sorted((database / "vulns").iterdir()):
        if normalise(directory.name) not in packages:
            continue
        for file in sorted(directory.glob("*.yaml")):
            doc = yaml.safe_load(file.read_text())
            if doc.get("withdrawn"):
                continue
            for entry in doc.get("affected", []):
                ranges = [r["events"] for r in entry.get("ranges", []) if r.get("type") == "ECOSYSTEM"]
                versions = [] if ranges else entry.get("versions", [])  # the ranges cover them: keep the file small
                advisory = {"id": doc["id"], "aliases": doc.get("aliases", []), "ranges": ranges, "versions": versions}
                kept.setdefault(normalise(directory.name), []).append(advisory)
    commit = subprocess.run(["git", "-C", str(database), "log", "-1", "--format=%H %cs"],
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    source = f"pypa/advisory-database {commit or '(no git metadata)'}"
    SNAPSHOT.write_text(json.dumps({"source": source, "advisories": kept}, indent=1, sort_keys=True) + "\n")
    print(f"{sum(map(len, kept.values()))} advisories for {len(kept)} of our {len(packages)} packages -> {SNAPSHOT}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["build"]:
        build(Path(argv[1]))
        return 0
    findings, counts, source = audit()
    print(f"offline audit against {source}: " + ", ".join(f"{env} {n} packages" for env, n in counts.items()))
    for finding in findings:
        print(f"  {finding}")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
