"""Base viewsets: every list is paginated, ordered and filterable; unsafe querysets are loud."""

from rest_framework import mixins, viewsets


class BaseViewSetMixin:
    """Views must order their lists (``ordering``) so that pages are stable."""

    ordering_fields = "__all__"

    def get_queryset(self):
        queryset = super().get_queryset()
        if not queryset.ordered:
            ordering = getattr(self, "ordering", None)
            if not ordering:
                raise AssertionError(f"{self.__class__.__name__} must declare `ordering`")
            queryset = queryset.order_by(*([ordering] if isinstance(ordering, str) else ordering))
        return queryset


class ReadOnlyViewSet(BaseViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ModelViewSet(BaseViewSetMixin, viewsets.ModelViewSet):
    pass


class ListCreateRetrieveDestroyViewSet(
    BaseViewSetMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    pass
