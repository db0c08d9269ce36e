#!/usr/bin/env bash
# Checks the publishing protocol (model/publishing.pml) exhaustively with SPIN, on a platform with
# and one without idempotency: safety (assertions, every reachable state) and liveness (<> finished,
# under weak fairness). Then each seeded bug must be REJECTED: a check that cannot fail proves nothing.
# Prints one line per run: what, verdict, states stored, seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/publishing.pml" "$work/"
cd "$work"

# run NAME EXPECT(pass|fail) MODE(safety|liveness) DEFINES...
run() {
    local name=$1 expect=$2 mode=$3
    shift 3
    rm -f pan pan.* ./*.trail
    spin -a "$@" publishing.pml >/dev/null
    if [ "$mode" = safety ]; then
        gcc -O1 -w -DNOCLAIM -o pan pan.c
        out=$(./pan -m100000 2>&1 || true)
    else
        gcc -O1 -w -o pan pan.c
        out=$(./pan -a -f -m100000 -N live 2>&1 || true)
    fi
    local errors states seconds verdict
    errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' <<<"$out" | head -1)
    states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' <<<"$out" | head -1)
    seconds=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds.*/\1/p' <<<"$out" | head -1)
    if grep -q "Search not completed" <<<"$out" && [ "${errors:-1}" = 0 ]; then
        echo "$name: the search did not complete"; echo "$out"; exit 1
    fi
    if [ "${errors:-1}" = 0 ]; then verdict=pass; else verdict=fail; fi
    printf '%-58s %-6s (expected %-4s) %10s states %6ss\n' "$name" "$verdict" "$expect" "$states" "$seconds"
    if [ "$verdict" != "$expect" ]; then
        echo "$out"; exit 1
    fi
}

run "safety, platform without idempotency" pass safety
run "safety, idempotent platform" pass safety -DIDEMPOTENT
run "liveness (weak fairness), platform without idempotency" pass liveness
run "liveness (weak fairness), idempotent platform" pass liveness -DIDEMPOTENT
run "seeded bug: no in-flight mark" fail safety -DNO_IN_FLIGHT_MARK
run "seeded bug: no owner check on write" fail safety -DNO_OWNER_CHECK
run "seeded bug: a dead letter failed blindly (delivery_failed)" fail safety -DBLIND_GIVE_UP
run "seeded bug: no reconciler" fail liveness -DNO_RECONCILER
echo "model check: the protocol holds, and every seeded bug is caught"
