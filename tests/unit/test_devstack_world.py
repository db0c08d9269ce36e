"""The saved local world is read back only when it fits: a file from another shape of the catalog
(a pull added a table) or an unreadable one is set aside, and the stack starts empty."""

from __future__ import annotations

import pickle

from tools import devstack_world


def test_a_saved_world_reads_back(tmp_path):
    path = tmp_path / "world.pickle"
    assert devstack_world.save(path, {"seeded": "keys"}) > 0
    assert (path.stat().st_mode & 0o777) == 0o600  # it holds keys and sealed tokens
    assert devstack_world.load(path)["seeded"] == "keys"


def test_a_world_of_another_shape_is_set_aside(tmp_path):
    path = tmp_path / "world.pickle"
    devstack_world.save(path, {})
    world = pickle.loads(path.read_bytes())
    path.write_bytes(pickle.dumps({**world, "shape": "an older catalog"}))
    assert devstack_world.load(path) is None
    assert not path.exists() and path.with_name("world.pickle.unreadable").exists()


def test_an_unreadable_world_is_set_aside(tmp_path):
    path = tmp_path / "world.pickle"
    path.write_bytes(b"not a pickle")
    assert devstack_world.load(path) is None
    assert path.with_name("world.pickle.unreadable").read_bytes() == b"not a pickle"
    assert devstack_world.load(path) is None  # and nothing to read next time
