"""The OIP v2 REST wire format (lfd.oip): the stream builds requests and reads answers with it, the service
reads requests and builds answers with it. Round trips go through both real halves (the stream's client
functions, the service's request parser and hot route builder); the last tests change the module and show
both halves following it, which a hand-written copy on either side would not.
"""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from lfd import oip
from lfd.contract import N_FEATURES
from lfd.streaming.client import ScoringUnavailable
from lfd.streaming.oip_client import decode_response
from scoring.errors import InvalidInput, UnprocessableInput
from scoring.oip import rest
from scoring.oip import tensors as T

pytestmark = pytest.mark.unit

MATRIX = np.linspace(0.0, 1.0, 3 * N_FEATURES).reshape(3, N_FEATURES)


def service_reads(body: bytes, headers: dict[str, str]) -> tuple[np.ndarray, dict[str, object]]:
    """What the service's hot route does with a request: parse, then validate into the feature matrix."""
    tensors, _, parameters = rest.parse_infer_request_with_parameters(body, headers.get(oip.HEADER_LENGTH), 10**6)
    matrix, _ = T.features_and_ids(tensors, max_batch=100)
    return matrix, parameters


def service_answers(colour: str = "blue") -> bytes:
    """What the service's hot route sends back for MATRIX (rest.infer_response is the shared builder)."""
    proba, decision = np.array([0.1, 0.9, 0.2], dtype=np.float32), np.array([0, 1, 0], dtype=np.int32)
    reasons: list[list[object]] = [[], [{"feature": "V14", "value": -9.0}], []]
    doc = rest.infer_response("fraud-detector", "3", "r1", proba, decision, None, reasons=reasons, colour=colour)
    return orjson.dumps(doc)


def test_a_request_the_stream_builds_is_what_the_service_reads() -> None:
    body, headers = oip.build_binary_request(MATRIX, fraud_reasons=True)
    matrix, parameters = service_reads(body, headers)
    assert np.allclose(matrix, MATRIX.astype(np.float32))
    assert T.wants_fraud_reasons(parameters.get(oip.REASONS_PARAMETER)) is True
    assert headers["Content-Type"] == oip.BINARY_CONTENT_TYPE
    plain, headers = oip.build_binary_request(MATRIX, fraud_reasons=False)
    assert oip.REASONS_PARAMETER not in service_reads(plain, headers)[1]


def test_an_answer_the_service_builds_is_what_the_stream_reads() -> None:
    scored = decode_response(service_answers(), 3, 1.5)
    assert (scored.decision, scored.colour, scored.model_name, scored.model_version) == (
        [0, 1, 0],
        "blue",
        "fraud-detector",
        "3",
    )
    assert orjson.loads(scored.reasons[1]) == [{"feature": "V14", "value": -9.0}]  # type: ignore[index]
    assert decode_response(service_answers(colour=""), 3, 1.5).colour == ""


@pytest.mark.parametrize(
    ("body", "length", "field"),
    [
        (b"{}xx", "x", oip.HEADER_LENGTH),
        (b"{}", "9", oip.HEADER_LENGTH),
        (b"[1,", None, "body"),
        (b"[1]", None, "body"),
    ],
)
def test_a_badly_framed_request_names_the_field(body: bytes, length: str | None, field: str) -> None:
    with pytest.raises(oip.OipFormatError) as raised:
        oip.split_binary_request(body, length)
    assert raised.value.field == field
    with pytest.raises(UnprocessableInput) as refused:  # the service answers 422 naming the same field
        rest.parse_infer_request(body, length, 10**6)
    assert refused.value.field == field


def test_an_answer_that_does_not_fit_the_request_is_unavailability() -> None:
    with pytest.raises(ScoringUnavailable, match="one value per row sent"):
        decode_response(service_answers(), 2, 1.0)
    with pytest.raises(ScoringUnavailable, match="outputs"):
        decode_response(orjson.dumps({"model_name": "m", "outputs": [{"name": "p", "data": [1]}]}), 1, 1.0)


def test_renaming_an_output_in_the_wire_format_moves_both_halves(monkeypatch: pytest.MonkeyPatch) -> None:
    old_shape = service_answers()
    monkeypatch.setattr(oip, "PROBABILITY_OUTPUT", "p_fraud")
    # the stream refuses an answer in the old shape...
    with pytest.raises(ScoringUnavailable, match="p_fraud"):
        decode_response(old_shape, 3, 1.0)
    # ...and the service now builds the new one, which the stream reads
    assert orjson.loads(service_answers())["outputs"][0]["name"] == "p_fraud"
    assert decode_response(service_answers(), 3, 1.0).decision == [0, 1, 0]


def test_renaming_the_binary_size_parameter_moves_both_halves(monkeypatch: pytest.MonkeyPatch) -> None:
    old_body, old_headers = oip.build_binary_request(MATRIX, fraud_reasons=False)
    monkeypatch.setattr(oip, "BINARY_DATA_SIZE", "raw_bytes")
    # the service no longer finds the tensor's bytes where the old shape put them...
    with pytest.raises(InvalidInput, match="binary"):
        service_reads(old_body, old_headers)
    # ...and reads what the stream builds now
    body, headers = oip.build_binary_request(MATRIX, fraud_reasons=False)
    assert np.allclose(service_reads(body, headers)[0], MATRIX.astype(np.float32))
