from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs_mgr.models import Job, JobState
from jobs_mgr.progress import ProgressFacts, progress_facts


class JobSerializer(serializers.ModelSerializer):
    """A job with its progress facts (`jobs_mgr.progress`, computed when it is read)."""

    progress = serializers.FloatField(
        read_only=True, help_text="progress_done / progress_total, from 0 to 1."
    )
    percent = serializers.SerializerMethodField(
        help_text="Done over total in percent (0-100, floored to a tenth; 100 once "
        "succeeded); null while the total is unknown."
    )
    rate = serializers.SerializerMethodField(
        help_text="Items per second over the current (or last) run; null until it has "
        "made progress, and for a queued job."
    )
    eta_seconds = serializers.SerializerMethodField(
        help_text="Seconds left at that rate, rounded up; null unless a worker holds the "
        "job and both the total and the rate are known."
    )
    elapsed_seconds = serializers.SerializerMethodField(
        help_text="Seconds since the job first started (to its end once finished); null "
        "before it started."
    )
    can_resume = serializers.SerializerMethodField(
        help_text="Whether POST .../resume/ would queue the job now."
    )
    resume_refusal = serializers.SerializerMethodField(
        help_text="Why it would not (the 409's message); null when it would."
    )
    can_cancel = serializers.SerializerMethodField(
        help_text="Whether POST .../cancel/ would change anything now."
    )
    cancel_refusal = serializers.SerializerMethodField(
        help_text="Why it would not (a finished job: the 409's message; a cancel already "
        "requested: repeating it is harmless); null when it would."
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "state",
            "progress",
            "progress_done",
            "progress_total",
            "percent",
            "rate",
            "eta_seconds",
            "elapsed_seconds",
            "can_resume",
            "resume_refusal",
            "can_cancel",
            "cancel_refusal",
            "params",
            "checkpoint",
            "result",
            "attempts",
            "last_error",
            "cancel_requested",
            "worker",
            "heartbeat_at",
            "lease_expires_at",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def _facts(self, job) -> ProgressFacts:
        # Computed once per job and representation (every method field reads them).
        cached = getattr(self, "_cached_facts", None)
        if cached is None or cached[0] is not job:
            cached = self._cached_facts = (job, progress_facts(job))
        return cached[1]

    @extend_schema_field(serializers.FloatField(allow_null=True, min_value=0, max_value=100))
    def get_percent(self, job):
        return self._facts(job).percent

    @extend_schema_field(serializers.FloatField(allow_null=True, min_value=0))
    def get_rate(self, job):
        return self._facts(job).rate

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=0))
    def get_eta_seconds(self, job):
        return self._facts(job).eta_seconds

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=0))
    def get_elapsed_seconds(self, job):
        return self._facts(job).elapsed_seconds

    @extend_schema_field(serializers.BooleanField())
    def get_can_resume(self, job):
        return self._facts(job).can_resume

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_resume_refusal(self, job):
        return self._facts(job).resume_refusal

    @extend_schema_field(serializers.BooleanField())
    def get_can_cancel(self, job):
        return self._facts(job).can_cancel

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_cancel_refusal(self, job):
        return self._facts(job).cancel_refusal


class JobQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(JobState.choices, required=False)
    kind = serializers.CharField(max_length=80, required=False)
