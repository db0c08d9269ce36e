"""How much import time each openpost Lambda function pays on a cold start, next to `import boto3`.

Every sample is a fresh Python process that times its own imports with ``time.perf_counter()``, so
interpreter start-up is left out. Bytecode caches are warm (one discarded warm-up round writes them),
as they are in Lambda once the package is loaded. Samples of all measurements are interleaved, round
by round, so a busy moment on the machine hits them alike; boto3, which any function here has to
load anyway, is the yardstick.

    .venv/bin/python bench/cold_start.py [--runs 9] [--json]

This prints figures and always exits 0 once it has them: a missed target is news, not a crash.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from infrastructure.catalog import FUNCTIONS, RUNTIME_ENVIRONMENT  # noqa: E402  (needs ROOT on sys.path)
from tools.emulated_aws import FAKE_CREDENTIALS  # noqa: E402

# The goal for the HTTP API: its cold import (what Lambda's init pays) stays within this multiple of
# boto3's, so a first request is not kept waiting much longer than boto3 alone would make it.
API_TARGET = ("api-init", 1.3)

# Run in each child: import the modules named on the command line, in order, and print the time.
# Importing through importlib is what an `import` statement does; argv carries the names so nothing
# is pasted into code.
CHILD = """
import importlib, sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
for name in sys.argv[2:]:
    importlib.import_module(name)
print("cold-start-ms", (time.perf_counter() - started) * 1000)
"""


@dataclass(frozen=True)
class Measurement:
    key: str  # stable name, used in --json and API_TARGET
    functions: tuple[str, ...]  # the Lambda functions that pay this cost (none for the baseline)
    what: str  # what a reader of the table needs to know
    modules: tuple[str, ...]  # imported in this order and timed together


BASELINE = Measurement("boto3", (), "`import boto3` (baseline)", ("boto3",))

# What every function's first call does before its own work: read the settings (bench/first_use.py).
FIRST_USE = "bench.first_use"

# What a first authenticated API request imports lazily, read from chalicelib/container.py:
# Services.__init__ binds the models, Services.api_keys builds the store and the service that
# authenticate the caller, and Services.rate_limiter the counters it is then counted on. Keep this
# in step with that file.
FIRST_REQUEST_MODULES = (
    "chalicelib.container",
    FIRST_USE,
    "chalicelib.data.models",
    "chalicelib.data.api_keys",
    "chalicelib.domain.api_keys",
    "chalicelib.data.rate_limits",
    "chalicelib.domain.rate_limits",
)


def measurements() -> list[Measurement]:
    """Everything measured besides the baseline, in table order. Add new figures here."""
    workers = tuple(spec.name for spec in FUNCTIONS)
    result = [
        # Chalice puts every handler in app.py, so every function's init is the same import.
        Measurement("api-init", ("api",) + workers, "`import app` (Lambda init)", ("app",)),
        Measurement(
            "api-first-request",
            ("api",),
            "`import app` + first authenticated request",
            ("app",) + FIRST_REQUEST_MODULES,
        ),
    ]
    for name in workers:
        # Each worker's handler in app.py imports its implementation on the first invocation.
        result.append(
            Measurement(
                f"{name}-first-invocation",
                (name,),
                f"`import app` + settings + `chalicelib.workers.{name}` (first invocation)",
                ("app", FIRST_USE, f"chalicelib.workers.{name}"),
            )
        )
    # The publisher after its first Bluesky publish: the registry has then imported the Bluesky
    # adapter, and with it atproto (the row above is the publisher before it).
    result.append(
        Measurement(
            "publisher-after-bluesky",
            ("publisher",),
            "`import app` + settings + publisher + its first Bluesky publish (atproto)",
            ("app", FIRST_USE, "chalicelib.workers.publisher", "chalicelib.platforms.bluesky.adapter"),
        )
    )
    return result


# Lambda's limits on a deployment package (a .zip uploaded directly).
ZIPPED_LIMIT_MB, UNZIPPED_LIMIT_MB = 50, 250


def package_size() -> dict[str, float]:
    """Build the Lambda package as deployment does (`chalice package`, from the Linux wheels
    `make install` fetched, so nothing is downloaded) and measure it zipped and unzipped."""
    import tempfile
    import zipfile

    wheels = os.path.join(ROOT, ".cache", "lambda-wheels")
    env = {**child_environment(), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": wheels}
    with tempfile.TemporaryDirectory() as out:
        chalice = os.path.join(os.path.dirname(sys.executable), "chalice")
        done = subprocess.run([chalice, "package", out], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"chalice package failed:\n{done.stderr[-2000:]}")
        archive = os.path.join(out, "deployment.zip")
        with zipfile.ZipFile(archive) as opened:
            unzipped = sum(item.file_size for item in opened.infolist())
        return {
            "zipped_mb": round(os.path.getsize(archive) / 2**20, 1),
            "unzipped_mb": round(unzipped / 2**20, 1),
            "zipped_limit_mb": ZIPPED_LIMIT_MB,
            "unzipped_limit_mb": UNZIPPED_LIMIT_MB,
        }


def child_environment() -> dict[str, str]:
    """The environment a deployed function sees, as far as imports can tell."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_")  # nothing from this machine's AWS setup
        and key
        not in (
            "PYTHONDONTWRITEBYTECODE",  # Lambda reads bytecode caches
            "PYTHONPROFILEIMPORTTIME",  # -X importtime would slow every import
            "PYTHONPATH",
        )
    }  # only the repo, as in the package
    env.update(FAKE_CREDENTIALS)
    env.update(RUNTIME_ENVIRONMENT)  # what the stack sets on every function
    env.update({"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"})
    return env


def sample(modules: tuple[str, ...], env: dict[str, str]) -> float:
    """Import `modules` in a fresh interpreter; the milliseconds it took."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, ROOT, *modules], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"importing {', '.join(modules)} failed:\n{done.stderr}")
    # The last marked line: anything the imported code prints itself comes before it.
    marked = [line for line in done.stdout.splitlines() if line.startswith("cold-start-ms ")]
    return float(marked[-1].split()[1])


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: with 9 runs, p90 is the slowest run."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def run(everything: list[Measurement], runs: int) -> dict[str, list[float]]:
    # Measurements that import the same modules share samples: no need to pay for them twice.
    distinct = list(dict.fromkeys(m.modules for m in everything))
    env = child_environment()
    for modules in distinct:  # warm-up: writes bytecode caches and fills the OS page cache
        sample(modules, env)
    samples: dict[tuple[str, ...], list[float]] = {modules: [] for modules in distinct}
    for round_ in range(runs):
        print(f"round {round_ + 1}/{runs}", file=sys.stderr, flush=True)
        # Rotate the starting point so no measurement always runs right after the same neighbour.
        shift = round_ % len(distinct)
        for modules in distinct[shift:] + distinct[:shift]:
            samples[modules].append(sample(modules, env))
    return {m.key: samples[m.modules] for m in everything}


def summarise(everything: list[Measurement], runs: int, samples: dict[str, list[float]]) -> dict:
    baseline = statistics.median(samples[BASELINE.key])
    rows = []
    for m in everything:
        median = statistics.median(samples[m.key])
        rows.append(
            {
                "key": m.key,
                "functions": list(m.functions),
                "what": m.what,
                "modules": list(m.modules),
                "median_ms": round(median, 1),
                "p90_ms": round(percentile(samples[m.key], 0.9), 1),
                "ratio_to_boto3": round(median / baseline, 2),
                "samples_ms": [round(value, 1) for value in samples[m.key]],
            }
        )
    key, limit = API_TARGET
    ratio = next(row["ratio_to_boto3"] for row in rows if row["key"] == key)
    return {
        "runs": runs,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "measurements": rows,
        "target": {
            "measurement": key,
            "description": f"API function import at most {limit}x boto3",
            "limit": limit,
            "ratio": ratio,
            "met": ratio <= limit,
        },
    }


def markdown(summary: dict) -> str:
    lines = [
        f"Cold-start imports: median of {summary['runs']} fresh processes each "
        f"(Python {summary['python']}, {summary['cpus']} CPUs)",
        "",
        "| function | measured | median ms | p90 ms | x boto3 |",
        "|---|---|---:|---:|---:|",
    ]
    for row in summary["measurements"]:
        functions = ", ".join(row["functions"]) or "-"
        lines.append(
            f"| {functions} | {row['what']} | {row['median_ms']:.1f} | {row['p90_ms']:.1f} "
            f"| {row['ratio_to_boto3']:.2f} |"
        )
    target = summary["target"]
    verdict = "PASS" if target["met"] else "MISS"
    # The target is on init; the first request's figure is shown beside it because a caller waits
    # for both, but it is not judged: that request has to load the DynamoDB client whatever we do.
    first = next(row for row in summary["measurements"] if row["key"] == "api-first-request")
    lines += [
        "",
        f"Target: {target['description']} (`import app`): {target['ratio']:.2f}x, {verdict} "
        f"(with the first authenticated request: {first['ratio_to_boto3']:.2f}x, not judged)",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", "-n", type=int, default=9, help="samples per measurement, at least 7 (default 9)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-package", action="store_true", help="skip building the Lambda package")
    args = parser.parse_args()
    if args.runs < 7:
        parser.error("--runs must be at least 7: fewer make the median and p90 meaningless")
    everything = [BASELINE] + measurements()
    summary = summarise(everything, args.runs, run(everything, args.runs))
    if not args.no_package:
        summary["package"] = package_size()
    text = markdown(summary)
    if "package" in summary:
        size = summary["package"]
        text += (
            f"\nLambda package (`chalice package`): {size['zipped_mb']} MB zipped of {ZIPPED_LIMIT_MB} MB, "
            f"{size['unzipped_mb']} MB unzipped of {UNZIPPED_LIMIT_MB} MB"
        )
    print(json.dumps(summary, indent=2) if args.json else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
