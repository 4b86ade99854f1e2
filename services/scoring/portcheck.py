"""The service's own port check and the exit status that reports a taken port.

Owned by the service (not the dev stack) because ``lfd serve`` / ``python -m scoring`` checks its ports
before BentoML starts; harnesses that start the service import ``PORT_IN_USE_EXIT`` from here to retry.
"""

from __future__ import annotations

import socket

#: Exit status of the service when a port it should listen on is taken, so the process that started it
#: may retry on other ports. 75 is EX_TEMPFAIL.
PORT_IN_USE_EXIT = 75


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if a listener could bind ``host:port`` now (SO_REUSEADDR, like the servers we start)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
