"""The AI mesh's stable vocabulary: the error codes it raises (also a processed task's
``error_code``) and the audit actions it records. Values never change once published."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # configuration
    PROVIDER_EXISTS = "ai_provider_exists"
    PROVIDER_KIND_INVALID = "ai_provider_kind_invalid"
    MODEL_EXISTS = "ai_model_exists"
    PROMPT_MISSING = "ai_prompt_missing"  # no active master prompt for the feature and language
    PROMPT_VARIABLES_MISSING = "ai_prompt_variables_missing"
    PROMPT_INVALID = "ai_prompt_invalid"
    SCHEMA_INVALID = "ai_schema_invalid"  # the JSON schema a caller passed is not one
    # refusals before any provider is called
    AI_DISABLED = "ai_disabled"  # the tenant has AI off
    BUDGET_EXCEEDED = "ai_budget_exceeded"  # the tenant's monthly USD budget is spent
    NO_ROUTE = "ai_no_route"  # no active model with a usable key for the capability
    # a provider's answer (one attempt) or the task's outcome
    PROVIDER_RATE_LIMITED = "ai_provider_rate_limited"  # 429
    PROVIDER_AUTH_FAILED = "ai_provider_auth_failed"  # 401/403: the key is wrong
    PROVIDER_REFUSED = "ai_provider_refused"  # other 4xx: our request is wrong for it
    PROVIDER_UNAVAILABLE = "ai_provider_unavailable"  # 5xx, 529, connection errors
    PROVIDER_TIMEOUT = "ai_provider_timeout"  # no complete answer within the deadline
    PROVIDER_BAD_ANSWER = "ai_provider_bad_answer"  # not the provider's format, or too large
    ALL_PROVIDERS_FAILED = "ai_all_providers_failed"
    OUTPUT_INVALID = "ai_output_invalid"  # the model's answer is not JSON matching the schema
    INTERNAL_ERROR = "ai_internal_error"  # the task crashed on something that is not a refusal
    # features
    DRAFT_NOT_READY = "ai_draft_not_ready"  # a segment draft not finished, or failed
    DRAFT_ALREADY_SAVED = "ai_draft_already_saved"


class AuditAction(StrEnum):
    PROVIDER_ADD = "ai.provider_add"
    PROVIDER_UPDATE = "ai.provider_update"
    MODEL_SAVE = "ai.model_save"
    KEY_ADD = "ai.key_add"
    KEY_UPDATE = "ai.key_update"
    PROMPT_SAVE = "ai.prompt_save"
    POLICY_SAVE = "ai.policy_save"
    TASK_SUBMIT = "ai.task_submit"
    TASK_COMPLETE = "ai.task_complete"
    BUDGET_WARNING = "ai.budget_warning"
    SEGMENT_DRAFT_SAVE = "ai.segment_draft_save"
