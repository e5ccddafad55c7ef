"""Bodies of the AI API (requests validated here; responses documented)."""

from __future__ import annotations

from rest_framework import serializers

from ai_mgr import kinds

NAME_PATTERN = r"^[-a-zA-Z0-9_]{1,100}$"
ALIAS_PATTERN = r"^[-a-zA-Z0-9_]{1,40}$"


class AIVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    algorithm = serializers.CharField()
    params = serializers.JSONField()
    features = serializers.ListField(child=serializers.CharField())
    data_from = serializers.DateTimeField(allow_null=True)
    data_to = serializers.DateTimeField(allow_null=True)
    data_rows = serializers.IntegerField()
    data_fingerprint = serializers.CharField()
    metrics = serializers.JSONField()
    code_version = serializers.CharField()
    trained_by = serializers.CharField()
    trained_at = serializers.DateTimeField()
    storage = serializers.CharField()
    checksum = serializers.CharField()
    size = serializers.IntegerField()


class AIModelSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    description = serializers.CharField()
    source = serializers.CharField()
    created_at = serializers.DateTimeField()
    aliases = serializers.DictField(child=serializers.IntegerField())
    latest_version = serializers.IntegerField(allow_null=True)


class AIAliasEventSerializer(serializers.Serializer):
    alias = serializers.CharField()
    version = serializers.IntegerField()
    previous = serializers.IntegerField(allow_null=True)
    action = serializers.CharField()
    at = serializers.DateTimeField()
    actor = serializers.CharField()
    reason = serializers.CharField()


class AIServedAtSerializer(serializers.Serializer):
    model = serializers.CharField()
    alias = serializers.CharField()
    at = serializers.DateTimeField()
    version = serializers.IntegerField(allow_null=True)
    since = serializers.DateTimeField(allow_null=True)
    promoted_by = serializers.CharField(allow_null=True)


class AIServedAtQuerySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    alias = serializers.RegexField(ALIAS_PATTERN, required=False, default="champion")


class AIPromoteSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    alias = serializers.RegexField(ALIAS_PATTERN, required=False, default="champion")
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=300)


class AIRollbackSerializer(serializers.Serializer):
    alias = serializers.RegexField(ALIAS_PATTERN, required=False, default="champion")
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=300)


class AITrainSerializer(serializers.Serializer):
    model_type = serializers.ChoiceField(choices=[])
    model_name = serializers.RegexField(NAME_PATTERN, required=False)
    training_data = serializers.JSONField(
        help_text="Rows (a list of objects), {features, rows} or a dict of columns."
    )
    params = serializers.DictField(required=False, default=dict)
    promote = serializers.RegexField(ALIAS_PATTERN, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_type"].choices = kinds.names()


class AITrainJobSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    state = serializers.CharField()
    kind = serializers.CharField()
    model = serializers.CharField()


class AIPredictSerializer(serializers.Serializer):
    model_name = serializers.RegexField(NAME_PATTERN)
    input_data = serializers.JSONField(
        help_text="One row (an object of feature values), a list of rows, or lists of "
        "values in the version's feature order."
    )
    alias = serializers.RegexField(ALIAS_PATTERN, required=False, default="champion")


class AIPredictionSerializer(serializers.Serializer):
    model = serializers.CharField()
    alias = serializers.CharField()
    version = serializers.IntegerField()
    anomaly_score = serializers.FloatField(required=False)
    raw_score = serializers.FloatField(required=False)
    anomaly_scores = serializers.ListField(child=serializers.FloatField(), required=False)
    raw_scores = serializers.ListField(child=serializers.FloatField(), required=False)
    prediction = serializers.FloatField(required=False)
    predictions = serializers.ListField(child=serializers.FloatField(), required=False)
