#!/usr/bin/env bash
# sync.sh: `phifs-backup sync` and `verify-replica` across two s3rver peers
# standing in for two regions (scripts/s3-peer.sh) and a local directory:
# sync region 1 → region 2 (+ dir), resumable after kill -9 at several points
# with the safe order holding at every kill, verify-replica with and without
# the source, a deleted and a corrupted replica object named, a corrupt
# source object never copied, and — with region 1 stopped — a restore from
# region 2 alone that matches the data backed up.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"
s3_setup
plan 34
B="$top_builddir/tools/phifs-backup/phifs-backup"
W=$S3WORK
s3_start r1 eu-west-1 reg1
s3_start r2 us-east-2 reg2
U1="s3:http://127.0.0.1:$PORT_r1/reg1/repo?region=eu-west-1"
U2="s3:http://127.0.0.1:$PORT_r2/reg2/repo?region=us-east-2"
SRC=$W/src

# A repository with many small content-named objects (sync copies bytes it
# never opens, so their content does not matter; their names must be hashes).
"$B" -r "$SRC" init --kms "local:$W/key" --min-retention 0 >/dev/null || bail "init failed"
/usr/bin/python3 - "$SRC" <<'PYEOF'
import hashlib, os, random, sys
rnd = random.Random(5)
def put(cls, size):
    b = bytes(rnd.getrandbits(8) for _ in range(size))
    h = hashlib.sha256(b).hexdigest()
    n = os.path.join(sys.argv[1], cls, h[:2], h) if cls == "data" else os.path.join(sys.argv[1], cls, h)
    os.makedirs(os.path.dirname(n), exist_ok=True)
    open(n, "wb").write(b)
for _ in range(400): put("data", rnd.randint(100, 6000))
for _ in range(30): put("index", 700)
for _ in range(6): put("snapshots", 300)
PYEOF
TOTAL=$(cd "$SRC" && find config keys data index snapshots -type f ! -name '.tmp.*' | wc -l)
in_r1() { find "$W/r1/data/reg1" -name '*._S3rver_object' 2>/dev/null | wc -l; }

# The safe order, checked on what the replica holds at a kill: no snapshot
# unless every data and index object is there, no index before all data.
safe_order() {
	local names; names=$("$S3PROBE" "$U1" list 2>/dev/null | cut -d' ' -f1 | LC_ALL=C sort)
	local want_data want_index
	want_data=$(cd "$SRC" && find data -type f | LC_ALL=C sort)
	want_index=$(cd "$SRC" && find index -type f | LC_ALL=C sort)
	if grep -q '^snapshots/' <<<"$names"; then
		comm -23 <(printf '%s\n' "$want_data" "$want_index" | LC_ALL=C sort) <(printf '%s\n' "$names") | grep -q . && return 1
	fi
	if grep -q '^index/' <<<"$names"; then
		comm -23 <(printf '%s\n' "$want_data") <(printf '%s\n' "$names") | grep -q . && return 1
	fi
	return 0
}

# kill -9 at known points (PHIFS_SYNC_TEST_KILL: SIGKILL right after the Nth
# copy of that run; up to 7 more uploads in flight may land): when the
# replica holds about 1, 200 and 412 objects — in config, data and index
# (config + key + 400 packs come first).
for target in 1 200 412; do
	before=$(in_r1)
	at=$((target > before ? target - before : 1))
	PHIFS_SYNC_TEST_KILL=$at "$B" -r "$SRC" sync --to "$U1" >/dev/null 2>&1
	rc=$?
	n=$(in_r1)
	# (an upload in flight at the previous kill may have left a file that
	# counted in "before" and is copied again now: up to 7 fewer than target)
	[ "$rc" -eq 137 ] && [ "$n" -gt "$before" ] && [ "$n" -ge $((target - 7)) ] && [ "$n" -lt "$TOTAL" ] \
		&& ok "sync killed -9 with $n of $TOTAL objects copied" || not_ok "sync kill at $at: exit $rc, $n of $TOTAL"
	safe_order && ok "... the replica holds no index or snapshot before its data" || not_ok "safe order broken at $n objects"
done
# and once from outside, wherever it is (only the re-run's outcome is asserted)
"$B" -r "$SRC" sync --to "$U1" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do [ "$(in_r1)" -ge 425 ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
"$B" -r "$SRC" sync --to "$U1" --json > "$W/sync1.json" 2>"$W/sync1.err"
check "re-run after the kills completes" grep -q '"complete":true' "$W/sync1.json"
[ "$(in_r1)" -ge "$TOTAL" ] && ok "every object is in region 1" || not_ok "region 1 has $(in_r1) of $TOTAL"
check "verify-replica region 1 against the source: identical" \
	"$B" -r "$U1" verify-replica --source "$SRC" --spot-check 100%

# Region 1 → region 2 and a local directory
"$B" -r "$U1" sync --to "$U2" --to "$W/dir2" --json > "$W/sync2.json" 2>"$W/sync2.err"
[ "$(grep -c '"complete":true' "$W/sync2.json")" -eq 2 ] && ok "sync region 1 → region 2 + directory" \
	|| not_ok "sync region 1 → region 2 + directory: $(cat "$W/sync2.err")"
check "the directory replica is byte-identical to the source" \
	diff -r -x locks -x replica -x '.tmp.*' "$SRC" "$W/dir2"
"$B" -r "$U1" sync --to "$U2" --json > "$W/sync3.json" 2>&1
grep -q "\"copied\":0,\"present\":$TOTAL," "$W/sync3.json" && ok "a second sync copies nothing" \
	|| not_ok "second sync: $(cat "$W/sync3.json")"
check "verify-replica region 2 against region 1" "$B" -r "$U2" verify-replica --source "$U1" --spot-check 100%
check "verify-replica of the directory replica" "$B" -r "$W/dir2" verify-replica --source "$U1" --spot-check 100%

# Full cycle: a real backup, synced twice over, restored from region 2 alone
UB1="s3:http://127.0.0.1:$PORT_r1/reg1/full?region=eu-west-1"
UB2="s3:http://127.0.0.1:$PORT_r2/reg2/full?region=us-east-2"
mkdir -p "$W/tree/a/b"
head -c 3000000 /dev/urandom > "$W/tree/big"
for i in $(seq 50); do head -c $((i * 997)) /dev/urandom > "$W/tree/a/f$i"; done
echo small > "$W/tree/a/b/s"
check "backup of a tree" sh -c "'$B' -r '$W/full' init --kms 'local:$W/key2' --min-retention 0 && '$B' -r '$W/full' backup '$W/tree'"
check "sync it to region 1 and on to region 2" sh -c "'$B' -r '$W/full' sync --to '$UB1' && '$B' -r '$UB1' sync --to '$UB2'"

# Region 1 goes away
s3_stop r1
check_exit "verify-replica with the source unreachable: exit 4" 4 "$B" -r "$U2" verify-replica --source "$U1"
check "verify-replica of region 2 alone (its stored, signed manifest)" \
	"$B" -r "$U2" verify-replica --spot-check 100%
check "restore from region 2 alone" "$B" -r "$UB2" restore latest --target "$W/restored"
check "restored files are byte-identical" diff -r "$W/tree" "$W/restored"
check "check --read-data passes on region 2" "$B" -r "$UB2" check --read-data

# A deleted and a corrupted (same size) object in region 2 are named
gone=$(cd "$SRC" && find data -type f | LC_ALL=C sort | sed -n 7p)
bad=$(cd "$SRC" && find index -type f | LC_ALL=C sort | sed -n 3p)
"$S3PROBE" "$U2" del "$gone" 2>/dev/null
head -c "$(stat -c %s "$SRC/$bad")" /dev/zero > "$W/zero"
"$S3PROBE" "$U2" put "$bad" "$W/zero" 2>/dev/null
check_exit "verify-replica finds the differences: exit 1" 1 "$B" -r "$U2" verify-replica --spot-check 100%
grep -q "$gone: missing" "$W/last.err" && ok "the deleted object is named" || not_ok "deleted object not named: $(cat "$W/last.err")"
grep -q "$bad: corrupt" "$W/last.err" && ok "the corrupted object is named" || not_ok "corrupted object not named"
"$B" -r "$U2" verify-replica --spot-check 0 >/dev/null 2>"$W/nospot.err"
grep -q "$gone: missing" "$W/nospot.err" && ! grep -q "$bad" "$W/nospot.err" \
	&& ok "without spot-checks the listing finds the missing object only" || not_ok "listing-only check"
"$S3PROBE" "$U2" put "$gone" "$SRC/$gone" 2>/dev/null && "$S3PROBE" "$U2" put "$bad" "$SRC/$bad" 2>/dev/null
check "repaired replica verifies again" "$B" -r "$U2" verify-replica --spot-check 100%
printf 'x' | dd of="$(find "$W/r2/data/reg2/repo/replica" -name '*._S3rver_object' | head -1)" bs=1 seek=40 conv=notrunc 2>/dev/null
check_exit "a tampered manifest is not trusted: exit 1" 1 "$B" -r "$U2" verify-replica

# A corrupt object in the source is never copied, and nothing after its class
s3_start r1 eu-west-1 reg1   # region 1 back, on a new port
U1="s3:http://127.0.0.1:$PORT_r1/reg1/repo?region=eu-west-1"
cp -r "$SRC" "$W/src-bad"
printf 'X' | dd of="$W/src-bad/$bad" bs=1 seek=10 conv=notrunc 2>/dev/null
check_exit "sync from a damaged source: exit 1" 1 "$B" -r "$W/src-bad" sync --to "$W/dir3"
grep -q "$bad: corrupt in the source" "$W/last.err" && ok "the corrupt source object is named" || not_ok "corrupt source object not named"
[ ! -e "$W/dir3/$bad" ] && [ ! -d "$W/dir3/snapshots" ] && ok "not copied, and no snapshot reached the replica" \
	|| not_ok "corrupt object or snapshots copied"

# Refusals
check_exit "sync with a wrong secret: exit 3" 3 env AWS_SECRET_ACCESS_KEY=wrong "$B" -r "$SRC" sync --to "$U1"
check_exit "sync from something that is not a repository: exit 4" 4 "$B" -r "$W/nothing" sync --to "$W/dir4"
"$B" -r "$W/other" init --kms "local:$W/key3" --min-retention 0 >/dev/null 2>&1
check_exit "sync into another repository is refused: exit 1" 1 "$B" -r "$SRC" sync --to "$W/other"
check_exit "sync without --to: exit 2" 2 "$B" -r "$SRC" sync
finish
