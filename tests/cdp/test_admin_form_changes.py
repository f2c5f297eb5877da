"""``cdp.admin_mixins.form_changes``: what an admin form hands to its service."""

from django import forms

from cdp.admin_mixins import form_changes


class _Form(forms.Form):
    name = forms.CharField()
    price = forms.IntegerField()
    note = forms.CharField(required=False)


def test_an_add_form_passes_every_service_field_a_change_form_only_the_edited_ones():
    add = _Form(data={"name": "A", "price": "3", "note": ""})
    assert add.is_valid()
    assert form_changes(add, change=False, fields=("name", "price")) == {"name": "A", "price": 3}
    edit = _Form(data={"name": "A", "price": "4", "note": ""}, initial={"name": "A", "price": 3, "note": ""})
    assert edit.is_valid()
    assert form_changes(edit, change=True, fields=("name", "price", "note")) == {"price": 4}
