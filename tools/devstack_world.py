"""The local stack's world on disk: moto's state (tables, media files, queues with their messages,
the KMS key, secrets) and what the stack provisioned and seeded, saved on stop and restored on start,
so posts, media, keys, integrations and scheduled work survive a restart of ``make run``.

moto has no persistence of its own; its server runs in this process, so its in-memory backends are
pickled as they are. Measured on moto 5.2.5: every backend pickles except two kinds of member, given
reducers here: SQS queues hold RLocks (recreated empty) and KMS keys hold cryptography private-key
objects (kept as PKCS#8 bytes). A fresh (empty) world pickles to ~100 KB in a few milliseconds.
"""

from __future__ import annotations

import copyreg
import io
import logging
import os
import pickle
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("devstack")

FORMAT = 1  # bumped when what is saved changes shape: an older file is then set aside, not misread


def _rlock() -> Any:
    return threading.RLock()


def _lock() -> Any:
    return threading.Lock()


def _private_key(der: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    return load_der_private_key(der, password=None)


def _reduce_private_key(key: Any) -> tuple:
    from cryptography.hazmat.primitives import serialization

    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return _private_key, (der,)


def _dispatch_table() -> dict:
    table = dict(copyreg.dispatch_table)
    table[type(threading.RLock())] = lambda _: (_rlock, ())
    table[type(threading.Lock())] = lambda _: (_lock, ())
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    for kind in (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey):
        for concrete in _concrete_types(kind):
            table[concrete] = _reduce_private_key
    return table


def _concrete_types(kind: type) -> list[type]:
    """The Rust-backed classes behind cryptography's abstract key types (pickle looks up exact types)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    samples = {
        rsa.RSAPrivateKey: lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
        ec.EllipticCurvePrivateKey: lambda: ec.generate_private_key(ec.SECP256R1()),
        ed25519.Ed25519PrivateKey: ed25519.Ed25519PrivateKey.generate,
    }
    return [type(samples[kind]())]


def catalog_fingerprint() -> str:
    """What the world's shape depends on: tables with their keys and indexes, queues, the bucket. A
    world saved under another shape (a pull added a table or an index) would lack it: not restored."""
    import hashlib
    import json

    from chalicelib.data import models
    from infrastructure import catalog

    tables = [
        [
            model.logical_name,
            sorted(getattr(model, "_indexes", {})),
            sorted(model.get_attributes()),
        ]
        for model in models.TABLE_MODELS
    ]
    queues = [[queue.name, queue.dlq_name, queue.consumer] for queue in catalog.QUEUES]
    shape = json.dumps({"tables": tables, "queues": queues}, sort_keys=True, default=str)
    return hashlib.sha256(shape.encode()).hexdigest()[:16]


def moto_state() -> dict[str, dict[str, dict[str, Any]]]:
    """Every moto service in use: service -> account -> region -> backend."""
    from moto.core.base_backend import BackendDict

    return {
        backends.service_name: {account: dict(regions) for account, regions in backends.items()}
        for backends in list(BackendDict._instances)
    }


def save(path: Path, extra: dict[str, Any]) -> int:
    """Pickle moto's state and ``extra`` to ``path`` (written whole, then renamed); returns bytes."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _dispatch_table()
    pickler.dump({"format": FORMAT, "shape": catalog_fingerprint(), "moto": moto_state(), **extra})
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # keys and tokens
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(buffer.getvalue())
    os.replace(partial, path)
    return len(buffer.getvalue())


def load(path: Path) -> dict[str, Any] | None:
    """The saved world, or None when there is none or it cannot be read (then set aside, not lost)."""
    if not path.exists():
        return None
    try:
        with open(path, "rb") as handle:
            world = pickle.load(handle)  # noqa: S301 (our own file, mode 0600, in the project folder)
        if world.get("format") != FORMAT:
            raise ValueError(f"format {world.get('format')}, not {FORMAT}")
        if world.get("shape") != catalog_fingerprint():
            raise ValueError("the tables or queues changed since it was saved")
        return world
    except Exception as error:  # noqa: BLE001 (any unreadable file: start empty, keep the file)
        aside = path.with_name(path.name + ".unreadable")
        os.replace(path, aside)
        log.warning("the saved world could not be read (%s); starting empty, it is kept as %s", error, aside)
        return None


def restore_moto(state: dict[str, dict[str, dict[str, Any]]]) -> None:
    from moto.backends import get_backend

    for service, accounts in state.items():
        try:
            backends = get_backend(service)
        except Exception as error:  # noqa: BLE001 (a service this moto no longer has: its state is dropped)
            log.warning("moto has no %s service to restore (%s)", service, error)
            continue
        for account, regions in accounts.items():
            for region, backend in regions.items():
                backends[account][region] = backend
