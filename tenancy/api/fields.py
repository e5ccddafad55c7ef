"""Serializer fields for input written by hand or copied from the seed's examples."""

from rest_framework import serializers


class CaseInsensitiveChoiceField(serializers.ChoiceField):
    """`HIGH`, `High` and `high` all mean the choice `high` (the seed writes enum members
    in capitals: `SecurityLevel.HIGH`). The stored value is the canonical one."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            folded = data.strip().casefold()
            for key in self.choices:
                if isinstance(key, str) and key.casefold() == folded:
                    return key
        return super().to_internal_value(data)
