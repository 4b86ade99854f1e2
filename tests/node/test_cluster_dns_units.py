"""The cluster DNS's decisions (``lfd_dev.cluster_dns.respond``): query bytes in, reply bytes out, a table given.

The queries are written out byte by byte here (RFC 1035 section 4), not built by the module's own client, so
the parser is checked against the wire format rather than against itself.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lfd_dev import cluster_dns as dns

pytestmark = pytest.mark.unit

TABLE = {"web.shop.svc.cluster.local": "10.96.0.7", "kubernetes.default.svc.cluster.local": "10.96.0.1"}


def wire_name(*labels: bytes) -> bytes:
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\0"


def wire_query(name: bytes, qtype: int = 1, query_id: int = 0xBEEF, flags: int = 0x0100, extra: bytes = b"") -> bytes:
    """Header (id, flags: RD, QDCOUNT 1, ARCOUNT 1 if ``extra``), the question, then ``extra``."""
    header = struct.pack("!HHHHHH", query_id, flags, 1, 0, 0, 1 if extra else 0)
    return header + name + struct.pack("!HH", qtype, 1) + extra


WEB = wire_name(b"web", b"shop", b"svc", b"cluster", b"local")


def header(reply: bytes) -> tuple[int, int, int, int, int, int]:
    fields: tuple[int, int, int, int, int, int] = struct.unpack_from("!HHHHHH", reply)
    return fields


def test_a_service_name_is_answered_with_its_cluster_ip_byte_for_byte() -> None:
    reply = dns.respond(wire_query(WEB), TABLE)
    question = WEB + b"\x00\x01\x00\x01"
    answer = b"\xc0\x0c" + b"\x00\x01\x00\x01" + b"\x00\x00\x00\x05" + b"\x00\x04" + bytes([10, 96, 0, 7])
    # id; QR, AA, RD echoed, RA clear (no recursion), NOERROR; 1 question, 1 answer; pointer to the question name
    assert reply == struct.pack("!HHHHHH", 0xBEEF, 0x8500, 1, 1, 0, 0) + question + answer


def test_names_are_matched_without_case_and_the_question_is_echoed_as_sent() -> None:
    mixed = wire_name(b"WEB", b"Shop", b"svc", b"Cluster", b"LOCAL")
    reply = dns.respond(wire_query(mixed, query_id=7), TABLE)
    assert reply is not None and reply[12 : 12 + len(mixed)] == mixed
    assert dns.parse_reply(reply) == dns.Reply(7, dns.NOERROR, True, ["10.96.0.7"])


def test_other_types_of_a_service_name_get_an_empty_noerror() -> None:
    for qtype in (28, 16, 33):  # AAAA (getaddrinfo asks it beside A), TXT, SRV
        reply = dns.respond(wire_query(WEB, qtype=qtype), TABLE)
        assert reply is not None
        assert header(reply)[1:4] == (0x8500 | dns.NOERROR, 1, 0), qtype
    any_reply = dns.respond(wire_query(WEB, qtype=255), TABLE)
    assert any_reply is not None and dns.parse_reply(any_reply).addresses == ["10.96.0.7"]


@pytest.mark.parametrize(
    "labels",
    [
        (b"db", b"shop", b"svc", b"cluster", b"local"),  # no such Service
        (b"web", b"other", b"svc", b"cluster", b"local"),  # the Service is in another namespace
        (b"web", b"shop", b"svc", b"cluster", b"local", b"shop", b"svc", b"cluster", b"local"),  # a search expansion
        (b"web", b"shop", b"cluster", b"local"),
        (b"other", b"svc", b"cluster", b"local"),  # a namespace without Services
        (b"web.shop", b"svc", b"cluster", b"local"),  # one label holding a dot is not two labels
    ],
)
def test_every_other_name_in_the_domain_does_not_exist(labels: tuple[bytes, ...]) -> None:
    reply = dns.respond(wire_query(wire_name(*labels)), TABLE)
    assert reply is not None
    assert header(reply)[1:4] == (0x8500 | dns.NXDOMAIN, 1, 0)  # authoritative, so a search list moves on


def test_the_names_above_the_services_exist_without_records() -> None:
    for labels in ((b"shop", b"svc", b"cluster", b"local"), (b"svc", b"cluster", b"local"), (b"cluster", b"local")):
        reply = dns.respond(wire_query(wire_name(*labels)), TABLE)
        assert reply is not None and header(reply)[1:4] == (0x8500 | dns.NOERROR, 1, 0), labels


@pytest.mark.parametrize(
    "labels",
    [
        (b"example", b"com"),
        (b"web", b"shop", b"svc", b"cluster", b"local", b"example", b"com"),
        (b"evilcluster", b"local"),  # a suffix of the text, not of the labels
        (b"local",),
        (),  # the root
        (b"7", b"0", b"96", b"10", b"in-addr", b"arpa"),
    ],
)
def test_names_outside_the_domain_are_refused_never_forwarded(labels: tuple[bytes, ...]) -> None:
    reply = dns.respond(wire_query(wire_name(*labels)), TABLE)
    assert reply is not None
    query_id, flags, qdcount, ancount, nscount, arcount = header(reply)
    assert (query_id, flags, qdcount, ancount, nscount, arcount) == (0xBEEF, 0x8100 | dns.REFUSED, 1, 0, 0, 0)


def test_before_the_first_list_names_in_the_domain_fail_temporarily() -> None:
    reply = dns.respond(wire_query(WEB), None)
    assert reply is not None and header(reply)[1] == 0x8100 | dns.SERVFAIL  # the resolver retries
    outside = dns.respond(wire_query(wire_name(b"example", b"com")), None)
    assert outside is not None and header(outside)[1] == 0x8100 | dns.REFUSED


def test_an_edns_option_record_does_not_change_the_answer() -> None:
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)  # root name, OPT, UDP size 1232, no options
    reply = dns.respond(wire_query(WEB, extra=opt), TABLE)
    assert reply is not None and dns.parse_reply(reply).addresses == ["10.96.0.7"]
    assert header(reply)[5] == 0  # no OPT back: a plain RFC 1035 reply, valid for an EDNS asker


def test_what_is_not_a_well_formed_query_gets_formerr_notimp_or_nothing() -> None:
    good = wire_query(WEB)
    assert dns.respond(good[:11], TABLE) is None  # not even a header
    assert dns.respond(struct.pack("!H", 0xBEEF) + struct.pack("!H", 0x8180) + good[4:], TABLE) is None  # a reply
    two_questions = good[:4] + struct.pack("!H", 2) + good[6:]
    truncated_name = good[:20]
    no_type = good[: 12 + len(WEB)]
    pointer = wire_query(b"\xc0\x0c")
    long_label = wire_query(bytes([64]) + b"a" * 64 + b"\0")
    too_long = wire_query(wire_name(*([b"a" * 63] * 4), b"cluster", b"local"))  # 4 * 64 + 15 > 255 bytes
    for packet in (two_questions, truncated_name, no_type, pointer, long_label, too_long):
        reply = dns.respond(packet, TABLE)
        assert reply is not None and header(reply) == (0xBEEF, 0x8100 | dns.FORMERR, 0, 0, 0, 0), packet
    status = dns.respond(wire_query(WEB, flags=2 << 11), TABLE)  # opcode STATUS
    assert status is not None and header(status)[:2] == (0xBEEF, 0x8000 | 2 << 11 | dns.NOTIMP)


def test_the_table_holds_the_services_with_an_ipv4_cluster_ip() -> None:
    services = [
        {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"clusterIP": "10.96.0.7"}},
        {"metadata": {"name": "db", "namespace": "shop"}, "spec": {"clusterIP": "None"}},  # headless
        {"metadata": {"name": "ext", "namespace": "shop"}, "spec": {"type": "ExternalName", "externalName": "x.y"}},
        {"metadata": {"name": "v6", "namespace": "shop"}, "spec": {"clusterIP": "fd00::7"}},
    ]
    assert dns.records(services, "cluster.local") == {"web.shop.svc.cluster.local": "10.96.0.7"}


def test_the_probe_client_round_trips_through_the_responder() -> None:
    reply = dns.respond(dns.query("Kubernetes.default.svc.cluster.local.", query_id=42), TABLE)
    assert reply is not None and dns.parse_reply(reply) == dns.Reply(42, dns.NOERROR, True, ["10.96.0.1"])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_get_a_reply_with_their_id_or_none_and_never_an_error(packet: bytes) -> None:
    reply = dns.respond(packet, TABLE)
    if reply is not None:
        assert reply[:2] == packet[:2] and reply[2] & 0x80  # the asker's id, QR set
        assert len(reply) <= 512  # fits a plain UDP reply: no truncation needed


@given(st.lists(st.binary(min_size=1, max_size=63), max_size=6), st.integers(0, 0xFFFF))
def test_a_name_with_any_label_bytes_is_refused_or_answered_from_the_table_only(
    labels: list[bytes], qtype: int
) -> None:
    reply = dns.respond(wire_query(wire_name(*labels), qtype=qtype), TABLE)
    assert reply is not None
    parsed = dns.parse_reply(reply)
    if sum(len(label) + 1 for label in labels) + 1 > 255:
        assert (parsed.rcode, parsed.addresses) == (dns.FORMERR, [])
        return
    assert set(parsed.addresses) <= set(TABLE.values())
    inside = [label.lower() for label in labels[-2:]] == [b"cluster", b"local"]
    assert (parsed.rcode == dns.REFUSED) != inside
