from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from workflow_mgr import selectors
from workflow_mgr.models import RunState, StepRun, Strategy, WorkflowRun


class StepRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepRun
        fields = [
            "id", "name", "phase", "position", "state", "attempts", "idempotency_key",
            "output", "error", "wait_signal", "wake_at", "worker", "heartbeat_at",
            "lease_expires_at", "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class WorkflowRunSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField(
        help_text="Steps done (succeeded or skipped) over the definition's steps, 0 to 1."
    )
    step_count = serializers.SerializerMethodField(help_text="Steps in the definition.")

    class Meta:
        model = WorkflowRun
        fields = [
            "id", "name", "state", "compensation_strategy", "progress", "step_count",
            "input", "error", "cancel_requested", "requested_by", "created_at",
            "updated_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.FloatField(min_value=0, max_value=1))
    def get_progress(self, run):
        return selectors.progress(run)

    @extend_schema_field(serializers.IntegerField(min_value=0))
    def get_step_count(self, run):
        return len(run.definition.get("steps", []))


class WorkflowRunDetailSerializer(WorkflowRunSerializer):
    steps = serializers.SerializerMethodField(help_text="Step runs, in the order they began.")

    class Meta(WorkflowRunSerializer.Meta):
        fields = [*WorkflowRunSerializer.Meta.fields, "definition", "signals", "steps"]
        read_only_fields = fields

    @extend_schema_field(StepRunSerializer(many=True))
    def get_steps(self, run):
        return StepRunSerializer(selectors.steps_of(run), many=True).data


class RunQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(RunState.choices, required=False)
    name = serializers.CharField(max_length=120, required=False)


class CreateRunSerializer(serializers.Serializer):
    definition = serializers.JSONField(
        help_text="A registered workflow's name, a definition (mapping), or JSON/YAML text."
    )
    input = serializers.DictField(required=False, default=dict)
    compensation_strategy = serializers.ChoiceField(Strategy.choices, required=False)


class SignalSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    payload = serializers.DictField(required=False, default=dict)
