"""Page-number pagination whose parameters are checked, not guessed: `page` is a positive
integer (or `last`), `page_size` an integer from 1 to `max_page_size`. Anything else is a
400 naming the parameter; a page beyond the last is a 404 saying which page is last."""

from django.core.paginator import InvalidPage
from rest_framework.pagination import PageNumberPagination

from tenancy.api.error_types import PageNotFound, TenantAPIError

# Page numbers beyond this cannot hold rows of any realistic table; refusing them keeps
# Django's paginator from multiplying huge integers into an OFFSET the database refuses.
MAX_PAGE_NUMBER = 10**9


def _positive_int(raw: str, upper: int) -> int | None:
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(upper)):
        return None
    value = int(raw)
    return value if 1 <= value <= upper else None


class TenantPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":  # an empty parameter is an absent one, as for page
            return self.page_size
        size = _positive_int(raw, self.max_page_size)
        if size is None:
            raise TenantAPIError(
                400,
                "invalid_page_size",
                f"page_size must be an integer from 1 to {self.max_page_size}.",
            )
        return size

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None or raw == "":
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        number = _positive_int(raw, MAX_PAGE_NUMBER)
        if number is None:
            raise TenantAPIError(
                400, "invalid_page", "page must be a positive integer (1, 2, ...) or 'last'."
            )
        return number

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(number)
        except InvalidPage:
            raise PageNotFound(
                f"Page {number} does not exist: the last page is {paginator.num_pages}."
            ) from None
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(self.page)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
                parameter["description"] = (
                    f"Number of results to return per page (1 to {self.max_page_size}, "
                    f"default {self.page_size})."
                )
        return parameters
