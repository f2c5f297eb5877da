"""Run by `manage.py shell` in an installation under test: prints one line, ``FINGERPRINT {json}``,
with what must survive a restore or a move: the tenant schema's row counts, a Customer 360, a
decrypted integration credential and a license validation. Input: FP_SLUG, FP_EMAIL, FP_KEY,
FP_MACHINE, FP_ACCOUNT."""

import json
import os

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django_tenants.utils import tenant_context

from customers.api.serializers import Customer360OutputSerializer
from customers.models import Customer
from customers.selectors import customer_360
from integrations.crypto import decrypt_json
from integrations.models import Integration
from licensing.services import license_validate
from tenants.models import Tenant

tenant = Tenant.objects.get(slug=os.environ["FP_SLUG"])
out = {}
with tenant_context(tenant):
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1",
                       [tenant.schema_name])
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    out["counts"] = counts
    customer = Customer.objects.get(email=os.environ["FP_EMAIL"])
    out["customer_360"] = json.loads(json.dumps(
        Customer360OutputSerializer(customer_360(customer_id=customer.pk)).data, cls=DjangoJSONEncoder))
    out["emails"] = sorted(Customer.objects.values_list("email", flat=True))
    out["credential"] = decrypt_json(Integration.objects.get(account_name=os.environ["FP_ACCOUNT"]).credentials_encrypted)
connection.set_schema_to_public()
result = license_validate(key=os.environ["FP_KEY"], fingerprint=os.environ["FP_MACHINE"], ip="127.0.0.1")
data = json.loads(json.dumps(result.data, cls=DjangoJSONEncoder))
out["license"] = {"code": result.code, "data": {k: v for k, v in data.items() if k not in ("id", "license_id")}}
out["members"] = sorted(tenant.memberships.values_list("user__email", "role"))
print("FINGERPRINT " + json.dumps(out, sort_keys=True, cls=DjangoJSONEncoder))
