"""Small hooks apps register into, so that lower layers can show what higher ones compute
without importing them (the dependency arrows in house-style.md stay one-way)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

_usage_providers: dict[str, Callable[[], int]] = {}


def register_usage_provider(name: str, provider: Callable[[], int]) -> None:
    """``provider`` runs inside the tenant's schema and returns a count (customers, orders...)."""
    _usage_providers[name] = provider


def usage_providers() -> list[tuple[str, Callable[[], int]]]:
    return sorted(_usage_providers.items())


_portal_nav: list[tuple[int, str, str, str]] = []


def register_portal_nav(label: str, url_name: str, order: int = 50, capability: str = "read") -> None:
    """A link in the portal's main navigation, shown to members holding ``capability``."""
    if all(existing[2] != url_name for existing in _portal_nav):
        _portal_nav.append((order, label, url_name, capability))
        _portal_nav.sort()


def portal_nav() -> list[tuple[str, str, str]]:
    """``(label, url_name, capability)`` in display order."""
    return [(label, url_name, capability) for _, label, url_name, capability in _portal_nav]


_demo_data_commands: list[tuple[int, str]] = []


def register_demo_data_command(command: str, order: int = 50) -> None:
    """A management command taking ``--tenant SLUG`` that loads demo data idempotently. Lower
    ``order`` runs first (then registration order): a command that computes from every app's demo
    data (analytics) registers a high one."""
    if all(existing != command for _, existing in _demo_data_commands):
        _demo_data_commands.append((order, command))


def demo_data_commands() -> list[str]:
    return [command for _, command in sorted(_demo_data_commands, key=lambda entry: entry[0])]


_quota_guards: list[Callable[..., None]] = []


def register_quota_guard(guard: Callable[..., None]) -> None:
    """``guard(resource, *, tenant, adding)`` raises ``cdp.exceptions.QuotaExceeded`` when a
    tenant may not add ``adding`` more of ``resource`` (licensing registers the real one)."""
    if guard not in _quota_guards:
        _quota_guards.append(guard)


def quota_check(resource: str, *, tenant, adding: int = 1) -> None:
    """Called by the app that creates ``resource`` (e.g. customers before an ingest commits)."""
    for guard in _quota_guards:
        guard(resource, tenant=tenant, adding=adding)


@contextmanager
def quota_guards_disabled() -> Iterator[None]:
    """No quota guard runs inside the block; the registered ones are back after it. For tests and
    benchmarks of the apps that create resources: plan limits are licensing's to test."""
    saved = list(_quota_guards)
    _quota_guards.clear()
    try:
        yield
    finally:
        _quota_guards[:] = saved


_credentials_rotators: dict[str, Callable[[], int]] = {}


def register_credentials_rotator(name: str, rotator: Callable[[], int]) -> None:
    """``rotator()`` re-encrypts an app's public-schema secrets with the newest credentials key
    (``cdp.crypto``) and returns how many; ``manage.py rotate_credentials`` runs every one."""
    _credentials_rotators[name] = rotator


def credentials_rotators() -> list[tuple[str, Callable[[], int]]]:
    return sorted(_credentials_rotators.items())


_tenant_credentials_rotators: dict[str, Callable[[], int]] = {}


def register_tenant_credentials_rotator(name: str, rotator: Callable[[], int]) -> None:
    """``rotator()`` re-encrypts (and re-hashes) an app's secrets in the current tenant's schema with
    the newest credentials key and returns how many; ``rotate_credentials`` runs it in each tenant."""
    _tenant_credentials_rotators[name] = rotator


def tenant_credentials_rotators() -> list[tuple[str, Callable[[], int]]]:
    return sorted(_tenant_credentials_rotators.items())


_run_banner: list[Callable[[], list[str]]] = []


def register_run_banner(lines: Callable[[], list[str]]) -> None:
    """Lines ``manage.py serve`` prints under its URLs (tenants: who signs in and how)."""
    if lines not in _run_banner:
        _run_banner.append(lines)


def run_banner_lines() -> list[str]:
    return [line for lines in _run_banner for line in lines()]


_dashboard_sections: list[tuple[int, str, str, Callable[..., dict | None], str]] = []


def register_dashboard_section(name: str, template: str, provider: Callable[..., dict | None], *,
                               order: int = 50, capability: str = "read") -> None:
    """A section of the portal's overview (the tenant's home page), shown to members holding
    ``capability``: ``provider(tenant=, request=)`` runs in the tenant's schema and returns the
    context of ``template`` (rendered with it as ``section``), or None to show nothing. Analytics
    adds the headline figures, licensing the plan and its usage, integrations the last sync."""
    if all(existing[1] != name for existing in _dashboard_sections):
        _dashboard_sections.append((order, name, template, provider, capability))
        _dashboard_sections.sort(key=lambda entry: (entry[0], entry[1]))


def dashboard_sections() -> list[tuple[str, str, Callable[..., dict | None], str]]:
    """``(name, template, provider, capability)`` in display order."""
    return [(name, template, provider, capability) for _, name, template, provider, capability in _dashboard_sections]
_api_key_partner_resolvers: list[Callable[..., str | None]] = []


def register_api_key_partner(resolver: Callable[..., str | None]) -> None:
    """``resolver(api_key_id=)`` returns the slug of the coalition partner an API key is bound to
    (None: not bound). It runs in the tenant's schema. Loyalty registers the real one: customers'
    ingest and the API's permission check learn of partner-bound keys without importing loyalty."""
    if resolver not in _api_key_partner_resolvers:
        _api_key_partner_resolvers.append(resolver)


def api_key_partner(api_key_id: int | None) -> str | None:
    """The partner (slug) the key is bound to, or None."""
    if api_key_id is None:
        return None
    for resolver in _api_key_partner_resolvers:
        slug = resolver(api_key_id=api_key_id)
        if slug:
            return slug
    return None


_identity_keys: dict[str, tuple[Callable[[], str | bytes], str]] = {}


def register_identity_key(name: str, public_key: Callable[[], str | bytes], *, mismatch: str) -> None:
    """A key that is the platform's identity rather than a tenant's (licensing's signing key):
    ``public_key()`` returns its public part. A tenant export records each one's fingerprint and an
    import into a cluster holding another key warns with ``mismatch`` (``cdp.ops.tenant_move``)."""
    _identity_keys[name] = (public_key, mismatch)


def identity_keys() -> list[tuple[str, Callable[[], str | bytes], str]]:
    """``(name, public_key, mismatch warning)`` of every registered identity key, by name."""
    return [(name, key, mismatch) for name, (key, mismatch) in sorted(_identity_keys.items())]
