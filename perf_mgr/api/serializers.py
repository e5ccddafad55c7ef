"""The shapes of the performance API's bodies, for the OpenAPI schema (the views build
the bodies themselves; the batch is validated sample by sample in
perf_mgr/actions.py, so that a bad sample is reported by index instead of failing the
batch)."""

from rest_framework import serializers


class SampleInSerializer(serializers.Serializer):
    name = serializers.RegexField(
        r"^[a-zA-Z_:][a-zA-Z0-9_:]{0,99}$", help_text="Metric name: letters, digits, '_', ':'."
    )
    value = serializers.FloatField(help_text="A finite number (no NaN, no infinity).")
    labels = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="At most 8 name: value pairs."
    )
    timestamp = serializers.CharField(
        required=False,
        help_text="ISO 8601 with offset, or seconds since the epoch; default: now.",
    )
    category = serializers.ChoiceField(
        ["custom", "business", "performance"], required=False, default="custom"
    )


class BatchInSerializer(serializers.Serializer):
    samples = SampleInSerializer(
        many=True, allow_empty=False, max_length=10_000, help_text="1 to 10,000 samples."
    )


class RejectedSampleSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the sample in `samples`.")
    code = serializers.CharField()
    reason = serializers.CharField()


class BatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Samples stored.")
    rejected = RejectedSampleSerializer(many=True)


class MetricPointSerializer(serializers.Serializer):
    labels = serializers.DictField(child=serializers.CharField())
    t = serializers.DateTimeField(help_text="Start of the step (or the sample's time).")
    value = serializers.FloatField(required=False, help_text="Raw samples (no step) only.")
    count = serializers.IntegerField(required=False)
    sum = serializers.FloatField(required=False)
    avg = serializers.FloatField(required=False)
    min = serializers.FloatField(required=False)
    max = serializers.FloatField(required=False)
    p50 = serializers.FloatField(required=False)
    p95 = serializers.FloatField(required=False)
    p99 = serializers.FloatField(required=False)


class PerformanceBodySerializer(serializers.Serializer):
    """Free-form: see docs/performance.md for the keys."""

    tenant = serializers.CharField()
    metrics = serializers.DictField(child=serializers.DictField())


class AnalyticsBodySerializer(PerformanceBodySerializer):
    window = serializers.DictField()
    trends = serializers.DictField(child=serializers.DictField())
    bottlenecks = serializers.ListField(child=serializers.DictField())
    slowest_views = serializers.ListField(child=serializers.DictField())


class ErrorBodySerializer(serializers.Serializer):
    error = serializers.DictField()
