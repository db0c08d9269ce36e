"""A workspace is written whole or not at all."""

from __future__ import annotations

import pytest

from chalicelib.data.models import ApiKeyRecord, IntegrationRecord, scope_of
from chalicelib.errors import ConflictError


def test_a_failed_creation_leaves_nothing_behind(services, workspace):
    store = services.workspaces._store
    keys = [services.api_keys.build(workspace.workspace.id, "test", "dup")[0]]
    with pytest.raises(ConflictError):
        # Same workspace id: the transaction's condition fails, so neither the key nor anything else lands.
        store.create(workspace.workspace, keys, [])
    assert ApiKeyRecord.count(keys[0].key_hash) == 0
    from chalicelib.domain.integrations import SANDBOX_ACCOUNTS

    assert IntegrationRecord.count(scope_of(workspace.workspace.id, "test")) == len(SANDBOX_ACCOUNTS)
