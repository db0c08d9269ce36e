"""The whole of openpost on this machine: ``make run`` (``python -m tools.devstack``).

AWS is moto's server on a free loopback port, with every resource created from the catalog
(tools/provision.py). The HTTP API is the Chalice app served by Chalice's local server; schedules and
queue messages, which moto never fires, are delivered to the very handlers Lambda runs. A workspace
is seeded, and its keys are printed and written to a state file for scripts and tests.

``LocalStack`` is the reusable part (``start()``/``stop()``); ``main()`` is the command around it.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tools.emulated_aws import FAKE_CREDENTIALS, FOREIGN

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_STATE_FILE = Path(".openpost/local.json")
WORLD_FILE_NAME = "world.pickle"  # beside the state file: what a restart brings back
RESOURCE_PREFIX = "openpost-local"
REGION = "us-east-1"

log = logging.getLogger("devstack")

# Containers per queue consumer, each polling on its own, as Lambda scales an event source mapping
# out: the publisher's and the webhook sender's. The other consumers keep Powertools' processor in
# their module, so they run one container. Two fits a 2-core machine: their work is mostly waiting.
DEFAULT_CONCURRENCY = 2
CONCURRENT_QUEUES = ("publish", "events")


class PortUnavailable(Exception):
    pass


@dataclass
class SeededWorkspace:
    """The workspace a fresh world is seeded with; saved with the world, so its keys stay the same."""

    workspace_id: str
    test_key: str
    live_key: str


def devstack_world_restore(world: dict, endpoint_url: str):
    """moto's saved state back into this process's moto, and what was provisioned, pointed at the
    new endpoint (moto listens on a new port each start; queue URLs carry it)."""
    from chalicelib.data import models
    from tools import devstack_world

    devstack_world.restore_moto(world["moto"])
    provisioned = world["provisioned"]
    before = provisioned.endpoint_url
    provisioned.endpoint_url = endpoint_url
    for urls in (provisioned.queue_urls, provisioned.dlq_urls):
        for name, url in urls.items():
            urls[name] = url.replace(before, endpoint_url, 1)
    models.bind(lambda name: f"{RESOURCE_PREFIX}-{name}", REGION, endpoint_url)
    log.info("restored the saved world (posts, media, keys, integrations, scheduled work)")
    return provisioned


def report_overdue(now) -> None:
    """Say which scheduled posts came due while the stack was down: the dispatcher's first tick, at
    start-up, publishes them now."""
    from chalicelib.data.posts import PostStore

    store = PostStore()
    for scope, post_id in store.due(now):
        post = store.get(scope, post_id)
        late = now - post.scheduled_at
        minutes, seconds = divmod(int(late.total_seconds()), 60)
        hours, minutes = divmod(minutes, 60)
        log.info(
            "post %s was due at %s, while the stack was down: publishing it now, %dh %02dm %02ds late",
            post_id,
            post.scheduled_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            hours,
            minutes,
            seconds,
        )


@dataclass
class LocalState:
    """What a client needs to talk to the running stack; written to the state file as JSON."""

    base_url: str
    workspace_id: str
    test_key: str
    live_key: str
    aws_endpoint_url: str
    region: str
    resource_prefix: str
    queue_urls: dict[str, str] = field(default_factory=dict)
    dead_letter_queue_urls: dict[str, str] = field(default_factory=dict)


class LocalStack:
    """moto, the HTTP API, the schedules and the queue pollers, started and stopped together.

    It sets the process environment the functions read (as Lambda would), and restores it on stop.
    """

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        state_file: Path | None = DEFAULT_STATE_FILE,
        world_file: Path | None = None,
        fresh: bool = False,
        concurrency: int = DEFAULT_CONCURRENCY,
    ):
        if concurrency < 1:
            raise ValueError("concurrency is at least 1")
        self.port = port
        self.concurrency = concurrency
        self.state_file = state_file
        # Where the world is saved on stop and restored from on start (None: it lives in memory only).
        self.world_file = world_file
        self.fresh = fresh
        self.restored = False
        self._provisioned = None
        self.state: LocalState | None = None
        self._stop = threading.Event()
        self._invocation_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._moto = None
        self._http = None
        self._saved_environment: dict[str, str | None] = {}

    def start(self) -> LocalState:
        """Start everything; returns once the API answers and the state file is written."""
        self._stop.clear()
        base_url = f"http://{HOST}:{self.port}"
        self._set_environment(_base_environment(os.environ.get("OPENPOST_PUBLIC_BASE_URL") or base_url))
        if self.state_file is not None and self.state_file.exists():
            self.state_file.unlink()  # a file left by a stack that died holds dead keys

        import app as app_module  # after the environment: Powertools reads it at import
        from infrastructure import catalog
        from tools.devstack_http import LocalHttpApi

        api = self._local_function(catalog.API.name, app_module.app, catalog.API.timeout, catalog.API.memory_mb)
        try:  # bound first, so a taken port fails before anything else starts
            self._http = LocalHttpApi(app_module.app, HOST, self.port, self._invocation_lock, api.new_context)
        except OSError as error:
            raise PortUnavailable(f"cannot serve on {HOST}:{self.port}: {error.strerror or error}") from error
        world = self._saved_world()
        endpoint_url = self._start_moto()

        from chalicelib import container
        from chalicelib.settings import Settings, get_settings
        from tools.provision import provision

        if world is None:
            provisioned = provision(RESOURCE_PREFIX, REGION, endpoint_url)
        else:
            provisioned = devstack_world_restore(world, endpoint_url)
            self.restored = True
        self._provisioned = provisioned
        _put_local_app_credentials(provisioned, os.environ)
        self._set_environment(provisioned.environment())
        get_settings.cache_clear()
        container.use(container.Services(Settings.from_environ(os.environ)))
        if world is None:
            created = container.services().workspaces.create("Local workspace")
            seeded = SeededWorkspace(created.workspace.id, created.test_key, created.live_key)
        else:
            seeded = world["seeded"]
            report_overdue(container.services().clock.now())

        self._http.start()
        _wait_until_healthy(base_url)
        self._start_deliveries(app_module.app, provisioned.queue_urls, endpoint_url)
        self.state = LocalState(
            base_url=base_url,
            workspace_id=seeded.workspace_id,
            test_key=seeded.test_key,
            live_key=seeded.live_key,
            aws_endpoint_url=endpoint_url,
            region=REGION,
            resource_prefix=RESOURCE_PREFIX,
            queue_urls=dict(provisioned.queue_urls),
            dead_letter_queue_urls=dict(provisioned.dlq_urls),
        )
        if self.state_file is not None:
            _write_private_json(self.state_file, asdict(self.state))
        return self.state

    def stop(self) -> None:
        """Stop everything that started, in reverse order; safe to call after a partial start."""
        self._stop.set()
        if self._http is not None:
            self._http.stop()
            self._http = None
        for thread in self._threads:
            thread.join(timeout=5)  # a poller finishes its handler call and its delete first
        self._threads.clear()
        if self._moto is not None and self.world_file is not None and self.state is not None:
            self._save_world()
        if self._moto is not None:
            self._moto.stop()
            server = getattr(self._moto, "_server", None)  # moto stops serving but keeps the socket
            if server is not None:
                server.server_close()
            self._moto = None
        if self.state_file is not None and self.state_file.exists():
            self.state_file.unlink()  # the keys in it died with moto
        from chalicelib import container
        from chalicelib.settings import get_settings

        container.use(None)
        get_settings.cache_clear()
        self._restore_environment()

    def _saved_world(self) -> dict | None:
        from tools import devstack_world

        if self.world_file is None:
            return None
        if self.fresh and self.world_file.exists():
            self.world_file.unlink()
            log.info("starting empty (--fresh): the saved world is deleted")
        return devstack_world.load(self.world_file)

    def _save_world(self) -> None:
        from tools import devstack_world

        started = time.monotonic()
        seeded = SeededWorkspace(self.state.workspace_id, self.state.test_key, self.state.live_key)
        size = devstack_world.save(self.world_file, {"provisioned": self._provisioned, "seeded": seeded})
        log.info("saved the world to %s (%d KB in %.2f s)", self.world_file, size // 1024, time.monotonic() - started)

    def _start_moto(self) -> str:
        from moto.server import ThreadedMotoServer

        # moto's own server logs every request (each queue poll): only its warnings are wanted.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._moto = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        endpoint_url = f"http://{host}:{port}"
        # moto keeps its state in the process, not the server: a stack started before in this
        # process (a test) would have left its tables and queues behind.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST"), timeout=10)
        log.info("moto is serving AWS on %s", endpoint_url)
        return endpoint_url

    def _start_deliveries(self, app, queue_urls: dict[str, str], endpoint_url: str) -> None:
        from infrastructure import catalog
        from tools import devstack_events
        from tools.devstack_delivery import QueuePoller, ScheduleTrigger
        from tools.devstack_lambda import find_handler

        functions = {
            spec.name: self._local_function(spec.name, find_handler(app, spec.name), spec.timeout, spec.memory_mb)
            for spec in catalog.FUNCTIONS
        }
        for schedule in catalog.SCHEDULES:
            rule = devstack_events.rule_arn(REGION, f"{RESOURCE_PREFIX}-{schedule.name}")
            self._threads.append(ScheduleTrigger(schedule, functions[schedule.function], rule, REGION, self._stop))
        for queue in catalog.QUEUES:
            if queue.consumer is None:
                continue
            containers = self.concurrency if queue.name in CONCURRENT_QUEUES else 1
            for number in range(containers):
                # Lambda runs a queue's batches side by side, each container with its own state;
                # so do these, or one post waiting out its second would hold up every other.
                function = (
                    functions[queue.consumer]
                    if number == 0 and containers == 1
                    else self._local_function(
                        queue.consumer,
                        find_handler(app, queue.consumer),
                        catalog.function(queue.consumer).timeout,
                        catalog.function(queue.consumer).memory_mb,
                        own_container=True,
                    )
                )
                self._threads.append(
                    QueuePoller(queue, function, queue_urls[queue.name], REGION, endpoint_url, self._stop)
                )
        for thread in self._threads:
            thread.start()

    def _local_function(self, name: str, handler, timeout_seconds: int, memory_mb: int, own_container=False):
        from infrastructure import catalog
        from tools.devstack_lambda import LocalFunction

        # One invocation at a time per function, as one Lambda container runs one request: the
        # dispatcher's tick never holds up the publisher, which in AWS runs in its own containers.
        lock = self._invocation_lock if name == catalog.API.name else threading.Lock()
        return LocalFunction(
            name,
            handler,
            deployed_name=f"{RESOURCE_PREFIX}-{name}",
            timeout_seconds=timeout_seconds,
            memory_mb=memory_mb,
            region=REGION,
            lock=lock,
            serving=own_container_state() if own_container else None,
        )

    def _set_environment(self, values: dict[str, str | None]) -> None:
        for name, value in values.items():
            self._saved_environment.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment.clear()


def _wait_until_healthy(base_url: str, timeout: float = 20.0) -> None:
    """The start-up check: GET /v1/health answers 200 (the API runs and reads its table)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/v1/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the local API is not healthy: {error}") from error
        time.sleep(0.1)


def _base_environment(public_base_url: str) -> dict[str, str | None]:
    """Fake credentials, so nothing can reach real AWS, and the settings a deployment also sets."""
    from infrastructure.catalog import RUNTIME_ENVIRONMENT

    return {
        **FAKE_CREDENTIALS,
        **{name: None for name in FOREIGN},
        "OPENPOST_STAGE": "local",
        "OPENPOST_PUBLIC_BASE_URL": public_base_url,
        **RUNTIME_ENVIRONMENT,
        # Left as the developer set them: metrics would print a JSON blob per request, and X-Ray
        # has no daemon here.
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
        "POWERTOOLS_TRACE_DISABLED": os.environ.get("POWERTOOLS_TRACE_DISABLED", "true"),
        # The local-development switch: media URLs in posts may point at this machine (a file
        # server beside the stack). Private, link-local and metadata addresses stay refused.
        "OPENPOST_ALLOW_LOOPBACK_MEDIA_URLS": os.environ.get("OPENPOST_ALLOW_LOOPBACK_MEDIA_URLS", "true"),
        # The same for webhooks: http and loopback receivers (a test server beside the stack).
        "OPENPOST_ALLOW_LOCAL_WEBHOOKS": os.environ.get("OPENPOST_ALLOW_LOCAL_WEBHOOKS", "true"),
    }


def local_app_variable(platform: str, name: str) -> str:
    """Where a developer gives the local stack a platform app's credential ("twitter", "client_id" ->
    OPENPOST_LOCAL_TWITTER_CLIENT_ID)."""
    return f"OPENPOST_LOCAL_{platform.upper()}_{name.upper()}"


def _put_local_app_credentials(provisioned, environ) -> None:
    """Local development only: a platform app's credentials in this shell's environment go into
    its secret in moto, where the functions read them, as they read the deployment's from Secrets
    Manager. The functions themselves never read them from the environment."""
    from chalicelib.platforms.app_credentials import APP_CREDENTIALS
    from tools.provision import put_app_credentials

    for platform, names in APP_CREDENTIALS.items():
        values = {name: environ.get(local_app_variable(platform, name), "") for name in names}
        if all(values.values()):
            put_app_credentials(provisioned, platform, values)
            log.info("the %s app's credentials are in its local secret", platform)
        elif any(values.values()):
            log.warning(
                "the %s app needs all of %s; it stays unconfigured",
                platform,
                ", ".join(local_app_variable(platform, name) for name in names),
            )


def _write_private_json(path: Path, data: dict) -> None:
    """Written whole, then renamed into place: a reader polling for the file never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds API keys
    with os.fdopen(descriptor, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.replace(partial, path)


def banner(state: LocalState, state_file: Path | None, seconds: float) -> str:
    from infrastructure import catalog

    schedules = ", ".join(f"{s.name} → {s.function} every {s.rate_minutes} min" for s in catalog.SCHEDULES)
    queues = ", ".join(f"{q.name} → {q.consumer}" for q in catalog.QUEUES if q.consumer)
    lines = [
        "",
        f"openpost is running locally (started in {seconds:.1f} s)",
        f"  API          {state.base_url}",
        f"  AWS (moto)   {state.aws_endpoint_url}",
        f"  Workspace    {state.workspace_id}",
        f"  Test key     {state.test_key}",
        f"  Live key     {state.live_key}",
        f"  State file   {state_file or '(none)'}",
        f"  World        {state_file.with_name(WORLD_FILE_NAME) if state_file else '(in memory)'}"
        " (saved on Ctrl-C, restored on start; make run ARGS=--fresh starts empty)",
        f"  Schedules    {schedules}",
        f"  Queues       {queues}",
        "",
        "Try it:",
        f'  curl -H "Authorization: Bearer {state.test_key}" {state.base_url}/v1/integrations',
        "",
        "Press Ctrl-C to stop.",
        "",
    ]
    return "\n".join(lines)


def own_container_state():
    """Enters a container's own ``Services`` (built on its first invocation, kept while it lives)."""
    from chalicelib import container
    from chalicelib.settings import Settings

    state = None

    def serving():
        nonlocal state
        if state is None:
            state = container.Services(Settings.from_environ(os.environ))
        return container.serving(state)

    return serving


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.devstack",
        description="Run openpost on this machine, AWS emulated by moto.",
        epilog="Set OPENPOST_PUBLIC_BASE_URL to hand out another base URL (a tunnel, for OAuth callbacks), and "
        "OPENPOST_LOCAL_TWITTER_CLIENT_ID and OPENPOST_LOCAL_TWITTER_CLIENT_SECRET to connect real X accounts; "
        "POWERTOOLS_METRICS_DISABLED=false prints metrics.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP API port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--state-file",
        type=Path,
        default=DEFAULT_STATE_FILE,
        help=f"where to write the URL and keys as JSON (default {DEFAULT_STATE_FILE})",
    )
    parser.add_argument("--fresh", action="store_true", help="start with an empty world (the saved one is deleted)")
    parser.add_argument(
        "--world-file",
        type=Path,
        help="where the world is saved on stop and restored from on start (default: world.pickle beside "
        "the state file)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="concurrent invocations (containers) of the publisher and the webhook sender, each with its own "
        f"state, as Lambda scales out (default {DEFAULT_CONCURRENCY}, for a small machine)",
    )
    args = parser.parse_args(argv)

    sys.stdout.reconfigure(line_buffering=True)  # handler logs show up at once, even through a pipe
    _configure_logging()
    # SIGTERM (docker stop, a supervisor) ends the stack exactly as Ctrl-C does. SIGINT is set too:
    # a shell without job control starts background commands with SIGINT ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    started = time.monotonic()
    world_file = args.world_file or args.state_file.with_name(WORLD_FILE_NAME)
    stack = LocalStack(
        port=args.port,
        state_file=args.state_file,
        world_file=world_file,
        fresh=args.fresh,
        concurrency=args.concurrency,
    )
    try:
        try:
            state = stack.start()
        except PortUnavailable as error:
            log.error("%s; choose another port with --port", error)
            return 1
        print(banner(state, args.state_file, time.monotonic() - started))
        forever = threading.Event()
        # Until a signal interrupts it. In short waits: Python runs a signal's handler in the main
        # thread only once that thread wakes, and the kernel may hand SIGINT to another thread.
        while not forever.wait(0.5):
            pass
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        stopping = time.monotonic()
        stack.stop()
        # Everything that could need cleaning has stopped; skip collecting the heap at exit
        # (seconds after a busy session).
        gc.freeze()
    log.info("stopped in %.1f s", time.monotonic() - stopping)
    return 0


def _configure_logging() -> None:
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("devstack: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


if __name__ == "__main__":
    sys.exit(main())
