"""Serializer pieces shared by the apps' APIs."""

from __future__ import annotations

import copy


class FieldsOnceMixin:
    """For output ``ModelSerializer``s whose fields do not depend on the request: build the fields
    from the model once per class and give each instance a copy, as DRF already does for declared
    fields. A ModelSerializer otherwise introspects its model on every instantiation (about a
    millisecond for thirty fields, several times per Customer 360 response)."""

    def get_fields(self):
        built = type(self).__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built = built  # on this class only: a subclass builds its own
        return copy.deepcopy(built)
