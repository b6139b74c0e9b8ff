"""Schemathesis hooks for tests/schemathesis/run.sh (loaded through SCHEMATHESIS_HOOKS).

`positive_data_acceptance` flags a 4xx answer to a request that matches the schema.
Tentabo's schema states every rule a JSON Schema can express (types, formats, enums,
lengths, ranges, patterns). A few rules it cannot express, and a fuzzer's random data
breaks them all the time; their 422 is the right answer, not a defect. This hook drops
the "schema-valid request rejected" failure when, and only when, every field error of
the 422 is one of these rules — any other code (out_of_range, required, invalid_email,
…) still fails the run, as it means the schema promised something the API refuses:

- characters: NUL and other control characters (api/src/extract.rs), refused in
  every string, which no pattern on every field says;
- an opaque cursor: only the server issues valid ones (HMAC-sealed, api/src/cursor.rs);
- references: ids of rows that do not exist, or are outside the caller's view;
- rules across fields or across rows (exactly one of partner and distributor, a role's
  organisation, tier boundaries that meet, a currency shared by the lines, an ISO 4217
  code that exists, a PATCH that changes something);
- what the caller's role may set (a partner writes partner-visible notes only);
- business date ranges: configurable and relative to today (TENTABO_EARLIEST_DATE,
  TENTABO_MAX_YEARS_AHEAD), which a `date-time` format cannot bound;
- a provider's own settings: `PUT /api/v1/providers/{kind}/{name}` (and seed 000's
  `POST /api/v1/integrations/odoo/configure`) take the settings of the provider the
  path names, whose JSON Schema `GET /api/v1/providers/{kind}/{name}` serves; the
  operation's schema can only say "an object". Field errors under `configuration.` and
  `credentials.` are that provider's rules.
"""

import json
import re
import urllib.parse

import schemathesis

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

UNEXPRESSED = {
    # characters
    "control_character",
    # opaque cursor
    "invalid_cursor",
    # references
    "not_found",
    "unknown_organisation",
    "unknown_duration",
    "unknown_partner",
    "unknown_distributor",
    "unknown_product",
    "unknown_user",
    "unknown_owner",
    "partner_not_attached",
    # rules across fields or rows
    "exactly_one_of_partner_or_distributor",
    "required_for_role",
    "not_allowed_for_role",
    "ids_or_entity",
    "not_greater_than_min",
    "must_start_at_zero",
    "gap_with_previous_tier",
    "overlaps_previous_tier",
    "required_except_last_tier",
    "currency_mismatch",
    "invalid_currency",
    "empty_patch",
    "not_priceable",
    "amount_too_large",
    "not_open",
    "not_allowed",
    "required_with_due_time",
    # field mapping: source field names unique within a request
    "duplicate",
}

# (field, code) pairs of the same kind, where the code alone also names rules the
# schema does state.
UNEXPRESSED_FIELD = {("expected_close_date", "out_of_range"), ("due_date", "out_of_range")}

# Whole-request answers of the same kind: an Idempotency-Key sent again with another
# body (the fuzzer reuses header values).
UNEXPRESSED_REQUEST = {"idempotency_key_reused"}


def _has_forbidden(value) -> bool:
    if isinstance(value, str):
        return bool(FORBIDDEN.search(value))
    if isinstance(value, dict):
        return any(_has_forbidden(k) or _has_forbidden(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_forbidden(v) for v in value)
    return False


def _codes(response):
    try:
        error = json.loads(response.text_lossy())["error"]
    except (ValueError, KeyError, TypeError):
        return None, set()
    fields = (error.get("details") or {}).get("fields") or {}
    return error.get("code"), {(f, c) for f, codes in fields.items() for c in codes}


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    if failure.__class__.__name__ != "RejectedPositiveData" or response.status_code != 422:
        return True
    code, field_codes = _codes(response)
    if code == "invalid_characters":
        url = urllib.parse.unquote(getattr(response.request, "url", "") or "")
        sent = (case.path_parameters, case.query, url)
        return not any(_has_forbidden(part) for part in sent)
    if code in UNEXPRESSED_REQUEST:
        return False
    path = urllib.parse.urlparse(getattr(response.request, "url", "") or "").path
    per_provider = path.startswith("/api/v1/providers/") or path == "/api/v1/integrations/odoo/configure"

    def expressed_elsewhere(f, c):
        return per_provider and f.startswith(("configuration", "credentials."))

    unexpressed = all(
        c in UNEXPRESSED or (f, c) in UNEXPRESSED_FIELD or expressed_elsewhere(f, c)
        for f, c in field_codes
    )
    return not (code == "validation_failed" and field_codes and unexpressed)
