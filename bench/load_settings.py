"""The production settings (DJANGO_ENV=production) plus the load benchmark's query counter (X-Queries)."""

from portal.settings import *  # noqa: F403
from portal.settings import MIDDLEWARE

BENCH_QUERY_COUNT = True
MIDDLEWARE = ["portal.bench_middleware.QueryCountMiddleware", *MIDDLEWARE]  # outermost: counts all
