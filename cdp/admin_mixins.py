"""The admin kit: how every admin in every app reads, writes and acts.

- Writes go through a service called as the form's last validation step
  (``ServiceFormAdminMixin``): a refusal is an error on the form, never a 500 and never Django's
  "changed successfully" after an error.
- Records written only by services are read-only (``ReadOnlyAdminMixin``, ``ReadOnlyInline``):
  listed and viewed, never added, changed or deleted.
- Actions on selected rows call a service per row (``service_action``): every row is tried, each
  refusal is reported with its row, successes are counted.
- Deletes go through a service too (``ServiceDeleteAdminMixin``), one object or the selected ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect

from cdp.context import actor_from_request
from cdp.exceptions import ApplicationError, PermissionDenied


class ReadOnlyAdminMixin:
    """Records that are written only by services (logs, ledgers, runs): listed and viewed in the
    admin, never added, edited or deleted there. Works for ModelAdmin and inlines alike."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def model_field_names(model, *extra: str, exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """The names of ``model``'s concrete fields, the ones Django's forms leave out (``created_at``)
    included, then ``extra`` (computed columns): the ``readonly_fields`` of a read-only admin that
    shows every column of its rows."""
    left_out = set(exclude)
    return (*(field.name for field in model._meta.concrete_fields if field.name not in left_out), *extra)


class ServiceFormAdminMixin:
    """An admin whose writes go through a service, called as the form's last validation step (after
    the field and model checks). A refusal (``ApplicationError``) becomes errors on the form, shown
    on the same page with what was typed, and nothing is saved. (Raised from ``save_model`` it comes
    too late: the admin can only fail or redirect, and the input is lost.)"""

    #: The form of the add page when it differs from the change page's (the fields the create
    #: service takes), as Django's UserAdmin has it.
    add_form = None

    def service_save(self, request, obj, form, change: bool):
        """Write the form's cleaned data through the service; return the saved instance."""
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None and self.add_form is not None:
            kwargs.setdefault("form", self.add_form)
        form_class = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ServiceForm(form_class):
            def _post_clean(self):
                super()._post_clean()
                if self._errors:
                    return
                try:
                    self.saved = model_admin.service_save(request, obj, self, change)
                except ApplicationError as exc:
                    form_errors_add(self, exc)

        return ServiceForm

    def get_changelist_form(self, request, **kwargs):
        """Rows edited in the list (``list_editable``) are written by the same ``service_save``
        (``obj`` is the row), one call per row that changed; a refusal is an error on its row."""
        form_class = super().get_changelist_form(request, **kwargs)
        model_admin = self

        class ServiceRowForm(form_class):
            def _post_clean(self):
                super()._post_clean()
                if self._errors or not self.has_changed():
                    return
                try:
                    self.saved = model_admin.service_save(request, self.instance, self, True)
                except ApplicationError as exc:
                    form_errors_add(self, exc)

        return ServiceRowForm

    def save_model(self, request, obj, form, change):
        # Written by the service while the form validated; the admin's messages and log use obj.
        instance_copy(obj, form.saved)


class ServiceDeleteAdminMixin:
    """An admin whose deletes go through a service (``service_delete(request, obj)``, which audits):
    the object's delete page and the "delete selected" action alike, never Django's ORM delete. A
    refusal (``ApplicationError``) is an error message and nothing is deleted (the selected rows are
    deleted all or none), never a 500 and never Django's "successfully deleted" after it. A refusal
    because the person may not do it (``cdp.exceptions.PermissionDenied``, e.g. an admin removing
    an owner) is the admin's 403 page, as when the model's delete permission is missing."""

    def service_delete(self, request, obj) -> None:
        raise NotImplementedError

    def delete_model(self, request, obj):
        self.service_delete(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset.order_by("pk"):
            self.service_delete(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)  # atomic: a refusal undoes it all
        except ApplicationError as exc:
            _forbidden_or_pass(exc)
            self.message_user(request, exc.as_text(), level=messages.ERROR)
            return HttpResponseRedirect(request.path)

    def response_action(self, request, queryset):
        if request.POST.get("action") != "delete_selected":
            return super().response_action(request, queryset)
        try:
            with transaction.atomic():
                return super().response_action(request, queryset)
        except ApplicationError as exc:
            _forbidden_or_pass(exc)
            self.message_user(request, f"{exc.as_text()} Nothing was deleted.", level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def _forbidden_or_pass(exc: ApplicationError) -> None:
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(exc.as_text()) from exc


def instance_copy(target, source) -> None:
    """Make ``target`` hold ``source``'s field values (the admin keeps its own instance for its
    messages, log entry and redirect while a service saved another)."""
    target.__dict__.update({k: v for k, v in source.__dict__.items() if not k.startswith("_")})


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Rows of a record that only services write (identities, orders, ledger lines), shown under it.
    Whoever may use the admin site may see them: the site decides (the tenant admin by membership
    role, the operators' admin by staff status), not Django's per-model permissions, which the
    members of a tenant do not hold."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        return self.admin_site.has_permission(request)


def service_action(*, description: str, done: str,
                   permissions: tuple[str, ...] | None = None, ordering: tuple[str, ...] = ("pk",)):
    """An admin action that calls ``call(row, actor=..., request=...)`` for each selected row, in
    ``ordering`` (id order unless the rows depend on each other: newest first to undo a chain):
    each ``ApplicationError`` is reported with its row (the others still run), and the successes
    are counted ("3 customers pseudonymized.").

        @service_action(description="Suspend new usage", done="account(s) suspended")
        def suspend(account, *, actor, request):
            credit_account_suspend(account_id=account.pk, actor=actor, note="...")
    """
    def wrap(call: Callable) -> Callable:
        def action(modeladmin, request, queryset):
            actor = actor_from_request(request)
            succeeded = 0
            for row in queryset.order_by(*ordering):
                try:
                    call(row, actor=actor, request=request)
                    succeeded += 1
                except ApplicationError as exc:
                    modeladmin.message_user(request, f"{row}: {exc.as_text()}", level=messages.ERROR)
            if succeeded:
                modeladmin.message_user(request, f"{succeeded} {done}.", level=messages.SUCCESS)

        action.__name__ = call.__name__
        return admin.action(description=description, permissions=permissions)(action)

    return wrap


def form_errors_add(form, exc: ApplicationError, *, prefix: str = "") -> None:
    """The service's per-field messages on the form's fields (a service's ``prefix`` such as
    ``"attributes."`` taken off its field names); the rest above the form."""
    fields = {name.removeprefix(prefix): msgs for name, msgs in exc.fields.items()}
    shown = {name: list(msgs) for name, msgs in fields.items() if name in form.fields}
    for name, msgs in shown.items():
        form.add_error(name, msgs)
    rest = "; ".join(f"{name}: {' '.join(map(str, msgs))}" for name, msgs in fields.items() if name not in shown)
    if rest or not shown:
        form.add_error(None, f"{exc.message} {rest}".strip())


def form_changes(form, *, change: bool, fields) -> dict:
    """What a ``service_save`` passes on: the form's cleaned values of ``fields``; on a change form
    only those the person changed (an update service then audits exactly what was edited)."""
    names = form.changed_data if change else list(form.cleaned_data)
    return {name: form.cleaned_data[name] for name in names if name in fields and name in form.cleaned_data}
