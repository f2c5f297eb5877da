"""Routes for privacy (pseudonymize, export), duplicate suggestions and merges."""

from rest_framework.routers import SimpleRouter

from customers.api import merge, privacy

router = SimpleRouter(trailing_slash=True)
router.register("customers", privacy.CustomerPrivacyViewSet, basename="customer-privacy")
router.register("customers", merge.CustomerMergeActionViewSet, basename="customer-merge")
router.register("merges", merge.CustomerMergeViewSet, basename="merge")
router.register("duplicates", merge.DuplicateCandidateViewSet, basename="duplicate")

urlpatterns = router.urls
