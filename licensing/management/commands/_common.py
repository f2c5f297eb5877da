from django.core.management.base import CommandError

from licensing.models import License
from licensing.selectors import license_get_by_key


def license_from_key(key: str) -> License:
    license = license_get_by_key(key=key)
    if license is None:
        raise CommandError("No license matches this key (check it for typos).")
    return license
