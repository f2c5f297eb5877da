from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants and access"

    def ready(self):
        from celery.signals import task_failure
        from django.contrib.auth.signals import user_logged_out
        from django.core.signals import got_request_exception
        from django.db.models.signals import post_delete, post_migrate, post_save

        from cdp import registry
        from tenants import receivers
        from tenants.banner import sign_in_lines
        from tenants.models import FeatureFlag, SystemConfig

        user_logged_out.connect(receivers.on_user_logged_out, dispatch_uid="tenants.user_session_end")
        # System events (tenants.SystemEvent): errors of requests and tasks, migrations, settings.
        got_request_exception.connect(receivers.on_request_exception, dispatch_uid="tenants.error_request")
        task_failure.connect(receivers.on_task_failure, weak=False, dispatch_uid="tenants.error_task")
        post_migrate.connect(receivers.on_post_migrate, sender=self, dispatch_uid="tenants.migrations")
        for model in (SystemConfig, FeatureFlag):
            post_save.connect(receivers.on_config_saved, sender=model, dispatch_uid=f"tenants.config_saved.{model}")
            post_delete.connect(receivers.on_config_deleted, sender=model,
                                dispatch_uid=f"tenants.config_deleted.{model}")
        # Every member manages their own sessions (the header's account menu, templates/base.html);
        # the member-sessions part needs ``security``.
        registry.register_run_banner(sign_in_lines)  # make run: who signs in, where the password is
