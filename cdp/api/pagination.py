from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """Page-number pagination with a total ``count``; clients may ask for up to 500 rows a page."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        # An unordered queryset pages inconsistently (rows skipped or repeated between pages).
        if hasattr(queryset, "ordered") and not queryset.ordered:
            raise AssertionError(f"{view.__class__.__name__} paginates an unordered queryset")
        return super().paginate_queryset(queryset, request, view)
