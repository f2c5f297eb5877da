"""Admin pieces every app shares."""


class ReadOnlyAdminMixin:
    """Records that are written only by services (logs, ledgers, runs): listed and viewed in the
    admin, never added, edited or deleted there. Works for ModelAdmin and inlines alike."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
