"""Performance API: metrics ingest and query under /api/v1/metrics/, the seed's
`GET /performance/current` and `GET /performance/analytics?hours=24` (also under
/api/v1/performance/). `POST /performance/optimize` and the other insights are in
perf_mgr/api/insights.py.

Batch ingest answers 200 with `{"accepted": n, "rejected": [{"index", "code",
"reason"}]}` whenever at least one sample was stored (the client reads `rejected`), and
400 with the same list inside the error when none was."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from perf_mgr import analytics, query
from perf_mgr.actions import MAX_BATCH, do_ingest_batch
from perf_mgr.api import params
from perf_mgr.api import serializers as s
from perf_mgr.api.parsers import MetricsJSONParser
from perf_mgr.models import MetricSample, from_us, now_us
from tenancy.api.base import TenantAPIView
from tenancy.api.errors import TenantAPIError
from tenancy.api.pagination import TenantPagination
from tenancy.models import Role

DEFAULT_SPAN_S = 3600

QUERY_PARAMETERS = [
    OpenApiParameter(
        "name",
        {"type": "string", "pattern": "^[a-zA-Z_:][a-zA-Z0-9_:]{0,99}$"},
        required=True,
        description="The metric to read.",
    ),
    OpenApiParameter("since", str, description="ISO 8601 or epoch seconds; default until - 1h."),
    OpenApiParameter("until", str, description="ISO 8601 or epoch seconds; default now."),
    OpenApiParameter(
        "step",
        str,
        description="Aggregate per step (60, 5m, 1h; rounded up to whole minutes); "
        "without: raw samples.",
    ),
    OpenApiParameter(
        "label", str, many=True, description="name=value, repeatable: series having these."
    ),
]


def _num(value):
    return value if value is None else float(value)


class MetricsView(TenantAPIView):
    write_role = Role.MEMBER
    pagination_class = TenantPagination
    parser_classes = [MetricsJSONParser]

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            self._paginator = self.pagination_class()
        return self._paginator

    @extend_schema(request=s.BatchInSerializer, responses=s.BatchResultSerializer)
    def post(self, request, *args, **kwargs):
        data = request.data
        items = data.get("samples") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise TenantAPIError(400, "invalid", 'The body must be {"samples": [...]}.')
        if not items:
            raise TenantAPIError(400, "no_samples", "The batch holds no sample.")
        if len(items) > MAX_BATCH:
            raise TenantAPIError(400, "batch_too_large", f"At most {MAX_BATCH} samples per batch.")
        result = do_ingest_batch(items)
        if not result.accepted:
            return Response(
                {
                    "error": {
                        "code": "no_valid_sample",
                        "message": "No sample of the batch was stored; see rejected.",
                        "rejected": result.rejected,
                    }
                },
                status=400,
            )
        return Response({"accepted": result.accepted, "rejected": result.rejected})

    @extend_schema(parameters=QUERY_PARAMETERS, responses=s.MetricPointSerializer(many=True))
    def get(self, request, *args, **kwargs):
        q = request.query_params
        name = params.metric_name(q.get("name"))
        until = params.instant(q.get("until"), "until")
        end = now_us()
        until = end if until is None else until
        since = params.instant(q.get("since"), "since")
        since = until - DEFAULT_SPAN_S * 1_000_000 if since is None else since
        step = params.duration(q.get("step"), "step")
        wanted = params.labels(q.getlist("label"))
        try:
            rows = self._points(name, since, until, step, wanted, end)
        except query.QueryError as exc:
            raise TenantAPIError(400, exc.code, exc.message) from None
        except ValueError as exc:  # a label filter that is not a valid label
            raise TenantAPIError(400, "invalid_label", str(exc)) from None
        page = self.paginator.paginate_queryset(rows, request, view=self)
        return self.paginator.get_paginated_response(page)

    def _points(self, name, since, until, step, wanted, end) -> list:
        if step is None:
            query.make_window(since, until, now_us=end)  # the same checks as with a step
            found = {x.id: x for x in query.find_series(name, wanted)}
            samples = MetricSample.objects.filter(
                series_id__in=list(found), at_us__gte=since, at_us__lt=until
            ).order_by("-at_us", "-id")
            return _LazyRows(samples, found)
        series, win = query.series_over_time(name, since, until, step, wanted, now_us=end)
        rows = []
        for x, points in series:
            for start, agg in points:
                p50, p95, p99 = agg.quantiles([0.5, 0.95, 0.99])
                rows.append(
                    {
                        "labels": x.labels,
                        "t": from_us(start),
                        "count": agg.count,
                        "sum": agg.sum,
                        "avg": agg.avg,
                        "min": _num(agg.min),
                        "max": _num(agg.max),
                        "p50": p50,
                        "p95": p95,
                        "p99": p99,
                    }
                )
        return rows


class _LazyRows:
    """Raw samples as a sequence the paginator slices (one page's rows are loaded)."""

    def __init__(self, queryset, series):
        self.queryset, self.series = queryset, series

    def count(self):
        return self.queryset.count()

    def __len__(self):
        return self.count()

    def __getitem__(self, item):
        return [
            {"labels": self.series[r.series_id].labels, "t": from_us(r.at_us), "value": r.value}
            for r in self.queryset[item]
        ]


class PerformanceCurrentView(TenantAPIView):
    @extend_schema(responses=s.PerformanceBodySerializer)
    def get(self, request, *args, **kwargs):
        return Response(analytics.get_current_performance())


class PerformanceAnalyticsView(TenantAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "hours",
                {"type": "integer", "minimum": 1, "maximum": 2160},
                description="1 to 2160; default 24.",
            )
        ],
        responses=s.AnalyticsBodySerializer,
    )
    def get(self, request, *args, **kwargs):
        hours = params.hours(request.query_params.get("hours"))
        try:
            return Response(analytics.get_analytics(hours))
        except analytics.AnalyticsError as exc:
            raise TenantAPIError(400, exc.code, exc.message) from None
