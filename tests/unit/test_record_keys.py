"""Bluesky record keys of two targets made in the same millisecond must not collide: each target
carries a random salt, made with it and kept for its life, that its record keys mix in."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from chalicelib.clock import SystemClock
from chalicelib.domain.post_rules import Problems, resolve_targets
from chalicelib.domain.posts import Post, Target
from chalicelib.domain.records import Integration
from chalicelib.platforms.bluesky import record_key

MILLIS = 1_777_636_800_000  # one millisecond, shared by every target below


def _target_id(n: int) -> str:
    """A UUIDv7 of that millisecond, as uuid7() would make (random bits: the counter)."""
    return str(uuid.UUID(int=(MILLIS << 80) | (0x7 << 76) | (0b10 << 62) | (n * 0x9E3779B97F4A7C15 % (1 << 62))))


def _two_targets_whose_unsalted_keys_collide() -> tuple[str, str]:
    first_with = {}
    for n in itertools.count():
        target_id = _target_id(n)
        key = record_key(f"{target_id}:0")
        if key in first_with:
            return first_with[key], target_id
        first_with[key] = target_id


def test_two_targets_of_one_millisecond_whose_keys_collided_get_distinct_keys():
    one, other = _two_targets_whose_unsalted_keys_collide()
    assert uuid.UUID(one).int >> 80 == uuid.UUID(other).int >> 80 == MILLIS
    assert record_key(f"{one}:0") == record_key(f"{other}:0")  # the weakness, without a salt
    post = _post()
    salted = [resolve_targets(post, [_bluesky()], Problems(), SystemClock())[0] for _ in range(2)]
    salts = [target.key_salt for target in salted]
    assert all(salts) and salts[0] != salts[1]
    assert record_key(f"{one}:0", salts[0]) != record_key(f"{other}:0", salts[1])


def test_salted_keys_stay_stable_valid_tids_in_part_order_within_the_second():
    target_id = _target_id(1)
    keys = [record_key(f"{target_id}:{index}", "5eed") for index in range(3)]
    assert keys == [record_key(f"{target_id}:{index}", "5eed") for index in range(3)]
    assert keys == sorted(keys) and len(set(keys)) == 3
    for key in keys:
        assert len(key) == 13 and set(key) <= set("234567abcdefghijklmnopqrstuvwxyz")
        value = sum("234567abcdefghijklmnopqrstuvwxyz".index(c) << (60 - 5 * i) for i, c in enumerate(key))
        assert 0 <= (value >> 10) - MILLIS * 1000 < 1_000_000  # within the second after the target was made


def test_the_salt_is_kept_for_the_targets_life_and_stored_with_it():
    post = _post()
    made = resolve_targets(post, [_bluesky()], Problems(), SystemClock())
    again = resolve_targets(post, [_bluesky()], Problems(), SystemClock(), previous=made)  # an edit
    assert again[0].id == made[0].id and again[0].key_salt == made[0].key_salt
    assert Target.from_dict(made[0].as_dict()).key_salt == made[0].key_salt
    older = Target.from_dict({k: v for k, v in made[0].as_dict().items() if k != "key_salt"})
    assert older.key_salt is None  # a target stored before salts existed keeps its first keys
    assert record_key(f"{older.id}:0", older.key_salt) == record_key(f"{older.id}:0")


def _bluesky() -> Integration:
    return Integration(
        id="int_1",
        workspace_id="ws",
        mode="test",
        platform="bluesky",
        username="someone.bsky.social",
        display_name="Someone",
        status="active",
        created_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
        updated_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
        sandbox=True,
    )


def _post() -> Post:
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    return Post(
        id="p",
        workspace_id="ws",
        mode="test",
        status="draft",
        content="Hello",
        created_at=now,
        updated_at=now,
        platforms=["bluesky"],
    )
