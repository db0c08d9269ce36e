"""A burst of scheduled posts in AWS, simulated: how late do they go out, and what limits it?

A small discrete-event simulation of the publishing path as deployed (docs/scale.md explains each
figure): the dispatcher's minute tick reads the sharded ``due`` index and, one post after another,
arms each post due within its horizon (a read, a write, a send) until its timeout; SQS holds each
message until the whole second before the post is due; the publish queue's event source mapping
scales publisher containers out (up to 300 more a minute, up to the concurrency the account or the
stack allows) and hands each an up to 5-message batch; a container runs its batch's records side by
side, each waiting out its last fraction of a second, then making its AWS calls and its platform call.

The costs fed in are per call and per target, from the local measurements (bench/throughput.py's AWS
calls per target, bench/cost.py's durations) scaled to in-region latencies; each is a flag. It prints
the burst's lateness (published minus scheduled) for the current settings and for the knobs that move
it. Run it with ``.venv/bin/python bench/scale_sim.py`` (``--burst``, ``--spread``, ``--json``); it takes
a few seconds.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Settings:
    burst: int = 50_000  # single-part targets (one post each) due within ``spread`` seconds
    spread: float = 60.0
    # The dispatcher (chalicelib/domain/dispatching.py, infrastructure/catalog.py).
    tick: float = 60.0
    horizon: float = 105.0  # TICK + MARGIN
    dispatcher_timeout: float = 50.0
    dispatcher_threads: int = 32  # DISPATCH_THREADS in chalicelib/domain/dispatching.py
    shards: int = 8
    # Per-call and per-target costs, in-region (see docs/scale.md for where each comes from).
    aws_call: float = 0.008  # a DynamoDB or SQS call from Lambda in the same region
    # Our own work per post armed (models, serialisation, botocore), on a full core: a local tick of
    # 100 posts took 3.3 s with moto's work in the same interpreter, so a few ms is an upper bound.
    dispatcher_cpu: float = 0.004
    dispatcher_vcpus: float = 512 / 1769  # Lambda gives a full vCPU at 1,769 MB; the dispatcher has 512
    publisher_calls_before: int = 3  # read the post, read the integration, claim (and mark in flight)
    publisher_calls_after: int = 4  # record the part and finish, the event, the notified mark, analytics
    publisher_cpu: float = 0.010  # our own work per target
    platform: float = 0.5  # the platform's answer to one post
    # The publish queue's event source mapping and Lambda.
    batch_size: int = 5
    initial_containers: int = 5
    scale_per_minute: int = 300
    max_concurrency: int = 1_000  # the account's default; the stack reserves none for the publisher
    early_wait_limit: float = 2.0  # a message this early waits in the worker (EARLY_SLEEP_LIMIT)


def dispatch_times(settings: Settings, due: list[float], rng: random.Random) -> list[float]:
    """When each post's message is sent: ticks on whole minutes before the burst, each reading every
    post due within its horizon, shard by shard in due order, and arming those not armed yet; a post
    armed before and not published yet (still in the index) is read again (one GetItem) and skipped.
    A tick stops at its timeout."""
    shard_of = [rng.randrange(settings.shards) for _ in due]
    order = sorted(range(len(due)), key=lambda i: (shard_of[i], due[i]))
    sent: list[float | None] = [None] * len(due)
    first_tick = -settings.horizon - settings.tick
    tick = math.floor(first_tick / settings.tick) * settings.tick
    cpu = settings.dispatcher_cpu / min(1.0, settings.dispatcher_vcpus)  # one interpreter: one core at most
    arm = 3 * settings.aws_call
    reread = settings.aws_call
    for _ in range(10_000):  # ticks; far more than any burst here needs
        if all(s is not None for s in sent):
            break
        lanes = [tick] * settings.dispatcher_threads  # each thread's clock
        core = tick  # when the interpreter is next free: threads overlap waits, not our own work
        ends = tick + settings.dispatcher_timeout
        for i in order:
            if due[i] > tick + settings.horizon:
                continue
            lane = min(range(len(lanes)), key=lanes.__getitem__)
            if sent[i] is not None and max(sent[i], due[i]) + 1 < lanes[lane]:
                continue  # published by now: it has left the due index
            cost = reread if sent[i] is not None else arm
            start = max(lanes[lane], core)
            if start + cpu + cost > ends:
                break  # the function's timeout: the rest waits for the next tick
            core = start + cpu
            lanes[lane] = core + cost
            if sent[i] is None:
                sent[i] = lanes[lane]
        tick += settings.tick
    return sent


def simulate(settings: Settings, seed: int = 7) -> dict:
    rng = random.Random(seed)
    due = sorted(rng.uniform(0, settings.spread) for _ in range(settings.burst))
    sent = dispatch_times(settings, due, rng)
    # SQS delays are whole seconds, ending at or before the post's time.
    visible = sorted((s + max(0, math.floor(d - s)), d) for s, d in zip(sent, due, strict=True))
    published: list[float] = []
    containers: list[float] = []  # when each container is next free (a heap)
    started_at = visible[0][0]
    running = 0
    next_message = 0
    peak = 0

    def allowed(now: float) -> int:
        minutes = max(0.0, (now - started_at) / 60)
        return min(settings.max_concurrency, settings.initial_containers + int(settings.scale_per_minute * minutes))

    for _ in range(settings.initial_containers):
        heapq.heappush(containers, started_at)
    running = settings.initial_containers
    while next_message < len(visible):
        now = heapq.heappop(containers)
        while running < allowed(now):  # the mapping scales out as the backlog lasts
            heapq.heappush(containers, now)
            running += 1
        peak = max(peak, running)
        if visible[next_message][0] > now:
            heapq.heappush(containers, visible[next_message][0])  # an idle poll until the next one
            continue
        batch = []
        while next_message < len(visible) and visible[next_message][0] <= now and len(batch) < settings.batch_size:
            batch.append(visible[next_message][1])
            next_message += 1
        before = settings.publisher_calls_before * settings.aws_call + settings.publisher_cpu
        after = settings.publisher_calls_after * settings.aws_call
        ends = now
        for due_at in batch:
            out = max(now + before, due_at) + settings.platform  # the claim, the wait, the platform
            published.append(out - due_at)
            ends = max(ends, out + after)
        heapq.heappush(containers, ends)
    lateness = sorted(published)

    def at(q: float) -> float:
        return round(lateness[min(len(lateness) - 1, int(q * len(lateness)))], 2)

    return {
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": round(lateness[-1], 2),
        "last_dispatched_after_burst_start_s": round(max(sent), 1),
        "peak_publisher_concurrency": peak,
    }


SCENARIOS = {
    "before: the dispatcher arming one post at a time": {"dispatcher_threads": 1},
    "today: dispatcher 32 threads, batches of 5, no concurrency cap": {},
    "publisher max concurrency 300": {"max_concurrency": 300},
    "batches of 10": {"batch_size": 10},
    "dispatcher at 1,769 MB (one full vCPU), batches of 10": {"dispatcher_vcpus": 1.0, "batch_size": 10},
    "burst due in one second": {"spread": 1.0},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=Settings.burst)
    parser.add_argument("--spread", type=float, default=Settings.spread, help="seconds the burst is due over")
    parser.add_argument("--platform", type=float, default=Settings.platform, help="a platform call's seconds")
    parser.add_argument("--aws-call", type=float, default=Settings.aws_call, help="an in-region AWS call's seconds")
    parser.add_argument("--dispatcher-cpu", type=float, default=Settings.dispatcher_cpu, help="s per post, full core")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base = Settings(
        burst=args.burst,
        spread=args.spread,
        platform=args.platform,
        aws_call=args.aws_call,
        dispatcher_cpu=args.dispatcher_cpu,
    )
    results = {name: simulate(replace(base, **change)) for name, change in SCENARIOS.items()}
    if args.json:
        print(json.dumps({"settings": base.__dict__, "results": results}, indent=2))
        return 0
    print(
        f"{base.burst} single-part targets due over {base.spread:.0f} s; platform call {base.platform} s, "
        f"AWS call {base.aws_call * 1000:.0f} ms; lateness = published - scheduled, seconds"
    )
    print(f"{'scenario':<64}{'p50':>8}{'p90':>8}{'p99':>9}{'max':>9}{'dispatched by':>15}{'peak conc.':>12}")
    for name, result in results.items():
        print(
            f"{name:<64}{result['p50']:>8}{result['p90']:>8}{result['p99']:>9}{result['max']:>9}"
            f"{result['last_dispatched_after_burst_start_s']:>14}s{result['peak_publisher_concurrency']:>12}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
