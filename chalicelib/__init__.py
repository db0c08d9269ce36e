"""openpost: a self-hostable API for scheduling and cross-posting to social platforms."""

__version__ = "1.0.0"  # the API's version: GET /v1/health and the OpenAPI document say it
