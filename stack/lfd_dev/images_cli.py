"""`lfd images`: build our container images with buildah (no registry) for the local node."""

from __future__ import annotations

import argparse
from typing import Any

DESCRIPTION = """\
Build the images the local node runs, from our Dockerfiles, with buildah (vfs storage) on a Debian 12
base made here with debootstrap: nothing is pulled from a registry. Each image is tagged with the hash
of what it is built from and kept as an OCI archive in $LFD_CACHE/images, so a second run builds nothing.
`lfd stack up node` imports them into the node's containerd (namespace k8s.io).
"""

EPILOG = """\
examples:
  lfd images build        base (debootstrap), pause, scoring, operator; cold: ~10-20 min on 2 cores, warm: seconds
  lfd images list         the tags the current source tree maps to, and whether each is built
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "images",
        help="build our container images with buildah for the local node (no registry)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("build", help="build what is missing (cached by content hash)").set_defaults(handler=_build)
    actions.add_parser("list", help="tags for the current tree and whether built").set_defaults(handler=_list)


def _build(args: argparse.Namespace) -> int:
    from lfd_dev import images
    from lfd_dev.settings import load_settings

    for image in images.build_all(load_settings()):
        print(f"{image.ref}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from lfd_dev import images
    from lfd_dev.settings import load_settings

    settings = load_settings()
    for image in (images.BASE, images.PAUSE, images.scoring_image(), images.operator_image()):
        built = "built" if image.archive(settings).exists() or image is images.BASE else "missing"
        print(f"{image.ref:60} {built}")
    return 0
