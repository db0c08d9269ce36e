"""What counting a post's text costs, for plain text and for the hostile texts that once took minutes.

Each text is the longest content a post takes (63,206 characters). For X's weighted length,
Mastodon's status length and the check of X, Mastodon and Bluesky together, it prints the best of
seven timings (CPU time of this process) in milliseconds and the ratio to a plain ASCII post of the same length (words,
punctuation, a link, a mention, a hashtag), measured in the same run. Then the same at double the
length, as a ratio: linear counting costs about 2x, quadratic 4x. Then the dense texts that a
random mix of hostile pieces produces (a link every ten characters, an internationalised domain
every few dozen, an accent on every letter), and the worst of 100 hostile units generated as the
tests generate them (tests/unit/test_text_hostile.py), each repeated to the same length; then the
same for 40 units of each generated family alone (label chains, mark runs, regional indicators,
mixed scripts), which tells which families the tests can hold to 2x. Posts of distinct domains
are timed with the domain cache cleared before each count, as a hostile post of them meets it.

    .venv/bin/python bench/text_counting.py

This prints figures and always exits 0 once it has them.
"""

from __future__ import annotations

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from chalicelib.text import check, mastodon, twitter  # noqa: E402
from tests.unit.test_text_hostile import (  # noqa: E402
    _UNIT,
    DISTINCT_DOMAINS,
    GENERATED_FAMILIES,
    HOSTILE,
    LENGTH,
    PLAIN_POST,
    _fit,
    _uncached,
    _units,
)

DENSE = {
    "a link every ten characters": lambda n: _fit("see x.com ", n),
    "a link with a path every 26": lambda n: _fit("see https://example.com/a ", n),
    "an internationalised domain every 38": lambda n: _fit("https://" + "ß" * 22 + ".xn--p1ai ", n),
    "a Cyrillic domain every 8": lambda n: _fit("éééé.рф ", n),
    "an accent (decomposed) on every letter": lambda n: _fit("a\u0301", n),
    "an emoji every character": lambda n: _fit("\U0001f4bb", n),
    "characters of every plane, interleaved": lambda n: _fit(
        "".join(
            chr(0x100 + index * 257 % 0x10FF00)
            for index in range(n)
            if not 0xD800 <= 0x100 + index * 257 % 0x10FF00 < 0xE000
        ),
        n,
    ),
}
GENERATED = 100
PER_FAMILY = 40


def generated_units(strategy=_UNIT, count: int = GENERATED) -> list[str]:
    """The hostile units the tests generate, the same ones on every run."""
    from hypothesis import HealthCheck, given, settings

    units: list[str] = []

    @settings(
        max_examples=count, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def collect(unit):
        units.append(unit)

    collect()
    return units


def print_ratios(units: list[str], baseline: dict[str, float], indent: str = "  ") -> None:
    ratios = {name: [] for name in ("X", "Mastodon")}
    for unit in units:
        text = _fit(unit, LENGTH)
        for name in ratios:
            ratios[name].append((best(COUNTERS[name], text, repeats=3) / baseline[name], unit))
    for name, found in ratios.items():
        found.sort(reverse=True)
        within = sum(ratio <= 2 for ratio, _ in found)
        median = found[len(found) // 2][0]
        print(
            f"{indent}{name:10s} within 2x: {within}/{len(found)}   median {median:.2f}"
            f"   worst {found[0][0]:.2f}: {found[0][1]!r:.70}"
        )


COUNTERS = {
    "X": twitter.weighted_length,
    "Mastodon": mastodon.status_length,
    "X + Mastodon + Bluesky": lambda text: [
        check(p, text, field="content") for p in ("twitter", "mastodon", "bluesky")
    ],
}


def best(count, text: str, repeats: int = 7) -> float:
    # This process's CPU time, as the tests measure it: other work on the machine takes none of it.
    count(text)
    timings = []
    for _ in range(repeats):
        started = time.process_time()
        count(text)
        timings.append(time.process_time() - started)
    return min(timings)


def main() -> None:
    plain = _fit(PLAIN_POST, LENGTH)
    texts = {"plain ASCII post": lambda n: _fit(PLAIN_POST, n), **HOSTILE}
    print(f"{'text':40s}" + "".join(f"{name:>34s}" for name in COUNTERS))
    print(f"{'':40s}" + "".join(f"{'ms  x plain  x at 2x length':>34s}" for _ in COUNTERS))
    baseline = {name: best(count, plain) for name, count in COUNTERS.items()}
    for label, make in {**texts, **DENSE}.items():
        cells = []
        for name, count in COUNTERS.items():
            cost = best(count, make(LENGTH))
            doubled = best(count, make(LENGTH * 2), repeats=5) / cost
            cells.append(f"{cost * 1000:14.1f}{cost / baseline[name]:9.2f}{doubled:11.2f}")
        print(f"{label:40s}" + "".join(cells))
    print()
    print("Distinct domains (no cache helps): ms and x plain")
    for label, make in DISTINCT_DOMAINS.items():
        cells = []
        for name, count in COUNTERS.items():
            cost = best(_uncached(count), make(LENGTH))
            cells.append(f"{cost * 1000:14.1f}{cost / baseline[name]:9.2f}{'':11s}")
        print(f"{label:40s}" + "".join(cells))
    print()
    print(f"{GENERATED} generated hostile units, each repeated to {LENGTH:,} characters: x plain (best of three)")
    print_ratios(generated_units(), baseline)
    for family in GENERATED_FAMILIES:
        print(f"{PER_FAMILY} units of {family} alone:")
        print_ratios(generated_units(_units(family), PER_FAMILY), baseline, indent="    ")


if __name__ == "__main__":
    main()
