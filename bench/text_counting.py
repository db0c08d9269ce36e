"""What counting a post's text costs, for plain text and for the hostile texts that once took minutes.

Each text is the longest content a post takes (63,206 characters). For X's weighted length,
Mastodon's status length and the check of X, Mastodon and Bluesky together, it prints the best of
seven timings (CPU time of this process) in milliseconds and the ratio to a plain ASCII post of the same length (words,
punctuation, a link, a mention, a hashtag), measured in the same run. Then the same at double the
length, as a ratio: linear counting costs about 2x, quadratic 4x.

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
from tests.unit.test_text_hostile import HOSTILE, LENGTH, PLAIN_POST, _fit  # noqa: E402

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
    for label, make in texts.items():
        cells = []
        for name, count in COUNTERS.items():
            cost = best(count, make(LENGTH))
            doubled = best(count, make(LENGTH * 2), repeats=5) / cost
            cells.append(f"{cost * 1000:14.1f}{cost / baseline[name]:9.2f}{doubled:11.2f}")
        print(f"{label:40s}" + "".join(cells))


if __name__ == "__main__":
    main()
