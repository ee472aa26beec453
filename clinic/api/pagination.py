from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from clinic import inputs


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (max 200). A page number that is not a whole number from 1 is a bad
    query (400 with fields.page); a page past the last is 404 `not_found` (the contract's choice)."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw and raw not in self.last_page_strings and inputs.parse_whole_number(raw, default=0, maximum=10**9) < 1:
            raise ValidationError({self.page_query_param: ["Pages are numbered from 1."]})
        return super().get_page_number(request, paginator)
