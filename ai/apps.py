from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "ai"
    verbose_name = "AI mesh"

    def ready(self):
        from ai.selectors import SEGMENT_DRAFT, ai_usage_lines, customer_summary_read
        from ai.services import keys_rotate_all, register_output_check
        from ai.services.customer_summaries import customer_summary_erase
        from ai.services.segment_drafts import segment_rules_check
        from billing import registry as billing_registry
        from cdp import registry
        from customers import registry as customers_registry

        # manage.py rotate_credentials (integrations) re-encrypts the key pool too.
        registry.register_credentials_rotator("ai keys", keys_rotate_all)
        # A segment draft's rules pass analytics' rule compiler in the worker, or the task fails.
        register_output_check(SEGMENT_DRAFT, segment_rules_check)
        # The Customer 360 shows the AI summary (templates/customer_sections/ai_summary.html); an
        # erasure empties the person's cached summaries.
        customers_registry.register_customer_360_section("ai_summary", customer_summary_read)
        customers_registry.register_erasure_handler("ai", customer_summary_erase)
        # The tenant's AI requests become usage lines on its next renewal's invoice.
        billing_registry.register_usage_source("ai", ai_usage_lines)
        registry.register_portal_nav("AI", "ai:assistant", order=75, capability="analytics")
