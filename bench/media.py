"""Upload-to-ready time and the verifier's memory, for a 5 MB image and a 100 MB video.

Two measurements:

1. Through the local stack, as a client sees it (``python -m tools.devstack`` in its own process,
   started by the e2e tests' helper): ask for an upload URL, PUT the file from disk to it (moto's
   S3, streamed), then poll ``GET /v1/media/{id}`` until it is ready. Printed: the PUT's duration,
   and from the end of the PUT to ``ready`` (S3's notification, the media queue, the verifier).
2. The verifier's own memory: moto's server in a process of its own, the verifier handler invoked
   in this process on the real S3 notification, with tracemalloc tracing only this process. The
   peak is what the function allocates judging the file; it must not grow with the file (the
   function reads the header by range and copies inside S3).

    .venv/bin/python bench/media.py [--sizes 5,100] [--json]

Needs Pillow (requirements-dev.txt) for the image. Prints figures and exits 0 once it has them.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import requests  # noqa: E402

from tests import media_samples  # noqa: E402
from tests.e2e.stack import RunningStack  # noqa: E402

MB = 1_000_000
READY_TIMEOUT = 120


def sample(folder: Path, megabytes: int) -> tuple[Path, str]:
    """A real file of about that size: an image up to 20 MB, a video above."""
    if megabytes <= 20:
        path, content_type = folder / f"photo-{megabytes}mb.png", "image/png"
        path.write_bytes(media_samples.image("image/png", pad_to=megabytes * MB))
    else:
        path, content_type = folder / f"clip-{megabytes}mb.mp4", "video/mp4"
        with open(path, "wb") as out:  # written in pieces: the bench holds no 100 MB buffer
            head = media_samples.video("video/mp4", 1920, 1080, size=4096)
            out.write(head)
            remaining = megabytes * MB - len(head)
            block = b"\0" * (1 << 20)
            while remaining > 0:
                out.write(block[: min(len(block), remaining)])
                remaining -= len(block)
    return path, content_type


def through_the_stack(stack: RunningStack, path: Path, content_type: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack.state['test_key']}"}
    started = time.perf_counter()
    ticket = requests.post(
        f"{stack.base_url}/v1/media/upload",
        headers=headers,
        timeout=30,
        json={"filename": path.name, "content_type": content_type, "size": path.stat().st_size},
    ).json()["data"]
    with open(path, "rb") as body:  # requests streams a file object
        put = requests.put(ticket["upload_url"], data=body, headers=ticket["upload_headers"], timeout=300)
    put.raise_for_status()
    uploaded = time.perf_counter()
    while time.perf_counter() - uploaded < READY_TIMEOUT:
        media = requests.get(f"{stack.base_url}/v1/media/{ticket['id']}", headers=headers, timeout=30).json()["data"]
        if media["status"] != "pending":
            break
        time.sleep(0.05)
    ready = time.perf_counter()
    return {
        "status": media["status"],
        "bytes": path.stat().st_size,
        "put_seconds": round(uploaded - started, 3),
        "put_to_ready_seconds": round(ready - uploaded, 3),
        "total_seconds": round(ready - started, 3),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def verifier_memory(path: Path, content_type: str) -> dict[str, Any]:
    """The verifier handler's peak allocation while it judges one upload of this file."""
    port = _free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(endpoint, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        from tools.emulated_aws import use_fake_credentials

        use_fake_credentials(os.environ)
        os.environ.update({"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"})
        from chalicelib import container
        from chalicelib.settings import Settings
        from tools.provision import provision

        provisioned = provision("openpost-bench", "us-east-1", endpoint)
        os.environ.update(provisioned.environment())  # as the function's environment would be
        services = container.Services(Settings.from_environ(os.environ))
        container.use(services)
        workspace = services.workspaces.create("Bench")
        principal = services.api_keys.authenticate(f"Bearer {workspace.test_key}")
        from tests.integration.lambda_runtime import LambdaRuntime

        runtime = LambdaRuntime(provisioned)

        def uploaded(source: Path):
            media, url = services.media.request_upload(principal, source.name, content_type, source.stat().st_size)
            with open(source, "rb") as body:
                requests.put(
                    url, data=body, headers={"Content-Type": content_type, "Content-Length": str(source.stat().st_size)}
                ).raise_for_status()
            return media, [m for m in runtime.receive("media") if "Records" in m["Body"]]

        # A warm container: the first invocation's imports are a cold start's cost, not the file's.
        warm = path.with_name("warm-" + path.name)
        sample_bytes = (
            media_samples.image("image/png")
            if content_type.startswith("image/")
            else media_samples.video(content_type, size=10_000)
        )
        warm.write_bytes(sample_bytes)
        runtime.deliver("media", uploaded(warm)[1])
        media, messages = uploaded(path)
        tracemalloc.start()
        started = time.perf_counter()
        runtime.deliver("media", messages)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        status = services.media.get(principal, media.id).status
        return {"status": status, "verify_seconds": round(seconds, 3), "peak_allocated_mb": round(peak / MB, 2)}
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="5,100", help="file sizes in MB, comma separated")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        files = {size: sample(Path(folder), size) for size in sizes}
        stack = RunningStack(Path(folder) / "stack").wait_until_ready()
        try:
            for size in sizes:
                results[f"{size}MB"] = through_the_stack(stack, *files[size])
        finally:
            stack.stop()
        for size in sizes:
            results[f"{size}MB"].update(verifier_memory(*files[size]))
    if options.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'file':>6} {'status':>7} {'PUT s':>7} {'PUT→ready s':>12} {'verify s':>9} {'verifier peak MB':>17}")
    for name, row in results.items():
        print(
            f"{name:>6} {row['status']:>7} {row['put_seconds']:>7} {row['put_to_ready_seconds']:>12} "
            f"{row['verify_seconds']:>9} {row['peak_allocated_mb']:>17}"
        )


if __name__ == "__main__":
    main()
