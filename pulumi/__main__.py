"""`pulumi up` entry point: everything lives in lfd_cloud (see lfd_cloud/program.py for the layers)."""

from lfd_cloud.program import run

run()
