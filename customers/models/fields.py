"""Columns that keep an identity document unreadable at rest (customers/documents.py says why).

``SealedTextField`` stores ``enc:`` + a Fernet token and gives the plain value back on read, so
code that reads ``customer.document_number`` is unchanged while a dump shows only tokens. It
refuses every lookup but ``isnull`` and ``exact``: a token is different each time it is made, so
``exact`` is answered by the keyed hash (``SealedExact``), and nothing else can be. The derived columns beside it,
``DocumentHashField`` and ``DocumentValidField``, are recomputed from the plain value on every
ORM save and insert (``pre_save``), as a trigger would; the set-based SQL writers set them too."""

from __future__ import annotations

from django import forms
from django.core.exceptions import FieldError
from django.db import models
from django.db.models import Lookup

from customers import documents


class SealedTextField(models.TextField):
    """Text encrypted at rest (``customers.documents.seal``); plain in Python. ``hash_field`` names
    the column holding its keyed hash: an ``exact`` filter matches on it (``SealedExact``)."""

    def __init__(self, *args, hash_field: str = "document_hash", **kwargs):
        self.hash_field = hash_field
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.hash_field != "document_hash":
            kwargs["hash_field"] = self.hash_field
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        return documents.unseal(value)

    def to_python(self, value):
        return documents.unseal(value) if isinstance(value, str) else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return documents.seal(value)

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return SealedExact
        if lookup_name != "isnull":
            raise FieldError(f"{self.name} is encrypted: only exact matches (on its keyed hash) are possible, "
                             f"not '{lookup_name}'.")
        return super().get_lookup(lookup_name)

    def formfield(self, **kwargs):
        return forms.CharField(max_length=50, required=not self.blank, **{
            key: value for key, value in kwargs.items() if key in ("label", "help_text", "initial")})


class SealedExact(Lookup):
    """``document_number=X``: the row's keyed hash is one of X's (one per credentials key), so an
    equality filter keeps working on a sealed column, on the hash's index. X is compared as given
    (compact it first: ``customers.services.normalize.document_number_normalize``)."""

    lookup_name = "exact"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        if hasattr(self.rhs, "resolve_expression"):
            raise FieldError("A sealed column can only be compared with a value.")
        target = self.lhs.target
        hash_column = target.model._meta.get_field(target.hash_field).get_col(self.lhs.alias)
        sql, params = compiler.compile(hash_column)
        return f"{sql} = ANY(%s)", [*params, documents.document_hashes(str(self.rhs))]


class DocumentHashField(models.CharField):
    """The keyed hash of the row's ``document_number`` (None without one), kept up to date on save."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("null", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance, add):
        value = documents.document_hash(documents.unseal(model_instance.document_number) or "")
        setattr(model_instance, self.attname, value)
        return value


class DocumentValidField(models.BooleanField):
    """Whether the row's document passes its type's checks (None without one): values stored
    before documents were checked are kept and flagged here, for the data-quality report."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("null", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance, add):
        number = documents.unseal(model_instance.document_number)
        value = None
        if number:
            _compact, error = documents.document_check(model_instance.document_type or "", number,
                                                       model_instance.country or "")
            value = error is None
        setattr(model_instance, self.attname, value)
        return value


class SealedChangeValueField(models.TextField):
    """A change log's old or new value: sealed when the row's ``field`` is a sealed one
    (``document_number``), plain otherwise; read back plain."""

    def from_db_value(self, value, expression, connection):
        if documents.is_sealed(value):
            try:
                return documents.unseal(value)
            except Exception:  # noqa: BLE001 - a log line unreadable without its key stays sealed, not a 500
                return value
        return value

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if model_instance.field in documents.SEALED_FIELDS and value not in (None, ""):
            value = documents.seal(value)
        return value
