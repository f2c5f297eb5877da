"""Every write of the AI mesh (re-exported by topic)."""

from ai.services.catalog import (
    key_add,
    key_secret,
    key_update,
    keys_rotate_all,
    model_save,
    policy_save,
    prompt_save,
    provider_add,
    provider_save,
)
from ai.services.tasks import (
    AiRefused,
    BudgetExceeded,
    ai_available_check,
    ai_batch_submit,
    ai_complete,
    ai_task_create,
    ai_task_run,
    ai_task_submit,
    key_result_record,
    personal_data_scrub,
    route_complete,
)

__all__ = [
    "AiRefused",
    "BudgetExceeded",
    "ai_available_check",
    "ai_batch_submit",
    "ai_complete",
    "ai_task_create",
    "ai_task_run",
    "ai_task_submit",
    "key_add",
    "key_result_record",
    "key_secret",
    "key_update",
    "keys_rotate_all",
    "model_save",
    "personal_data_scrub",
    "policy_save",
    "prompt_save",
    "provider_add",
    "provider_save",
    "route_complete",
]
