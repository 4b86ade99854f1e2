"""OIP v2 REST bodies → tensors (pure): the service's reading of an infer request.

The wire format itself (the binary-data extension's framing, names, the JSON response) is ``lfd.oip``, shared
with the stream that sends these requests; here its header's inputs become validated tensors. Responses are
always JSON (clients must accept JSON outputs; tritonclient does even when it asked for binary).
"""

from __future__ import annotations

from typing import Any

from lfd import oip

from ..errors import InvalidInput, UnprocessableInput
from . import tensors as T


def parse_infer_request(body: bytes, header_length: str | None, max_elements: int) -> tuple[list[T.Tensor], str]:
    """Decode the body of ``POST /v2/models/{name}/infer`` into tensors and the request id; a tensor
    declaring more than ``max_elements`` elements is refused (``TooLarge``) before it is decoded."""
    tensors, request_id, _ = parse_infer_request_with_parameters(body, header_length, max_elements)
    return tensors, request_id


def parse_infer_request_with_parameters(
    body: bytes, header_length: str | None, max_elements: int
) -> tuple[list[T.Tensor], str, dict[str, Any]]:
    """Like :func:`parse_infer_request`, plus the request's ``parameters`` (see ``T.REASONS_PARAMETER``)."""
    try:
        doc, binary = oip.split_binary_request(body, header_length)
    except oip.OipFormatError as e:
        raise UnprocessableInput(e.field, e.rule) from e
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("inputs", f"must be a non-empty list ({T.SIGNATURE_HELP})")
    offset = 0
    decoded: list[T.Tensor] = []
    for item in inputs:
        tensor, used = _decode_input(item, binary, offset, max_elements)
        offset += used
        decoded.append(tensor)
    if offset != len(binary):
        raise InvalidInput("inputs", f"{len(binary) - offset} bytes of binary data are not claimed by any input")
    request_id = doc.get("id", "")
    parameters = doc.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInput("parameters", "must be an object")
    return decoded, request_id if isinstance(request_id, str) else str(request_id), parameters


def _decode_input(item: Any, binary: bytes, offset: int, max_elements: int) -> tuple[T.Tensor, int]:
    if not isinstance(item, dict):
        raise InvalidInput("inputs", "each input must be an object with name, shape, datatype, data")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInput("inputs", "each input needs a 'name'")
    datatype, shape_value = item.get("datatype"), item.get("shape")
    if not isinstance(datatype, str):
        raise InvalidInput(name, "'datatype' is required")
    T.check_element_limit(name, shape_value, max_elements)  # validates: a list of non-negative ints
    shape = tuple(int(d) for d in shape_value or ())
    parameters = item.get("parameters") or {}
    size = parameters.get(oip.BINARY_DATA_SIZE) if isinstance(parameters, dict) else None
    if size is not None:
        if not isinstance(size, int) or size < 0 or offset + size > len(binary):
            raise InvalidInput(name, f"binary_data_size {size!r} does not fit the {len(binary) - offset} bytes left")
        raw = binary[offset : offset + size]
        if datatype == "BYTES":
            return T.bytes_from_raw(name, shape, raw), size
        return T.numeric_from_raw(name, datatype, shape, raw), size
    if "data" not in item:
        raise InvalidInput(name, "'data' is required (or parameters.binary_data_size with binary data)")
    if datatype == "BYTES":
        return T.bytes_from_list(name, shape, item["data"]), 0
    return T.numeric_from_list(name, datatype, shape, item["data"]), 0


#: The service builds its answers with the shared wire format.
infer_response = oip.build_infer_response
