"""Identity documents sealed at rest (customers/documents.py, issue #21 item 9).

``document_number`` becomes a token (``enc:`` + Fernet, the credentials keys) with its keyed hash
beside it (``document_hash``: matching, uniqueness and search) and ``document_valid`` (whether it
passes its type's checks: values stored before documents were checked are kept as they are and
flagged, never rewritten nor emptied). The change log's document values are sealed too. The search
words no longer hold the document (a search by document matches the hash instead).

Reversible: going back decrypts every value (with the keys in force) and drops the hash.
Uses customers.documents (the checks and the cipher) rather than a frozen copy: the checks are
python-stdnum's and the cipher is cdp.crypto's, both versioned outside this file.
"""

import customers.models.fields
from django.db import migrations, models

BATCH = 2000


def _words(with_document: bool) -> str:
    document = ("\n    regexp_replace(lower(coalesce(document_number, '')), '[^0-9a-z]+', '', 'g'),"
                if with_document else "")
    return f"""
CREATE OR REPLACE FUNCTION customer_search_words(first_name text, last_name text, email text,
                                                 document_number text, phone text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_tsvector('simple', concat_ws(' ',
    regexp_replace(customer_search_fold(concat_ws(' ', first_name, last_name, email)), '[^0-9a-z]+', ' ', 'g'),
    regexp_replace(customer_search_fold(first_name), '[^0-9a-z]+', '', 'g'),
    regexp_replace(customer_search_fold(last_name), '[^0-9a-z]+', '', 'g'),
    regexp_replace(customer_search_fold(email), '[^0-9a-z]+', '', 'g'),
    regexp_replace(customer_search_fold(split_part(email, '@', 1)), '[^0-9a-z]+', '', 'g'),{document}
    regexp_replace(coalesce(phone, ''), '[^0-9]+', '', 'g'),
    right(regexp_replace(coalesce(phone, ''), '[^0-9]+', '', 'g'), 10),
    right(regexp_replace(coalesce(phone, ''), '[^0-9]+', '', 'g'), 8)))
$$;
"""


def _trigger(columns: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS customer_search_vector ON customers_customer;
CREATE TRIGGER customer_search_vector
  BEFORE INSERT OR UPDATE OF {columns} ON customers_customer
  FOR EACH ROW EXECUTE FUNCTION customer_search_vector_set();
"""


# The document argument stays (the trigger function passes it) but is no longer a search word, and
# a change of document no longer fires the trigger (its column changes type below; ``seal`` sets
# the search words of the rows it seals).
WORDS_WITHOUT_DOCUMENT = _words(False) + _trigger("first_name, last_name, email, phone")
WORDS_WITH_DOCUMENT = _words(True) + _trigger("first_name, last_name, email, document_number, phone") + """
UPDATE customers_customer
   SET search_vector = customer_search_words(first_name, last_name, email, document_number, phone)
 WHERE document_number IS NOT NULL;
"""


def _batches(cursor, sql: str):
    last = 0
    while True:
        cursor.execute(sql, [last, BATCH])
        rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def seal(apps, schema_editor):
    from customers import documents

    customers = apps.get_model("customers", "Customer")._meta.db_table
    logs = apps.get_model("customers", "CustomerChangeLog")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        for rows in _batches(cursor, f"SELECT id, document_type, document_number, country FROM {customers} "
                                     "WHERE id > %s AND document_number IS NOT NULL "
                                     "AND document_number NOT LIKE 'enc:%%' ORDER BY id LIMIT %s"):
            ids, tokens, hashes, valid = [], [], [], []
            for pk, doc_type, number, country in rows:
                _compact, error = documents.document_check(doc_type or "", number, country or "")
                ids.append(pk)
                tokens.append(documents.seal(number))
                hashes.append(documents.document_hash(number))
                valid.append(error is None)
            cursor.execute(f"""
                UPDATE {customers} c SET document_number = v.token, document_hash = v.hash, document_valid = v.ok,
                       search_vector = customer_search_words(c.first_name, c.last_name, c.email, NULL, c.phone)
                  FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS token, unnest(%s::text[]) AS hash,
                               unnest(%s::boolean[]) AS ok) v
                 WHERE c.id = v.id""", [ids, tokens, hashes, valid])
        for rows in _batches(cursor, f"SELECT id, old_value, new_value FROM {logs} "
                                     "WHERE id > %s AND field = 'document_number' ORDER BY id LIMIT %s"):
            cursor.execute(f"""
                UPDATE {logs} l SET old_value = v.old, new_value = v.new
                  FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS old, unnest(%s::text[]) AS new) v
                 WHERE l.id = v.id""", [[row[0] for row in rows], [documents.seal(row[1] or None) for row in rows],
                                       [documents.seal(row[2] or None) for row in rows]])


def unseal(apps, schema_editor):
    from customers import documents

    customers = apps.get_model("customers", "Customer")._meta.db_table
    logs = apps.get_model("customers", "CustomerChangeLog")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        for rows in _batches(cursor, f"SELECT id, document_number FROM {customers} "
                                     "WHERE id > %s AND document_number LIKE 'enc:%%' ORDER BY id LIMIT %s"):
            cursor.execute(f"""
                UPDATE {customers} c SET document_number = v.plain
                  FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS plain) v WHERE c.id = v.id""",
                           [[row[0] for row in rows], [documents.unseal(row[1]) for row in rows]])
        for rows in _batches(cursor, f"SELECT id, old_value, new_value FROM {logs} "
                                     "WHERE id > %s AND field = 'document_number' ORDER BY id LIMIT %s"):
            cursor.execute(f"""
                UPDATE {logs} l SET old_value = v.old, new_value = v.new
                  FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS old, unnest(%s::text[]) AS new) v
                 WHERE l.id = v.id""", [[row[0] for row in rows], [documents.unseal(row[1]) for row in rows],
                                       [documents.unseal(row[2]) for row in rows]])


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0016_marketing_consent_from_records"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="customer",
            name="uniq_customer_document",
        ),
        migrations.RemoveConstraint(
            model_name="customer",
            name="customer_document_null_not_empty",
        ),
        migrations.RemoveIndex(
            model_name="customer",
            name="customer_document_idx",
        ),
        migrations.AddField(
            model_name="customer",
            name="document_hash",
            field=customers.models.fields.DocumentHashField(editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="customer",
            name="document_valid",
            field=customers.models.fields.DocumentValidField(editable=False, null=True),
        ),
        migrations.RunSQL(WORDS_WITHOUT_DOCUMENT, WORDS_WITH_DOCUMENT),
        migrations.AlterField(
            model_name="customer",
            name="document_number",
            field=customers.models.fields.SealedTextField(
                blank=True, help_text="Compact form (digits, letters kept).", null=True),
        ),
        migrations.AlterField(
            model_name="customerchangelog",
            name="new_value",
            field=customers.models.fields.SealedChangeValueField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="customerchangelog",
            name="old_value",
            field=customers.models.fields.SealedChangeValueField(blank=True, null=True),
        ),
        migrations.RunPython(seal, unseal),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                condition=models.Q(("document_hash__isnull", False)), fields=("document_hash", "document_type"),
                name="uniq_customer_document_hash"),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.CheckConstraint(
                condition=models.Q(("document_number__isnull", True), ("document_hash__isnull", False),
                                   _connector="OR"),
                name="customer_document_hashed"),
        ),
    ]
