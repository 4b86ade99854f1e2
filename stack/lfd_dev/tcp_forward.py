"""A plain TCP forwarder: ``python -m lfd_dev.tcp_forward LISTEN_HOST:PORT TARGET_HOST:PORT [LISTEN TARGET ...]``.

The real node's pods reach the API server through it (``components/node_api.py``): kube-apiserver listens on
loopback only, and kubelet's ``KUBE-FIREWALL`` drops pod packets to 127.0.0.0/8, so this listens on the bridge's
gateway address and connects to loopback from the host. Bytes pass through untouched (TLS end to end).
"""

from __future__ import annotations

import asyncio
import sys


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def serve_all(pairs: list[tuple[tuple[str, int], tuple[str, int]]]) -> None:
    await asyncio.gather(*(serve(listen, target) for listen, target in pairs))


async def serve(listen: tuple[str, int], target: tuple[str, int]) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))

    server = await asyncio.start_server(handle, *listen)
    print(f"forwarding {listen[0]}:{listen[1]} -> {target[0]}:{target[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    if not argv or len(argv) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    addresses = [parse_address(a) for a in argv]
    asyncio.run(serve_all(list(zip(addresses[::2], addresses[1::2], strict=True))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
