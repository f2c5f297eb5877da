"""The profile's old ``marketing_consent`` boolean and the consent records (issue #16) agree.

Direction: the records are the truth and the boolean mirrors them (True while marketing is
granted on at least one channel; ``customers.services.consent`` keeps it so from now on). A boolean
has no channel, no time, no wording and no proof, so it cannot be what a send or a regulator
trusts; analytics rules, exports and list filters that read it stay right because it mirrors.

What was there before is kept, not lost:
1. A profile flagged True with no e-mail marketing record gets one: granted, source ``import``,
   text version ``legacy-marketing-consent``, recorded at the profile's last update, with an event
   saying it was carried over from the flag (what the flag always meant: e-mail marketing).
2. Then every flag is set from the records, so where a record exists it wins (a person who
   unsubscribed keeps being unsubscribed even if the flag said True).

Set-based SQL (one INSERT ... SELECT chain and one UPDATE), whatever the number of customers.
Reversing leaves the records (they are history) and the flags as they are.
"""

from django.db import migrations

LEGACY_VERSION = "legacy-marketing-consent"
REASON = "carried over from the profile's marketing_consent flag"


def records_from_flags(apps, schema_editor):
    customer = apps.get_model("customers", "Customer")._meta.db_table
    consent = apps.get_model("customers", "Consent")._meta.db_table
    event = apps.get_model("customers", "ConsentEvent")._meta.db_table
    params = {"channel": "email", "purpose": "marketing", "source": "import", "version": LEGACY_VERSION,
              "by": "migration", "reason": REASON}
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"""
            WITH missing AS (
                SELECT c.id, c.updated_at FROM {customer} c
                 WHERE c.marketing_consent AND NOT EXISTS (
                       SELECT 1 FROM {consent} k WHERE k.customer_id = c.id AND k.channel = %(channel)s
                          AND k.purpose = %(purpose)s)
            ), inserted AS (
                INSERT INTO {consent} (customer_id, channel, purpose, granted, source, text_version, ip_address,
                                       user_agent, recorded_by, recorded_at)
                SELECT id, %(channel)s, %(purpose)s, true, %(source)s, %(version)s, NULL, '', %(by)s, updated_at
                  FROM missing
                RETURNING customer_id, recorded_at
            )
            INSERT INTO {event} (customer_id, channel, purpose, granted, previous, source, text_version, ip_address,
                                 user_agent, recorded_by, reason, created_at)
            SELECT customer_id, %(channel)s, %(purpose)s, true, NULL, %(source)s, %(version)s, NULL, '', %(by)s,
                   %(reason)s, recorded_at
              FROM inserted""", params)
        cursor.execute(f"""
            UPDATE {customer} c SET marketing_consent = EXISTS (
                   SELECT 1 FROM {consent} k WHERE k.customer_id = c.id AND k.purpose = %(purpose)s AND k.granted)
             WHERE c.marketing_consent IS DISTINCT FROM EXISTS (
                   SELECT 1 FROM {consent} k WHERE k.customer_id = c.id AND k.purpose = %(purpose)s AND k.granted)
            """, params)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0015_loyalty_moves_to_its_app"),
    ]

    operations = [
        migrations.RunPython(records_from_flags, migrations.RunPython.noop, elidable=False),
    ]
