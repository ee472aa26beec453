from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from clinic import inputs

MAX_NUMBER = 999_999_999  # nine digits: what inputs.parse_whole_number reads


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (max 200; more is capped). A page or page size that is not a whole number
    from 1 is a bad query (400 naming it); a page past the last is 404 `not_found` (the contract's choice)."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def _whole_number(self, request, name: str) -> None:
        raw = request.query_params.get(name)
        if raw is not None and inputs.parse_whole_number(raw, default=0, maximum=MAX_NUMBER) < 1:
            raise ValidationError({name: ["Give a whole number from 1."]})

    def get_page_number(self, request, paginator):
        self._whole_number(request, self.page_query_param)
        return super().get_page_number(request, paginator)

    def get_page_size(self, request):
        self._whole_number(request, self.page_size_query_param)
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {**parameter["schema"], "minimum": 1, "maximum": MAX_NUMBER}
        return parameters
