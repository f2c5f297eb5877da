"""Writes to the platform's AI catalog: providers, models, the key pool, master prompts and tenant
policies. Every write is audited; a key is encrypted before it is stored and never written into an
audit entry, a message or a log (only its last four characters)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.template import Engine, TemplateSyntaxError
from django.template.base import VariableNode

from ai import store
from ai.codes import AuditAction, ErrorCode
from ai.models import CAPABILITIES, AiModel, MasterPrompt, Provider, ProviderKey, TenantPolicy
from cdp import crypto
from cdp.context import Actor
from cdp.exceptions import ApplicationError, full_clean_or_raise
from tenants.models import Tenant
from tenants.services import audit_record, changes_between

PROVIDER_FIELDS = ("name", "kind", "base_url", "is_active", "priority")
MODEL_FIELDS = ("provider_id", "model_id", "capabilities", "context_window", "input_cost_per_1k", "output_cost_per_1k",
                "status", "priority")
KEY_FIELDS = ("label", "is_active", "rpm_limit", "tpm_limit")
PROMPT_FIELDS = ("feature", "language", "system", "template", "variables", "capability", "weight", "is_active")
POLICY_FIELDS = ("enabled", "monthly_budget_usd", "allow_personal_data", "price_per_request_usd")

# Prompts are rendered with Django's template language (variables, filters, loops; no code), with
# no HTML escaping: a prompt is not a web page.
PROMPT_ENGINE = Engine(autoescape=False, string_if_invalid="")


def _catalog_changed() -> None:
    """Every process reloads its routing table (now, and once this transaction commits: a process
    that reloaded in between would otherwise keep the old rows until AI_ROUTING_CACHE_SECONDS)."""
    store.catalog_bump()
    transaction.on_commit(store.catalog_bump)


def _snapshot(obj, fields) -> dict:
    return {name: getattr(obj, name) for name in fields}


def _decimal(value, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ApplicationError(f"{field} must be a number.", fields={field: ["Enter a number."]}) from None
    if not number.is_finite() or number < 0:
        raise ApplicationError(f"{field} must be zero or more.", fields={field: ["Zero or more."]})
    return number


def _capabilities(values) -> list[str]:
    chosen = list(dict.fromkeys(values or ()))
    unknown = [value for value in chosen if value not in CAPABILITIES]
    if unknown or not chosen:
        message = f"Capabilities are any of {', '.join(CAPABILITIES)}."
        raise ApplicationError(message, fields={"capabilities": [message]})
    return chosen


# --- providers and models -------------------------------------------------------------------------

@transaction.atomic
def provider_save(*, actor: Actor, provider: Provider | None = None, **fields) -> Provider:
    """Create or change a provider (``name``, ``kind``, ``base_url``, ``is_active``, ``priority``)."""
    target = provider if provider is not None else Provider()
    before = _snapshot(target, PROVIDER_FIELDS) if provider is not None else {}
    for name, value in fields.items():
        if name not in PROVIDER_FIELDS:
            raise TypeError(f"provider_save() got an unexpected field {name!r}")
        setattr(target, name, value)
    if target.kind not in Provider.Kind.values:
        message = f"Kind is one of {', '.join(Provider.Kind.values)}."
        raise ApplicationError(message, code=ErrorCode.PROVIDER_KIND_INVALID, fields={"kind": [message]})
    if Provider.objects.filter(name=target.name).exclude(pk=target.pk).exists():
        raise ApplicationError(f"A provider named {target.name!r} exists.", code=ErrorCode.PROVIDER_EXISTS,
                               fields={"name": ["Already taken."]})
    full_clean_or_raise(target, "The provider is not valid.")
    target.save()
    audit_record(actor=actor, action=AuditAction.PROVIDER_ADD if provider is None else AuditAction.PROVIDER_UPDATE,
                 resource_type="ai_provider", resource_id=target.pk,
                 changes=changes_between(before, _snapshot(target, PROVIDER_FIELDS)))
    _catalog_changed()
    return target


@transaction.atomic
def model_save(*, actor: Actor, model: AiModel | None = None, **fields) -> AiModel:
    """Create or change a catalog model (provider, model id, capabilities, context window, prices
    per 1,000 input and output tokens, status, priority)."""
    target = model if model is not None else AiModel()
    before = _snapshot(target, MODEL_FIELDS) if model is not None else {}
    for name, value in fields.items():
        if name == "provider":
            name, value = "provider_id", value.pk
        if name not in MODEL_FIELDS:
            raise TypeError(f"model_save() got an unexpected field {name!r}")
        if name in ("input_cost_per_1k", "output_cost_per_1k"):
            value = _decimal(value, name)
        if name == "capabilities":
            value = _capabilities(value)
        setattr(target, name, value)
    full_clean_or_raise(target, "The model is not valid.", validate_constraints=False)
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise ApplicationError(f"The provider already has a model {target.model_id!r}.", code=ErrorCode.MODEL_EXISTS,
                               fields={"model_id": ["Already in the catalog for this provider."]}) from None
    audit_record(actor=actor, action=AuditAction.MODEL_SAVE, resource_type="ai_model", resource_id=target.pk,
                 changes=changes_between(before, _snapshot(target, MODEL_FIELDS)))
    _catalog_changed()
    return target


# --- the key pool -----------------------------------------------------------------------------------

def _set_secret(key: ProviderKey, secret: str) -> None:
    secret = (secret or "").strip()
    if not secret and key.provider.kind != Provider.Kind.OLLAMA:
        raise ApplicationError("An API key is required for this provider.", fields={"api_key": ["Required."]})
    key.key_encrypted = crypto.encrypt_text(secret) if secret else ""
    key.key_hint = secret[-4:] if len(secret) >= 12 else ""  # short keys: showing 4 would show most of it


@transaction.atomic
def key_add(*, actor: Actor, provider: Provider, api_key: str, label: str = "", rpm_limit: int | None = None,
            tpm_limit: int | None = None) -> ProviderKey:
    """Add a key to the pool, encrypted. Its value is never returned, audited or logged."""
    key = ProviderKey(provider=provider, label=label or f"{provider.name} key", rpm_limit=rpm_limit,
                      tpm_limit=tpm_limit)
    _set_secret(key, api_key)
    full_clean_or_raise(key, "The key is not valid.")
    key.save()
    audit_record(actor=actor, action=AuditAction.KEY_ADD, resource_type="ai_key", resource_id=key.pk,
                 changes={"provider": provider.name, "label": key.label, "key": key.masked,
                          "rpm_limit": rpm_limit, "tpm_limit": tpm_limit})
    _catalog_changed()
    return key


@transaction.atomic
def key_update(*, actor: Actor, key: ProviderKey, api_key: str | None = None, reinstate: bool = False,
               **fields) -> ProviderKey:
    """Change a key's label, limits or active flag; replace its secret (``api_key``); ``reinstate``
    ends a rest (cooldown or open circuit) now."""
    before = {**_snapshot(key, KEY_FIELDS), "key": key.masked}
    for name, value in fields.items():
        if name not in KEY_FIELDS:
            raise TypeError(f"key_update() got an unexpected field {name!r}")
        setattr(key, name, value)
    if api_key:
        _set_secret(key, api_key)
    if reinstate or api_key:
        key.rest_until, key.rest_reason, key.consecutive_failures = None, "", 0
    full_clean_or_raise(key, "The key is not valid.")
    key.save()
    changes = changes_between(before, {**_snapshot(key, KEY_FIELDS), "key": key.masked})
    if api_key:
        changes["key_replaced"] = True
    if reinstate:
        changes["reinstated"] = True
    audit_record(actor=actor, action=AuditAction.KEY_UPDATE, resource_type="ai_key", resource_id=key.pk,
                 changes=changes)
    if reinstate or api_key:
        store.rest_clear(key.pk)
    _catalog_changed()
    return key


def key_secret(key: ProviderKey) -> str:
    """The clear key, for the one outbound call that sends it."""
    return crypto.decrypt_text(key.key_encrypted) if key.key_encrypted else ""


def keys_rotate_all() -> int:
    """Re-encrypt every pool key with the newest credentials key (``rotate_credentials``)."""
    count = 0
    with transaction.atomic():
        for key in ProviderKey.objects.select_for_update().exclude(key_encrypted=""):
            key.key_encrypted = crypto.rotate(key.key_encrypted)
            key.save(update_fields=["key_encrypted", "updated_at"])
            count += 1
    _catalog_changed()
    return count


@transaction.atomic
def provider_add(*, actor: Actor, name: str, kind: str, base_url: str, api_key: str, model: str,
                 input_cost_per_1k, output_cost_per_1k, priority: int = 100, capabilities=("chat", "json"),
                 context_window: int = 8192, rpm_limit: int | None = None, tpm_limit: int | None = None) -> Provider:
    """A provider with one model and one key in one step (``manage.py ai_provider_add``)."""
    provider = provider_save(actor=actor, name=name, kind=kind, base_url=base_url, priority=priority)
    model_save(actor=actor, provider=provider, model_id=model, capabilities=list(capabilities),
               context_window=context_window, input_cost_per_1k=input_cost_per_1k,
               output_cost_per_1k=output_cost_per_1k, priority=priority)
    key_add(actor=actor, provider=provider, api_key=api_key, label=f"{name} key", rpm_limit=rpm_limit,
            tpm_limit=tpm_limit)
    return provider


# --- master prompts ---------------------------------------------------------------------------------

def prompt_template_variables(template: str) -> set[str]:
    """The top-level variable names a prompt template uses (``{{ customer.city }}`` -> customer)."""
    try:
        compiled = PROMPT_ENGINE.from_string(template)
    except TemplateSyntaxError as exc:
        raise ApplicationError(f"The template does not compile: {exc}", code=ErrorCode.PROMPT_INVALID,
                               fields={"template": [str(exc)]}) from None
    names = set()
    for node in compiled.nodelist.get_nodes_by_type(VariableNode):
        var = node.filter_expression.var
        lookups = getattr(var, "lookups", None)
        if lookups:
            names.add(lookups[0])
    return names


@transaction.atomic
def prompt_save(*, actor: Actor, prompt: MasterPrompt | None = None, **fields) -> MasterPrompt:
    """Create a master prompt version (numbered after the feature and language's last) or change
    one. The template must compile, and declare every variable it uses."""
    target = prompt if prompt is not None else MasterPrompt()
    before = {**_snapshot(target, PROMPT_FIELDS), "version": target.version} if prompt is not None else {}
    for name, value in fields.items():
        if name not in PROMPT_FIELDS:
            raise TypeError(f"prompt_save() got an unexpected field {name!r}")
        setattr(target, name, value)
    target.variables = list(dict.fromkeys(target.variables or []))
    undeclared = sorted(prompt_template_variables(target.template) - set(target.variables))
    if undeclared:
        message = f"The template uses undeclared variables: {', '.join(undeclared)}."
        raise ApplicationError(message, code=ErrorCode.PROMPT_INVALID, fields={"variables": [message]})
    if target.capability not in CAPABILITIES:
        raise ApplicationError("Unknown capability.", fields={"capability": [f"One of {', '.join(CAPABILITIES)}."]})
    if prompt is None:
        last = MasterPrompt.objects.select_for_update().filter(feature=target.feature, language=target.language) \
            .aggregate(last=Max("version"))["last"]
        target.version = (last or 0) + 1
    full_clean_or_raise(target, "The prompt is not valid.", validate_constraints=False)
    target.save()
    audit_record(actor=actor, action=AuditAction.PROMPT_SAVE, resource_type="ai_prompt", resource_id=target.pk,
                 changes=changes_between(before, {**_snapshot(target, PROMPT_FIELDS), "version": target.version}))
    return target


# --- tenants' policies ------------------------------------------------------------------------------

@transaction.atomic
def policy_save(*, actor: Actor, tenant: Tenant, allowed_providers=None, **fields) -> TenantPolicy:
    """Set a tenant's AI switch, monthly budget (USD), allowed providers, personal-data rule and
    price per request."""
    policy, _ = TenantPolicy.objects.select_for_update().get_or_create(tenant=tenant)
    before = {**_snapshot(policy, POLICY_FIELDS),
              "allowed_providers": sorted(policy.allowed_providers.values_list("name", flat=True))}
    for name, value in fields.items():
        if name not in POLICY_FIELDS:
            raise TypeError(f"policy_save() got an unexpected field {name!r}")
        if name in ("monthly_budget_usd", "price_per_request_usd") and value is not None and value != "":
            value = _decimal(value, name)
        setattr(policy, name, None if value == "" else value)
    full_clean_or_raise(policy, "The AI policy is not valid.")
    policy.save()
    if allowed_providers is not None:
        policy.allowed_providers.set(allowed_providers)
    after = {**_snapshot(policy, POLICY_FIELDS),
             "allowed_providers": sorted(policy.allowed_providers.values_list("name", flat=True))}
    audit_record(actor=actor, action=AuditAction.POLICY_SAVE, resource_type="ai_policy", resource_id=policy.pk,
                 tenant=tenant, changes=changes_between(before, after))
    return policy
