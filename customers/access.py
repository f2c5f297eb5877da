"""Recording reads of personal data from the interfaces (API, portal, admin, exports) in the
data-access log (``customers.services.access.access_record``): one insert per request.

Search terms are kept masked (``customers.masking``): the log says that someone looked for
``a***@d***.com``, without becoming a second copy of the person's data that erasure would have to
rewrite."""

from __future__ import annotations

from cdp.context import actor_from_request
from customers.masking import mask_document, mask_email, request_visibility
from customers.models import DataAccessLog
from customers.services.access import MAX_QUERY_KEYS, MAX_QUERY_VALUE, access_record

Action = DataAccessLog.Action
#: Query parameters that are not about what was read.
_IGNORED = {"page", "page_size", "ordering", "format", "cursor"}
#: Parameters that carry personal data: kept masked.
_PERSONAL = {"q", "email", "phone", "document", "document_number", "search", "name"}


def _channel(request) -> str:
    path = request.path or ""
    if path.startswith("/api/"):
        return DataAccessLog.Channel.API
    if path.startswith("/admin/"):
        return DataAccessLog.Channel.ADMIN
    return DataAccessLog.Channel.PORTAL


def _masked_term(value: str) -> str:
    return mask_email(value.strip().lower()) if "@" in value else (mask_document(value) if any(c.isdigit() for c in value) else value)


def request_query(request) -> dict:
    """The filters of a list request, without paging, personal terms masked, capped in size."""
    query = {}
    for key in list(request.GET.keys())[:MAX_QUERY_KEYS]:
        if key in _IGNORED:
            continue
        value = (request.GET.get(key) or "")[:MAX_QUERY_VALUE]
        query[key] = _masked_term(value) if key in _PERSONAL and value else value
    return query


def list_action(query: dict) -> str:
    """A list narrowed by a filter is a search (someone looked for someone)."""
    return Action.SEARCH if query else Action.LIST


def log_access(request, *, action: str, resource_type: str = "customer", resource_id: object = "", rows: int = 0,
               query: dict | None = None):
    """Record that ``request`` read personal data (see ``access_record``)."""
    return access_record(actor=actor_from_request(request), action=action, channel=_channel(request),
                         resource_type=resource_type, resource_id=resource_id, rows=rows,
                         masked=not request_visibility(request).unmask, query=query, path=request.path)


def log_list(request, *, rows: int, resource_type: str = "customer", resource_id: object = "",
             action: str | None = None):
    """Record a list or search request that returned ``rows`` people."""
    query = request_query(request)
    return log_access(request, action=action or list_action(query), resource_type=resource_type,
                      resource_id=resource_id, rows=rows, query=query)
