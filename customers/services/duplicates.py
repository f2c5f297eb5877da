"""Suggested duplicate customers: SQL blocking, then fuzzy scoring in Python.

The embedded PostgreSQL has no ``pg_trgm``/``fuzzystrmatch``, and comparing every pair is
O(n²). So candidate pairs come from SQL *blocks*: customers sharing a phone, a postal code (alone,
and with the last name's initial), or a name key (first four letters of the accent-folded last
name + the first name's initial). Blocks larger than ``MAX_BLOCK`` are skipped: a key that many
customers share (a mall's postal code, a default phone) says nothing about any one pair, and the
narrower keys still pair them. Each pair is then scored with ``rapidfuzz``:

    score = 0.50 · name + 0.35 · phone + 0.15 · postal code

where a missing signal adds nothing. Pairs whose names (when both have one) are less than
``MIN_NAME`` alike (first and last name each) are not the same person (a couple sharing a phone), nor are pairs with two
different documents of the same type. Pairs from ``MIN_SCORE`` up are stored.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from rapidfuzz import fuzz

from cdp.context import Actor
from cdp.exceptions import Conflict
from cdp.ids import get_or_not_found
from customers.codes import AuditAction, ErrorCode
from customers.models import Address, Customer, DuplicateCandidate
from tenants.services import audit_record

MAX_BLOCK = 100
MIN_SCORE = 0.6
MIN_NAME = 0.75
WEIGHTS = {"name": 0.50, "phone": 0.35, "postal_code": 0.15}
CHUNK = 5000

_ACCENTED = "áàâãäåéèêëíìîïóòôõöúùûüçñý"
_PLAIN = "aaaaaaeeeeiiiiooooouuuucny"
_NON_ALPHA = re.compile(r"[^a-z ]+")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NON_DIGITS = re.compile(r"\D+")

#: The blocking keys, one SQL statement; its name-folding mirrors ``name_fold`` below.
BLOCKING_SQL = f"""
WITH eligible AS (
    SELECT id, phone,
           regexp_replace(translate(lower(first_name), '{_ACCENTED}', '{_PLAIN}'), '[^a-z]', '', 'g') AS fn,
           regexp_replace(translate(lower(last_name), '{_ACCENTED}', '{_PLAIN}'), '[^a-z]', '', 'g') AS ln
      FROM {Customer._meta.db_table}
     WHERE status <> %(merged)s AND NOT is_pseudonymized
), postal AS (
    SELECT DISTINCT a.customer_id AS id, lower(regexp_replace(a.postal_code, '[^0-9A-Za-z]', '', 'g')) AS pc, e.ln
      FROM {Address._meta.db_table} a JOIN eligible e ON e.id = a.customer_id
     WHERE a.postal_code <> ''
), keys AS (
    SELECT id, 'phone:' || phone AS k FROM eligible WHERE phone <> ''
    UNION
    SELECT id, 'name:' || left(ln, 4) || ':' || left(fn, 1) FROM eligible WHERE ln <> ''
    UNION
    SELECT id, 'postal:' || pc FROM postal WHERE pc <> ''
    UNION
    SELECT id, 'postal_name:' || pc || ':' || left(ln, 1) FROM postal WHERE pc <> '' AND ln <> ''
), blocks AS (
    SELECT k FROM keys GROUP BY k HAVING count(*) BETWEEN 2 AND %(max_block)s
), members AS (
    SELECT keys.id, keys.k FROM keys JOIN blocks USING (k)
)
SELECT m1.id, m2.id, array_agg(DISTINCT split_part(m1.k, ':', 1) ORDER BY split_part(m1.k, ':', 1))
  FROM members m1 JOIN members m2 ON m1.k = m2.k AND m1.id < m2.id
 GROUP BY m1.id, m2.id
 ORDER BY m1.id, m2.id
"""


def name_fold(value: str) -> str:
    """Lowercase, accents removed, letters and single spaces only."""
    text = unicodedata.normalize("NFKD", (value or "").lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_ALPHA.sub(" ", text).split())


def _phone_similarity(a: str, b: str) -> float | None:
    da, db = _NON_DIGITS.sub("", a or ""), _NON_DIGITS.sub("", b or "")
    if not da or not db:
        return None
    if da == db:
        return 1.0
    if len(da) >= 8 and len(db) >= 8 and da[-8:] == db[-8:]:
        return 0.9  # the same line written with and without its country or area code
    return 0.0


def _name_similarity(a: dict, b: dict) -> tuple[float | None, float | None]:
    """(overall similarity, the weaker of first/last name similarity) or (None, None)."""
    fa, la = name_fold(a["first_name"]), name_fold(a["last_name"])
    fb, lb = name_fold(b["first_name"]), name_fold(b["last_name"])
    if not (fa or la) or not (fb or lb):
        return None, None
    if fa and la and fb and lb:
        first, last = fuzz.ratio(fa, fb) / 100, fuzz.ratio(la, lb) / 100
        return 0.5 * first + 0.5 * last, min(first, last)
    overall = fuzz.token_sort_ratio(f"{fa} {la}", f"{fb} {lb}") / 100
    return overall, overall


def pair_score(a: dict, b: dict) -> tuple[float, dict]:
    """Score two customers (dicts with first_name, last_name, phone, postal_codes, document_type,
    document_number). Returns (score 0..1, per-signal similarities); 0 when they cannot be one
    person."""
    name, weakest = _name_similarity(a, b)
    phone = _phone_similarity(a["phone"], b["phone"])
    postal = None
    if a["postal_codes"] and b["postal_codes"]:
        postal = 1.0 if set(a["postal_codes"]) & set(b["postal_codes"]) else 0.0
    reasons = {"name": None if name is None else round(name, 4), "phone": phone, "postal_code": postal}
    if weakest is not None and weakest < MIN_NAME:
        # Lucía and Luis Gómez sharing a phone are a household, not one person.
        return 0.0, reasons
    if (a["document_number"] and b["document_number"] and a["document_type"] == b["document_type"]
            and a["document_number"] != b["document_number"]):
        reasons["document"] = 0.0
        return 0.0, reasons
    score = sum(WEIGHTS[key] * (value or 0.0) for key, value in
                (("name", name), ("phone", phone), ("postal_code", postal)))
    return round(min(max(score, 0.0), 1.0), 4), reasons


def _profiles(ids: set[int]) -> dict[int, dict]:
    # Documents are told apart by their keyed hash: no need to decrypt them (customers/documents.py).
    profiles = {row["id"]: {**row, "document_number": row.pop("document_hash"), "postal_codes": []}
                for row in Customer.objects.filter(pk__in=ids).values(
                    "id", "first_name", "last_name", "phone", "document_type", "document_hash")}
    for customer_id, postal_code in Address.objects.filter(customer_id__in=ids).exclude(postal_code="").values_list(
            "customer_id", "postal_code"):
        profiles[customer_id]["postal_codes"].append(_NON_ALNUM.sub("", postal_code.lower()))
    return profiles


def _upsert(rows: list[DuplicateCandidate]) -> None:
    # Reviewed pairs keep their status: only the score and reasons are refreshed.
    DuplicateCandidate.objects.bulk_create(rows, update_conflicts=True, unique_fields=["customer_a", "customer_b"],
                                           update_fields=["score", "reasons", "updated_at"])


@transaction.atomic
def duplicates_recompute(*, actor: Actor | None = None) -> dict:
    """Recompute the tenant's suggested duplicate pairs. Idempotent: pairs are upserted (reviewed
    ones keep their status), pending pairs that no longer qualify are removed. Returns counts."""
    actor = actor or Actor.system("duplicates")
    started = timezone.now()
    scored = suggested = 0
    with connection.cursor() as lock:
        # One recompute per tenant at a time; a second waits and then finds the work done.
        lock.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"customers.duplicates:{connection.schema_name}"])
    with connection.chunked_cursor() as cursor:
        cursor.execute(BLOCKING_SQL, {"max_block": MAX_BLOCK, "merged": Customer.Status.MERGED})
        while True:
            pairs = cursor.fetchmany(CHUNK)
            if not pairs:
                break
            profiles = _profiles({pk for a, b, _ in pairs for pk in (a, b)})
            rows = []
            for a, b, blocks in pairs:
                scored += 1
                score, reasons = pair_score(profiles[a], profiles[b])
                if score >= MIN_SCORE:
                    reasons["blocks"] = list(blocks)
                    rows.append(DuplicateCandidate(customer_a_id=a, customer_b_id=b,
                                                   score=Decimal(str(score)), reasons=reasons))
            if rows:
                _upsert(rows)
                suggested += len(rows)
    removed, _ = DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.PENDING,
                                                   updated_at__lt=started).delete()
    result = {"pairs_scored": scored, "suggested": suggested, "stale_removed": removed}
    audit_record(actor=actor, action=AuditAction.DUPLICATES_RECOMPUTE, resource_type="duplicate_candidate",
                 tenant=connection.tenant, changes=result)
    return result


@transaction.atomic
def duplicate_dismiss(*, candidate_id, actor: Actor) -> DuplicateCandidate:
    """Mark a suggested pair as not a duplicate; recomputes keep it dismissed. Dismissing a
    dismissed pair changes nothing; a merged pair cannot be dismissed (409 ``duplicate_merged``)."""
    candidate = get_or_not_found(DuplicateCandidate, candidate_id, "Duplicate suggestion not found.", lock=True)
    if candidate.status == DuplicateCandidate.Status.DISMISSED:
        return candidate
    if candidate.status == DuplicateCandidate.Status.MERGED:
        raise Conflict("These customers were merged; undo the merge instead.", code=ErrorCode.DUPLICATE_MERGED)
    candidate.status = DuplicateCandidate.Status.DISMISSED
    candidate.reviewed_by = actor.label[:255]
    candidate.reviewed_at = timezone.now()
    candidate.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
    audit_record(actor=actor, action=AuditAction.DUPLICATE_DISMISS, resource_type="duplicate_candidate",
                 resource_id=candidate.pk, tenant=connection.tenant,
                 changes={"customer_a": candidate.customer_a_id, "customer_b": candidate.customer_b_id})
    return candidate

