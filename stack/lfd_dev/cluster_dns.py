"""Cluster DNS for the real node's pods: ``python -m lfd_dev.cluster_dns --help``.

In a cluster CoreDNS answers ``<service>.<namespace>.svc.cluster.local``. Here this small authoritative-only
responder does that part for the one real node: kubelet's ``clusterDNS`` points pods at the bridge's gateway
(``components/node_config.py``), and every 2 s this process lists the Services and answers from that table:

- ``A`` for ``<svc>.<ns>.svc.<domain>``: the Service's ClusterIP (headless and ExternalName Services have none:
  they are not answered); other types for such a name, ``AAAA`` included: NOERROR with no answer.
- the names above those (``<ns>.svc.<domain>``, ``svc.<domain>``, ``<domain>``): NOERROR with no answer
  (they exist, as in CoreDNS); every other name in the domain: NXDOMAIN, so a pod's search list moves on.
- every name outside the domain: REFUSED. **Nothing is ever forwarded**: the pods have no upstream resolver,
  as they have no route out of the machine.

The search-list forms (``<svc>``, ``<svc>.<ns>``, ``<svc>.<ns>.svc``) need nothing here: kubelet writes
``search <ns>.svc.<domain> svc.<domain> <domain>`` and ``ndots:5`` into the pods' resolv.conf, so the resolver
in the pod sends the full names. ``respond`` is the whole decision (bytes in, bytes out, a table given); the
sockets (UDP and TCP) are a thin adapter around it.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import socket
import struct
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from lfd_dev.api_get import ApiClient, ApiError

#: Seconds a resolver may cache an answer (CoreDNS's kubernetes plugin default); the table refreshes every 2 s.
TTL = 5
TYPE_A, TYPE_AAAA, TYPE_ANY = 1, 28, 255
CLASS_IN, CLASS_ANY = 1, 255
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
_QR, _AA, _RD = 0x8000, 0x0400, 0x0100
_HEADER = struct.Struct("!HHHHHH")


class FormatError(ValueError):
    """The packet is not a well-formed DNS query."""


@dataclass(frozen=True)
class Question:
    #: The lower-case dotted name, or None when a label holds a byte no Service name can (a dot, non-ASCII).
    name: str | None
    #: The labels as sent, lower-cased (to place the name in or out of the domain whatever its bytes).
    labels: tuple[bytes, ...]
    qtype: int
    qclass: int
    #: Where the question section ends (the answer echoes it verbatim, case included).
    end: int


def records(services: Sequence[Mapping[str, Any]], domain: str) -> dict[str, str]:
    """Pure: ``{"<svc>.<ns>.svc.<domain>": ClusterIP}`` for the Services that have an IPv4 ClusterIP."""
    table = {}
    for service in services:
        meta, spec = service.get("metadata", {}), service.get("spec", {})
        ip = spec.get("clusterIP") or ""
        try:
            if ipaddress.ip_address(ip).version != 4:
                continue
        except ValueError:  # "None" (headless), "" (ExternalName)
            continue
        table[f"{meta['name']}.{meta['namespace']}.svc.{domain}".lower()] = ip
    return table


def parse_question(packet: bytes) -> Question:
    """The single question after the 12-byte header (the caller checked QDCOUNT)."""
    labels: list[bytes] = []
    offset, length = _HEADER.size, 0
    while True:
        if offset >= len(packet):
            raise FormatError("name runs past the packet")
        size = packet[offset]
        offset += 1
        if size == 0:
            break
        if size & 0xC0:
            raise FormatError("compressed or extended label in a question")  # nothing precedes it to point to
        label = packet[offset : offset + size]
        if len(label) != size:
            raise FormatError("label runs past the packet")
        length += size + 1
        if length + 1 > 255:  # with the root's zero byte
            raise FormatError("name longer than 255 bytes")
        labels.append(label.lower())
        offset += size
    if offset + 4 > len(packet):
        raise FormatError("question has no type and class")
    qtype, qclass = struct.unpack_from("!HH", packet, offset)
    clean = all(label.isascii() and b"." not in label for label in labels)
    name = ".".join(label.decode("ascii") for label in labels) if clean else None
    return Question(name, tuple(labels), qtype, qclass, offset + 4)


def _in_domain(labels: tuple[bytes, ...], domain: str) -> bool:
    suffix = tuple(label.encode("ascii") for label in domain.lower().split("."))
    return labels[-len(suffix) :] == suffix


def _existing_parents(table: Mapping[str, str], domain: str) -> set[str]:
    """``<ns>.svc.<domain>``, ``svc.<domain>`` and ``<domain>``: names with records below them."""
    parents = {domain.lower(), f"svc.{domain}".lower()}
    parents.update(name.split(".", 1)[1] for name in table)
    return parents


def _reply(query_id: int, flags: int, rcode: int, question: bytes, answers: bytes, count: int) -> bytes:
    header = _HEADER.pack(query_id, flags | rcode, 1 if question else 0, count, 0, 0)
    return header + question + answers


def respond(packet: bytes, table: Mapping[str, str] | None, domain: str = "cluster.local") -> bytes | None:
    """Pure: the reply to one DNS message, or None when it gets none (not a query, or too short to answer).

    ``table`` maps lower-case full names to IPv4 addresses; None means it was never loaded (the API server has
    not answered yet): SERVFAIL for names in the domain, so a pod's resolver retries."""
    if len(packet) < _HEADER.size:
        return None
    query_id, flags, qdcount = _HEADER.unpack_from(packet)[:3]
    if flags & _QR:
        return None  # a response: never answer one (no loops)
    opcode = (flags >> 11) & 0xF
    base = _QR | (flags & 0x7800) | (flags & _RD)  # opcode and RD echoed; RA stays 0: we never recurse
    if opcode != 0:
        return _reply(query_id, base, NOTIMP, b"", b"", 0)
    if qdcount != 1:
        return _reply(query_id, base, FORMERR, b"", b"", 0)
    try:
        question = parse_question(packet)
    except FormatError:
        return _reply(query_id, base, FORMERR, b"", b"", 0)
    echoed = packet[_HEADER.size : question.end]
    if not _in_domain(question.labels, domain):
        return _reply(query_id, base, REFUSED, echoed, b"", 0)
    if table is None:
        return _reply(query_id, base, SERVFAIL, echoed, b"", 0)
    authoritative = base | _AA
    address = table.get(question.name) if question.name is not None else None
    if address is None:
        exists = question.name is not None and question.name in _existing_parents(table, domain)
        return _reply(query_id, authoritative, NOERROR if exists else NXDOMAIN, echoed, b"", 0)
    if question.qtype not in (TYPE_A, TYPE_ANY) or question.qclass not in (CLASS_IN, CLASS_ANY):
        return _reply(query_id, authoritative, NOERROR, echoed, b"", 0)  # the name exists, not this type
    # The answer's name is a pointer to the question's (offset 12), then type A, class IN, TTL, 4 bytes.
    answer = struct.pack("!HHHIH", 0xC000 | _HEADER.size, TYPE_A, CLASS_IN, TTL, 4) + socket.inet_aton(address)
    return _reply(query_id, authoritative, NOERROR, echoed, answer, 1)


# --- a client, for the component's readiness probe and the tests --------------------------------------------


def query(name: str, qtype: int = TYPE_A, query_id: int = 0x1D5) -> bytes:
    """A standard query (RD set, as a stub resolver sends) for ``name``."""
    encoded = b"".join(bytes([len(label)]) + label.encode("ascii") for label in name.rstrip(".").split("."))
    return _HEADER.pack(query_id, _RD, 1, 0, 0, 0) + encoded + b"\0" + struct.pack("!HH", qtype, CLASS_IN)


@dataclass(frozen=True)
class Reply:
    query_id: int
    rcode: int
    authoritative: bool
    #: The addresses of the A records in the answer section.
    addresses: list[str]


def parse_reply(packet: bytes) -> Reply:
    """The parts of a reply the probe and the tests look at (A answers; names compressed or not)."""
    query_id, flags, qdcount, ancount = _HEADER.unpack_from(packet)[:4]
    offset = _HEADER.size
    for _ in range(qdcount):
        offset = _skip_name(packet, offset) + 4
    addresses = []
    for _ in range(ancount):
        offset = _skip_name(packet, offset)
        rtype, _rclass, _ttl, size = struct.unpack_from("!HHIH", packet, offset)
        offset += 10
        if rtype == TYPE_A and size == 4:
            addresses.append(socket.inet_ntoa(packet[offset : offset + 4]))
        offset += size
    return Reply(query_id, flags & 0xF, bool(flags & _AA), addresses)


def _skip_name(packet: bytes, offset: int) -> int:
    while True:
        size = packet[offset]
        if size & 0xC0 == 0xC0:
            return offset + 2
        if size == 0:
            return offset + 1
        offset += size + 1


def ask(server: tuple[str, int], name: str, qtype: int = TYPE_A, timeout: float = 1.0, tcp: bool = False) -> Reply:
    """Send one query to ``server`` (only ever our own address: the caller's choice) and parse the reply."""
    message = query(name, qtype)
    if tcp:
        with socket.create_connection(server, timeout=timeout) as conn:
            conn.sendall(struct.pack("!H", len(message)) + message)
            size = struct.unpack("!H", _read_exactly(conn, 2))[0]
            return parse_reply(_read_exactly(conn, size))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect(server)  # only the server's datagrams come back
        sock.send(message)
        return parse_reply(sock.recv(4096))


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection mid-reply")
        data += chunk
    return data


# --- the server: the table refreshed from the API server, UDP and TCP around `respond` ------------------------


def list_services(api: ApiClient) -> list[dict[str, Any]] | None:
    """Every Service (None if the API server did not answer: keep the last table)."""
    try:
        # resourceVersion=0: served from the API server's watch cache, not a quorum read of etcd.
        items: list[dict[str, Any]] = api.get_json("/api/v1/services?resourceVersion=0")["items"]
    except (ApiError, KeyError, TypeError) as error:
        _log(f"listing the Services failed: {error}")
        return None  # a slow or odd answer never stops the replies
    return items


class Zone:
    """The current table; replaced whole by the refresh task, read by every reply."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.table: dict[str, str] | None = None

    def answer(self, packet: bytes) -> bytes | None:
        return respond(packet, self.table, self.domain)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # a datagram endpoint's (not a subclass)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        reply = self.zone.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)  # back to the asker only


async def _tcp(zone: Zone, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """RFC 7766 framing: a 2-byte length before each message; several queries per connection."""
    try:
        while True:
            size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), timeout=10))[0]
            reply = zone.answer(await asyncio.wait_for(reader.readexactly(size), timeout=10))
            if reply is None:
                break
            writer.write(struct.pack("!H", len(reply)) + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(listen: tuple[str, int], zone: Zone, api: ApiClient, interval: float) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: _Udp(zone), local_addr=listen)
    server = await asyncio.start_server(lambda r, w: _tcp(zone, r, w), *listen)
    _log(f"answering {zone.domain} on {listen[0]}:{listen[1]} (UDP, TCP); forwarding nothing")
    async with server:
        while True:
            began = time.monotonic()
            services = await asyncio.to_thread(list_services, api)
            took = time.monotonic() - began
            if took > 5:
                _log(f"listing the Services took {took:.1f} s")
            if services is not None:
                table = records(services, zone.domain)
                if table != zone.table:
                    _log(f"{len(table)} Service name(s): {sorted(table)}")
                    zone.table = table
            await asyncio.sleep(interval)


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lfd_dev.cluster_dns", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--listen", required=True, help="HOST:PORT for UDP and TCP (the bridge's gateway, 53)")
    parser.add_argument("--kubeconfig", required=True, type=Path, help="kubeconfig of the local API server")
    parser.add_argument("--domain", default="cluster.local", help="the cluster domain (kubelet's clusterDomain)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between lists (default 2)")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    asyncio.run(serve((host, int(port)), Zone(args.domain.lower()), ApiClient(args.kubeconfig), args.interval))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
