"""The local stack runs a function as Lambda would: several containers side by side, each with its
own state (the app's Services: clients and caches), each running one invocation at a time."""

from __future__ import annotations

import threading

from chalicelib import container
from tools.devstack import own_container_state
from tools.devstack_lambda import LocalFunction


def a_container(handler):
    return LocalFunction(
        "publisher",
        handler,
        deployed_name="openpost-local-publisher",
        timeout_seconds=60,
        memory_mb=1024,
        region="us-east-1",
        lock=threading.Lock(),
        serving=own_container_state(),
    )


def test_a_functions_containers_run_side_by_side_each_with_its_own_state(aws, monkeypatch):
    for name, value in aws.environment().items():
        monkeypatch.setenv(name, value)
    both_inside = threading.Barrier(2, timeout=10)  # passes only while two invocations run at once
    seen: dict[int, list[int]] = {0: [], 1: []}

    def handler(event, context):
        if event["together"]:
            both_inside.wait()
        seen[event["container"]].append(id(container.services()))
        return "ok"

    containers = [a_container(handler), a_container(handler)]
    results = [None, None]

    def invoke(number):
        results[number] = containers[number].invoke({"container": number, "together": True}, cause="test")

    threads = [threading.Thread(target=invoke, args=(number,)) for number in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.failed for r in results] == [False, False] and [r.result for r in results] == ["ok", "ok"]
    assert containers[0].invoke({"container": 0, "together": False}, cause="test").result == "ok"

    first, again = seen[0]
    assert first == again, "a container keeps its state between invocations"
    assert seen[1][0] != first, "each container has its own"
