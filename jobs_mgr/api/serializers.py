from rest_framework import serializers

from jobs_mgr.models import Job, JobState


class JobSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(
        read_only=True, help_text="progress_done / progress_total, from 0 to 1."
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


class JobQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(JobState.choices, required=False)
    kind = serializers.CharField(max_length=80, required=False)
