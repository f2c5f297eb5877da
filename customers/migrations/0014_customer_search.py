"""Accent- and case-insensitive word-prefix search on customers (customers/search.py).

``customer_search_words`` folds a profile into its search words; a trigger sets ``search_vector``
on every insert and on every update of a searched field, whichever code path writes; the
existing rows are filled here. The character map is customers.search.ACCENTED/PLAIN, copied (a
migration must not change when the code does; tests/customers/test_search.py checks they agree).
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

ACCENTED = "áàâãäåéèêëíìîïóòôõöúùûüçñýÁÀÂÃÄÅÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑÝ"
PLAIN = "aaaaaaeeeeiiiiooooouuuucnyaaaaaaeeeeiiiiooooouuuucny"

CREATE = f"""
CREATE OR REPLACE FUNCTION customer_search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT translate(lower(coalesce(value, '')), '{ACCENTED}', '{PLAIN}')
$$;

-- One string of [0-9a-z] words for to_tsvector('simple') (C code, no per-row subquery: the bulk
-- engine inserts a million rows through this trigger): every word of the names and the e-mail,
-- each name, the e-mail and its local part squeezed ("d'angelo" -> dangelo, lucia.rojas@x ->
-- luciarojasx), the document and the phone digits, and the phone's last 10 and 8 digits.
CREATE OR REPLACE FUNCTION customer_search_words(first_name text, last_name text, email text,
                                                 document_number text, phone text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_tsvector('simple', concat_ws(' ',
    regexp_replace(customer_search_fold(concat_ws(' ', first_name, last_name, email)), '[^0-9a-z]+', ' ', 'g'),
    regexp_replace(customer_search_fold(first_name), '[^0-9a-z]+', '', 'g'),
    regexp_replace(customer_search_fold(last_name), '[^0-9a-z]+', '', 'g'),
    regexp_replace(customer_search_fold(email), '[^0-9a-z]+', '', 'g'),
    regexp_replace(customer_search_fold(split_part(email, '@', 1)), '[^0-9a-z]+', '', 'g'),
    regexp_replace(lower(coalesce(document_number, '')), '[^0-9a-z]+', '', 'g'),
    regexp_replace(coalesce(phone, ''), '[^0-9]+', '', 'g'),
    right(regexp_replace(coalesce(phone, ''), '[^0-9]+', '', 'g'), 10),
    right(regexp_replace(coalesce(phone, ''), '[^0-9]+', '', 'g'), 8)))
$$;

CREATE OR REPLACE FUNCTION customer_search_vector_set() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  NEW.search_vector := customer_search_words(NEW.first_name, NEW.last_name, NEW.email,
                                             NEW.document_number, NEW.phone);
  RETURN NEW;
END
$$;

CREATE TRIGGER customer_search_vector
  BEFORE INSERT OR UPDATE OF first_name, last_name, email, document_number, phone ON customers_customer
  FOR EACH ROW EXECUTE FUNCTION customer_search_vector_set();

UPDATE customers_customer
   SET search_vector = customer_search_words(first_name, last_name, email, document_number, phone);
"""

DROP = """
DROP TRIGGER IF EXISTS customer_search_vector ON customers_customer;
DROP FUNCTION IF EXISTS customer_search_vector_set();
DROP FUNCTION IF EXISTS customer_search_words(text, text, text, text, text);
DROP FUNCTION IF EXISTS customer_search_fold(text);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0013_consent"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="customer_search_idx"),
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
