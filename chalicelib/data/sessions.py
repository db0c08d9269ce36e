"""One botocore session per thread, shared by every AWS client we make.

PynamoDB gives each model its own botocore session, and each new session loads and parses the
service model again: about 0.1 s per table on a cold start. Sessions are not safe to share across
threads, so there is one per thread (Lambda has one; the local stack runs pollers in several).
"""

from __future__ import annotations

import threading

import botocore.session

_local = threading.local()


def botocore_session() -> botocore.session.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = botocore.session.get_session()
    return session


def client(service: str, region: str, endpoint_url: str | None):
    """A boto3-style client on this thread's shared session."""
    config = None
    if service == "s3":
        from botocore.config import Config

        # Presigned URLs must be SigV4 so that the headers we sign (content type and length) are
        # enforced by S3; SigV2 query signing would leave the length unsigned.
        config = Config(signature_version="s3v4")
    return botocore_session().create_client(service, region_name=region, endpoint_url=endpoint_url, config=config)


def share_with_pynamodb() -> None:
    import pynamodb.connection.base as pynamodb_base

    pynamodb_base.get_session = botocore_session
