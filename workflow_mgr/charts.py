"""The run page's step timeline: a Gantt of its step runs (actions and compensations),
one bar per step run from its start to its end (now, while it runs), coloured by state
(tenancy/console_charts.py draws it, or says what will fill it)."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.console_charts import MUTED, PRIMARY, Chart, chart, styled
from workflow_mgr.models import Phase, StepState

COLOURS = {
    StepState.SUCCEEDED: "#16a34a",
    StepState.FAILED: "#dc2626",
    StepState.RUNNING: PRIMARY,
    StepState.WAITING: "#d97706",
    StepState.PENDING: MUTED,
    StepState.CANCELLED: MUTED,
    StepState.SKIPPED: MUTED,
}


def step_timeline(steps) -> Chart:
    now = timezone.now()
    drawn = [s for s in steps if s.started_at]
    figure = None
    if drawn:
        labels, bases, widths, colours, texts = [], [], [], [], []
        for step in drawn:
            end = step.finished_at or now
            phase = _("undo") if step.phase == Phase.COMPENSATION else ""
            labels.append(f"{step.name} {phase}".strip())
            bases.append(step.started_at.isoformat())
            widths.append(max(1.0, (end - step.started_at).total_seconds() * 1000))
            colours.append(COLOURS.get(step.state, MUTED))
            texts.append(f"{step.get_state_display()}, {step.attempts}×")
        figure = go.Figure(
            go.Bar(
                y=labels,
                base=bases,
                x=widths,
                orientation="h",
                marker={"color": colours},
                text=texts,
                textposition="inside",
                hovertemplate="%{y}: %{text}<extra></extra>",
            )
        )
        styled(figure, showlegend=False)
        figure.update_xaxes(type="date")
        figure.update_yaxes(autorange="reversed", rangemode="normal")
    return chart(
        "steps",
        _("Step timeline"),
        figure,
        empty=_("No step has started yet: the timeline fills as the run's steps begin."),
        height=max(200, 48 * len(drawn) + 80),
    )
