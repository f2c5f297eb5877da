"""Admin pieces every app shares."""

from cdp.exceptions import ApplicationError


class ReadOnlyAdminMixin:
    """Records that are written only by services (logs, ledgers, runs): listed and viewed in the
    admin, never added, edited or deleted there. Works for ModelAdmin and inlines alike."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceFormAdminMixin:
    """An admin whose writes go through a service, called as the form's last validation step (after
    the field and model checks). A refusal (``ApplicationError``) becomes errors on the form, shown
    on the same page with what was typed, and nothing is saved. (Raised from ``save_model`` it comes
    too late: the admin can only fail or redirect, and the input is lost.)"""

    def service_save(self, request, obj, form, change: bool):
        """Write the form's cleaned data through the service; return the saved instance."""
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
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

    def save_model(self, request, obj, form, change):
        # Written by the service while the form validated; the admin's messages and log use obj.
        obj.__dict__.update({k: v for k, v in form.saved.__dict__.items() if not k.startswith("_")})


def form_errors_add(form, exc: ApplicationError) -> None:
    """The service's per-field messages on the form's fields; the rest above the form."""
    shown = {name: list(msgs) for name, msgs in exc.fields.items() if name in form.fields}
    for name, msgs in shown.items():
        form.add_error(name, msgs)
    rest = "; ".join(f"{name}: {' '.join(map(str, msgs))}" for name, msgs in exc.fields.items() if name not in shown)
    if rest or not shown:
        form.add_error(None, f"{exc.message} {rest}".strip())
