"""``cdp.admin_mixins.model_field_names``: every column of a read-only admin's rows."""

from cdp.admin_mixins import model_field_names
from customers.models import CustomerChangeLog


def test_every_concrete_field_then_the_computed_ones_without_the_excluded():
    names = model_field_names(CustomerChangeLog, "age", exclude=("reason",))
    assert names[0] == "id" and names[-1] == "age"
    assert "created_at" in names  # auto_now_add: not editable, so forms leave it out
    assert "customer" in names and "reason" not in names
