"""The one way our data classes hold an AWS client: made on first use, from a factory they are given.

Building a botocore client costs tens of milliseconds; a request that never touches a queue or the
bucket should not pay for one, and tests hand in a factory of their own.
"""

from __future__ import annotations

from collections.abc import Callable


class LazyClient:
    def __init__(self, client_factory: Callable[[], object]):
        self._client_factory = client_factory
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = self._client_factory()
        return self._client
