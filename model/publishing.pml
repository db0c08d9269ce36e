/*
 * The publishing protocol of chalicelib/domain/publishing.py and reconciling.py, for SPIN.
 *
 * One post target of PARTS parts, published by WORKERS workers that take messages from an
 * at-least-once queue. Each arrow below is one conditional write on the post's version (the
 * publisher's _change re-reads and re-checks on a conflict, so a write is atomic with the checks
 * its mutation makes) or one platform call:
 *
 *   receive a message -> claim (lease, and the first part not yet out marked in flight, in the
 *   same write) -> [taken over, a part was in flight, platform without idempotency: fail
 *   outcome_unknown] -> for each part not yet out: mark it in flight (the first was marked by the
 *   claim) -> call the platform -> record the part -> finish.
 *
 * The environment, each under a budget so that faults end: a worker crashes between any two
 * steps (its message stays in flight until its visibility timeout); the queue delivers a message
 * twice; a live worker's lease runs out mid-publish (a slow call); the platform refuses a call
 * transiently (the target is released and the message comes back later). Unbounded: a dead
 * worker's lease runs out; a message not being worked on becomes visible again after its
 * visibility timeout; the reconciler queues a target again that is unfinished and not held by a
 * live lease, and settles the target of a message that reached the dead-letter queue as a worker
 * taking it over would (publishing.give_up): left alone while a live lease holds it,
 * outcome_unknown if a part is in flight on a platform without idempotency, else delivery_failed.
 *
 * Properties (checked in every reachable state; the liveness one under weak fairness):
 *   - the platform never holds two posts for one part;
 *   - a platform without idempotency is never called twice for one part (the outcome of the first
 *     call is unknown or known to be accepted: a second call risks or makes a duplicate);
 *   - the post's status agrees with its target;
 *   - a target of a platform without idempotency that failed for any reason but outcome_unknown
 *     holds no part the platform was called for and that was not recorded (the user is told the
 *     truth: "failed" never hides a post the platform may hold);
 *   - eventually the target is finished (published or failed): nothing stays publishing.
 *
 * Compile-time switches: -DIDEMPOTENT (the platform recognises a repeated request: Bluesky,
 * Mastodon), and the seeded bugs the checker must reject: -DNO_IN_FLIGHT_MARK (no part is written
 * down before the call, neither by the claim nor by the mark), -DBLIND_GIVE_UP (a dead letter
 * fails its target delivery_failed whatever is in flight or leased), -DNO_OWNER_CHECK (a worker whose lease was taken over keeps
 * writing: what the version condition prevents), -DNO_RECONCILER (nothing settles what a crash
 * left: liveness fails). model/check.sh runs them all; `make model` runs model/check.sh.
 */

#ifndef WORKERS
#define WORKERS 2
#endif
#ifndef PARTS
#define PARTS 2
#endif
#define SLOTS 2          /* message slots in the queue (a freed slot is used again) */
#define MAX_RECEIVES 2   /* then the queue moves the message to the dead-letter queue */
#define CRASHES 1
#define DUPLICATES 1
#define SLOW_LEASES 1    /* a live worker's lease running out */
#define REFUSALS 1       /* transient platform failures */
#define RENEWALS 1       /* a waiting message sent again as a new one */

/* target status (the post's status follows it: one target) */
#define PENDING 0
#define PUBLISHING 1
#define PUBLISHED 2
#define FAILED 3
/* why a target failed */
#define NO_ERROR 0
#define OUTCOME_UNKNOWN 1
#define DELIVERY_FAILED 2
/* message slot states */
#define FREE 0
#define VISIBLE 1
#define HELD 2           /* received, a worker is on it */
#define WAITING 3        /* received, nobody on it: visible again after the visibility timeout */
#define DEAD 4           /* in the dead-letter queue */

#define NONE 255

byte status = PUBLISHING;   /* published now: the post is publishing, its target pending */
byte target = PENDING;
byte error = NO_ERROR;
byte owner = 0;             /* the worker holding the lease, 1..WORKERS */
bool lease_alive = false;
bool owner_dead = false;    /* bookkeeping of the model: the lease holder crashed */
byte in_flight = NONE;
byte parts_done = 0;

byte posts[PARTS];          /* what the platform holds, per part */
byte calls[PARTS];          /* how often the platform was called, per part */

byte slot[SLOTS];
byte receives[SLOTS];

byte crashes = 0, duplicates = 0, slow_leases = 0, refusals = 0, renewals = 0;

#define finished (target == PUBLISHED || target == FAILED)
#define leased (owner != 0 && lease_alive)

/* come back later (RetryLater): the message waits out its visibility timeout; one that has used all
 * but one of its receives is sent again as a new message instead (workers/publisher.py), or, since
 * SQS's receive count is approximate, may not be: both are explored. Renewals are budgeted like the
 * faults: in the code each wait ends (a lease runs out, a due time comes: time the model does not
 * have) or is counted on the post (MAX_ATTEMPTS, MAX_RATE_LIMIT_WAITS), so renewals are finite. */
inline later() {
    if
    :: receives[m] >= MAX_RECEIVES - 1 && renewals < RENEWALS -> renewals++; receives[m] = 0
    :: true -> skip
    fi;
    slot[m] = WAITING
}

inline settle() {
    /* the post's status, derived from its target in the same write (publishing._settle) */
    if
    :: target == PUBLISHED || target == FAILED -> status = target
    :: else -> skip
    fi
}

inline fail_target(code) {
    target = FAILED; error = code; in_flight = NONE; owner = 0; lease_alive = false;
    settle()
}

/* a failed target of a platform without idempotency says outcome_unknown if the platform may hold
   a part that was not recorded */
#ifdef IDEMPOTENT
#define truthful true
#else
#define truthful (!(target == FAILED && error != OUTCOME_UNKNOWN && parts_done < PARTS && calls[parts_done] > 0))
#endif

inline check() {
    assert(status == target || (!finished && status == PUBLISHING));
    assert(truthful)
}

proctype Worker(byte me) {
    byte m, p, was_in_flight;
    bool taken_over, claim_marked;
idle:
    m = 0; p = 0; taken_over = false; was_in_flight = NONE; claim_marked = false;  /* a new invocation */
    /* receive a visible message; one received too often goes to the dead-letter queue */
end_waiting:
    atomic {
        if
        :: slot[0] == VISIBLE -> m = 0
        :: slot[1] == VISIBLE -> m = 1
        fi;
        if
        :: receives[m] >= MAX_RECEIVES -> slot[m] = DEAD; goto idle
        :: else -> receives[m]++; slot[m] = HELD
        fi
    }
    if
    :: crashes < CRASHES -> atomic { crashes++; goto crash }     /* before the claim */
    :: true -> skip
    fi;
    /* claim */
    atomic {
        if
        :: finished -> slot[m] = FREE; goto idle                 /* done already: delete */
        :: !finished && leased && owner != me -> later(); goto idle  /* RetryLater */
        :: !finished && leased && owner == me -> later(); goto idle  /* my dead self's lease */
        :: !finished && !leased ->
            taken_over = (target == PUBLISHING);
            was_in_flight = in_flight;
            target = PUBLISHING; owner = me; lease_alive = true; owner_dead = false;
            /* the first part not yet out is marked in flight in the claim's own write */
            if
            :: parts_done < PARTS ->
#ifndef NO_IN_FLIGHT_MARK
                in_flight = parts_done;
#endif
                claim_marked = true
            :: else -> skip
            fi
        fi
    }
    if
    :: crashes < CRASHES -> atomic { crashes++; goto crash }
    :: true -> skip
    fi;
#ifndef IDEMPOTENT
    atomic {
        if
        :: taken_over && was_in_flight != NONE ->
            if
            :: !finished -> fail_target(OUTCOME_UNKNOWN); check()
            :: else -> skip
            fi;
            slot[m] = FREE; goto idle
        :: else -> skip
        fi
    }
#endif
    do
    :: atomic { parts_done >= PARTS -> break }
    :: atomic { parts_done < PARTS -> p = parts_done }
        /* mark the part in flight (and renew the lease), unless the claim just marked it */
        if
        :: claim_marked -> claim_marked = false
        :: else ->
            atomic {
#ifndef NO_OWNER_CHECK
                if
                :: owner != me -> slot[m] = FREE; goto idle    /* superseded: drop the work */
                :: else -> skip
                fi;
#endif
#ifndef NO_IN_FLIGHT_MARK
                in_flight = p;
#endif
                lease_alive = true
            }
            if
            :: crashes < CRASHES -> atomic { crashes++; goto crash }
            :: true -> skip
            fi
        fi;
        /* the platform call */
        if
        :: refusals < REFUSALS ->
            /* refused, nothing published: release the target, come back later */
            atomic {
                refusals++;
                if
                :: owner == me -> in_flight = NONE; owner = 0; lease_alive = false
                :: else -> skip
                fi;
                later(); goto idle
            }
        :: true ->
            atomic {
                calls[p]++;
#ifdef IDEMPOTENT
                if
                :: posts[p] == 0 -> posts[p] = 1
                :: else -> skip                                /* the repeat is recognised */
                fi;
#else
                posts[p]++;
                assert(calls[p] <= 1);
#endif
                assert(posts[p] <= 1);
                assert(truthful)
            }
        fi;
        if
        :: crashes < CRASHES -> atomic { crashes++; goto crash }
        :: true -> skip
        fi;
        /* record the part */
        atomic {
#ifndef NO_OWNER_CHECK
            if
            :: owner != me -> slot[m] = FREE; goto idle
            :: else -> skip
            fi;
#endif
            if
            :: parts_done == p -> parts_done++
            :: else -> skip
            fi;
            in_flight = NONE
        }
        if
        :: crashes < CRASHES -> atomic { crashes++; goto crash }
        :: true -> skip
        fi
    od;
    /* finish */
    atomic {
        if
        :: owner == me && !finished ->
            target = PUBLISHED; owner = 0; lease_alive = false; settle(); check()
        :: else -> skip
        fi;
        slot[m] = FREE;
        goto idle
    }
crash:
    /* the process ends: its message stays received until its visibility timeout */
    atomic {
        slot[m] = WAITING;
        if
        :: owner == me -> owner_dead = true
        :: else -> skip
        fi;
        goto idle
    }
}

/* Time, the queue and the reconciler. */
proctype Environment() {
    byte i;
end_forever:
    do
    /* a dead worker's lease runs out; a live one's only within the budget (a slow call) */
    :: atomic { leased && owner_dead -> lease_alive = false }
    :: atomic { leased && !owner_dead && slow_leases < SLOW_LEASES -> slow_leases++; lease_alive = false }
    /* visibility timeouts */
    :: atomic { slot[0] == WAITING -> slot[0] = VISIBLE }
    :: atomic { slot[1] == WAITING -> slot[1] = VISIBLE }
    /* at-least-once: a message delivered twice */
    :: atomic {
        duplicates < DUPLICATES && (slot[0] == FREE || slot[1] == FREE) ->
        duplicates++;
        i = 0;
        do
        :: slot[i] == FREE -> slot[i] = VISIBLE; receives[i] = 0; break
        :: else -> i++
        od
    }
#ifndef NO_RECONCILER
    /* the reconciler: an unfinished target nobody holds is queued again ... */
    :: atomic {
        !finished && !leased && (slot[0] == FREE || slot[1] == FREE) &&
        slot[0] != VISIBLE && slot[1] != VISIBLE && slot[0] != WAITING && slot[1] != WAITING ->
        i = 0;
        do
        :: slot[i] == FREE -> slot[i] = VISIBLE; receives[i] = 0; break
        :: else -> i++
        od
    }
    /* ... and the target of a dead letter is settled (give_up), the letter removed */
    :: atomic {
        slot[0] == DEAD || slot[1] == DEAD ->
        i = 0;
        do
        :: slot[i] == DEAD -> slot[i] = FREE; break
        :: else -> i++
        od;
        if
#ifdef BLIND_GIVE_UP
        :: !finished -> fail_target(DELIVERY_FAILED); check()
#else
        :: !finished && leased -> skip                           /* left to the live worker */
#ifndef IDEMPOTENT
        :: !finished && !leased && in_flight != NONE -> fail_target(OUTCOME_UNKNOWN); check()
        :: !finished && !leased && in_flight == NONE -> fail_target(DELIVERY_FAILED); check()
#else
        :: !finished && !leased -> fail_target(DELIVERY_FAILED); check()
#endif
#endif
        :: else -> skip
        fi
    }
#endif
    od
}

init {
    /* the API queued the target (publish now) */
    slot[0] = VISIBLE;
    atomic {
        byte w = 1;
        do
        :: w <= WORKERS -> run Worker(w); w++
        :: else -> break
        od;
        run Environment()
    }
}

ltl live { <> finished }
