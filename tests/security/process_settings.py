"""Settings of the real processes the fault tests start (tests/security/processes.py).

The test settings, with what a deployment has and the test process does not: tasks go through
the broker (not run in the caller), and a broker key prefix of the test's own, so that workers
started by two test processes sharing one Redis never take each other's messages. The test
passes the database, Redis and this prefix in the environment."""

import os

from cdp.settings.test import *  # noqa: F401,F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": os.environ["CDP_FAULTS_BROKER_PREFIX"]}
# The reconciler looks at attempts older than this: the test kills the process that made one and
# runs the reconciler at once instead of waiting the production 10 minutes.
BILLING_RECONCILE_AFTER_MINUTES = 0
