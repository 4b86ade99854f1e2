"""schemathesis hooks for the scoring service (loaded through ``SCHEMATHESIS_HOOKS`` by
``tests/security/test_http_fuzz.py`` and ``make fuzz``).

- ``client_errors_name_field_and_rule``: the issue's rule that every 4xx says what was refused and
  why, as a check on every response schemathesis gets.
- ``unique_ids``: ids must be unique within a ``/score`` request, which JSON Schema cannot say; without
  this, schema-valid bodies with two equal ids would be (rightly) refused and reported as
  "schema-valid request rejected". Only later duplicates are renamed, so a negative case stays negative.
"""

from __future__ import annotations

from typing import Any

import schemathesis

#: Client errors that must carry ``field`` and ``rule`` (404 names a model; 405 is the router's).
FIELD_RULE_STATUSES = {400, 408, 413, 414, 422, 431}


@schemathesis.check
def client_errors_name_field_and_rule(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code not in FIELD_RULE_STATUSES:
        return None
    body = response.json()
    if not (isinstance(body, dict) and body.get("field") and body.get("rule")):
        raise AssertionError(f"{response.status_code} without 'field' and 'rule': {response.text[:300]}")
    return None


@schemathesis.hook("before_call")
def unique_ids(context: Any, case: Any, kwargs: Any) -> None:
    """Runs before every call of every phase (coverage-phase bodies bypass ``map_body``)."""
    body = case.body
    transactions = body.get("transactions") if isinstance(body, dict) else None
    if not isinstance(transactions, list):
        return
    seen: set[str] = set()
    for i, record in enumerate(transactions):
        tx_id = record.get("id") if isinstance(record, dict) else None
        if isinstance(tx_id, str) and tx_id:
            if tx_id in seen:
                record["id"] = f"{tx_id[:100]}~{i}"
            seen.add(record["id"])
