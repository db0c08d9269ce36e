#!/usr/bin/env bash
# The guide "Publish programmatically" with the openpost CLI, against the stack in OPENPOST_BASE_URL
# with OPENPOST_API_KEY. Each step checks what it got; any failure stops the script with its code.
set -euo pipefail
work=$(mktemp -d)
trap 'kill "${listener:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# The value of a Python expression over the JSON on stdin, named data.
field() { python3 -c "import json,sys; data=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# 1. The key is in the environment.
test -n "$OPENPOST_API_KEY"
echo "1 key ${OPENPOST_API_KEY:0:11}..."

# 2. The connected channels.
openpost integrations list | grep bluesky > /dev/null
bluesky=$(openpost --json integrations list | field '[i["id"] for i in data if i["platform"] == "bluesky"][0]')
echo "2 bluesky $bluesky"

# 3. Media, in one command (two steps and the wait for ready; a progress bar on stderr).
python3 -c "from PIL import Image; Image.new('RGB', (640, 360), 'orange').save('$work/launch.jpg')"
media=$(openpost --json media upload "$work/launch.jpg" --alt "The launch" | field 'data["id"]')
test "$(openpost --json media upload "$work/launch.jpg" | field 'data["status"]')" = ready
echo "3 media $media"

# 4 and 5. A scheduled post, by local time in an IANA zone; the same key again gives the same post.
day=$(date -u -d "+30 days" +%Y-%m-%d)
utc=$(python3 -c "import datetime as d, zoneinfo as z; print(d.datetime.fromisoformat('$day 16:00').replace(tzinfo=z.ZoneInfo('Europe/Paris')).astimezone(d.UTC).strftime('%Y-%m-%dT%H:%M:%SZ'))")
post=$(openpost --json posts create --content "Big launch today 🚀" --integration "$bluesky" \
  --at "$day 16:00 Europe/Paris" --media "$media" --idempotency-key "cli-$media" | field 'data["id"]')
again=$(openpost --json posts create --content "Big launch today 🚀" --integration "$bluesky" \
  --at "$day 16:00 Europe/Paris" --media "$media" --idempotency-key "cli-$media" | field 'data["id"]')
test "$post" = "$again"
test "$(openpost --json posts get "$post" | field 'data["scheduled_at"]')" = "$utc"
openpost posts list --status scheduled --limit 100 | grep "$post" > /dev/null
with_image=$(openpost --json posts create --content "Launch photo" --to bluesky --at "now+2h" \
  --image "$work/launch.jpg" --alt "Stage" | field 'data["status"] + " " + str(len(data["media_ids"]))')
test "$with_image" = "scheduled 1"
echo "4 post $post scheduled"
echo "5 same key, same post"

# 7. Listen for events (a temporary endpoint, each event verified), then publish a post now.
openpost webhooks listen --events post.published --count 1 > "$work/events" &
listener=$!
for _ in $(seq 50); do
  curl -s -H "Authorization: Bearer $OPENPOST_API_KEY" "$OPENPOST_BASE_URL/v1/webhooks" | grep openpost-listen > /dev/null && break
  sleep 0.2
done
now=$(openpost --json posts create --content "Live now" --to bluesky | field 'data["id"]')
openpost posts publish "$now" > /dev/null
for _ in $(seq 150); do kill -0 "$listener" 2>/dev/null || break; sleep 0.2; done
wait "$listener"
grep -q "post.published *$now" "$work/events"

# 6. Its metrics, charted.
openpost analytics post "$now" | grep "post $now" > /dev/null
echo "6 analytics $now"
echo "7 webhook post.published $now"

# Exit codes a script can test.
set +e
openpost posts get 01a00000-0000-7000-8000-000000000000 2> "$work/error"; code=$?
set -e
test "$code" = 4 && grep -q "post_not_found" "$work/error"
openpost posts delete "$post" > /dev/null
echo "done"
