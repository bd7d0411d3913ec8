#!/usr/bin/env bash
# audit-verify.sh: `phifs-audit verify` on logs written by the real writer
# (tests/tools/audit-write): an untouched log verifies (exit 0); each tamper
# case exits 1 and names the first bad FILE:LINE; missing material exits 4,
# a bad command line 2. docs/AUDIT_FORMAT.md "Verification".
. "$(dirname "$0")/lib.sh"
AUDIT="$top_builddir/tools/phifs-audit/phifs-audit"
WRITE="$top_builddir/tests/tools/audit-write"
STREAM=00112233445566778899aabbccddeeff
WORK=$(mktemp -d /tmp/phifs-audit-verify.XXXXXX)
# The writer sets chattr +a where it can: clear it so the scratch dir goes.
cleanup() { chattr -R -a "$WORK" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
SPOOL="$WORK/spool" KEYS="$WORK/keys"
plan 14

# A fresh 16-line log: 1 audit-start, 2 checkpoint, 3-6 records,
# 7 checkpoint, 8-11 records, 12 checkpoint, 13-14 records, 15 audit-stop,
# 16 checkpoint (a checkpoint every 4 records).
fresh() {
	chattr -R -a "$WORK" 2>/dev/null; rm -rf "$SPOOL" "$KEYS"
	"$WRITE" "$SPOOL" "$KEYS" "$STREAM" "${1:-10}" 4 ${2:+"$2"} || bail "audit-write failed"
	LOG=$(ls "$SPOOL"/*.log | head -1)
	chattr -R -a "$SPOOL" 2>/dev/null || true
}
# expect CODE PATTERN description: runs verify, checks exit code and stderr
expect() {
	local code=$1 pat=$2 d=$3 rc
	"$AUDIT" verify --keys "$KEYS" "$SPOOL" >"$WORK/out" 2>"$WORK/err"; rc=$?
	if [ "$rc" -eq "$code" ] && grep -qE -- "$pat" "$WORK/err" "$WORK/out"; then
		ok "$d"
	else
		not_ok "$d (exit $rc, want $code /$pat/)"; sed 's/^/# /' "$WORK/err" "$WORK/out"
	fi
}

fresh
expect 0 '^intact: 16 records, 4 checkpoints in 1 streams' "untouched log verifies"
[ "$(wc -l <"$LOG")" -eq 16 ] || bail "unexpected layout: $(wc -l <"$LOG") lines"

sed -i '5s/"ino":10002/"ino":10007/' "$LOG"
grep -q '"ino":10007' "$LOG" || bail "edit did not apply"
expect 1 "$LOG:5: MAC mismatch" "a modified byte: exit 1 at its line"

fresh; sed -i '5d' "$LOG"
expect 1 "$LOG:5: seq 6 where 5 was due" "a deleted line: exit 1 at the line after it"

fresh; sed -i '5{h;d};6G' "$LOG"
expect 1 "$LOG:5: seq 6 where 5 was due" "two lines swapped: exit 1 at the first"

fresh; sed -i '6{h;s/"ino":10003/"ino":10009/;p;x}' "$LOG"
[ "$(wc -l <"$LOG")" -eq 17 ] || bail "insert did not apply"
expect 1 "$LOG:6: MAC mismatch" "an inserted forged line (right seq and prev): exit 1 at it"

fresh; sed -i '13,$d' "$LOG"
expect 1 "$LOG:13: log ends at seq 12 .* truncated" "a truncated tail: exit 1, caught by the checkpoint file"

# Cut in the middle of line 14: a torn tail, 14-16 missing against the checkpoint file.
fresh; head -n 13 "$LOG" >"$WORK/cut"; sed -n 14p "$LOG" | head -c 40 >>"$WORK/cut"; cat "$WORK/cut" >"$LOG"
expect 1 "$LOG:14: log ends at seq 13 .* truncated" "a tail cut mid-line: exit 1"

# One hex digit of the second entry's signature flipped.
fresh; sed -i '2s/"sig":"0/"sig":"X/; 2s/"sig":"[1-9a-f]/"sig":"0/; 2s/"sig":"X/"sig":"1/' "$KEYS/$STREAM.ckpt"
expect 1 "$KEYS/$STREAM.ckpt:2: bad checkpoint signature" "a bad checkpoint signature: exit 1 at the checkpoint file line"

fresh 40 1500
n=$(ls "$SPOOL"/*.log | wc -l)
[ "$n" -ge 4 ] || bail "rotation did not happen ($n files)"
expect 0 '^intact' "a rotated log verifies across files"
second=$(ls "$SPOOL"/*.log | sed -n 2p); third=$(ls "$SPOOL"/*.log | sed -n 3p)
rm -f "$second"
expect 1 "$third:1: file starts at seq .*deleted file" "a deleted rotated file: exit 1 at the next file"

fresh; rm -f "$LOG"
expect 1 "stream $STREAM has checkpoints .* deleted" "a whole stream deleted: exit 1"

fresh; rm -f "$KEYS"/*.key
expect 4 "verification material missing" "missing k_0: exit 4"

"$AUDIT" verify >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok "no LOG: exit 2" || not_ok "no LOG: exit $rc, want 2"

fresh; sed -i '3s/"ino":10000/"ino":10005/' "$LOG"
"$AUDIT" verify --json --keys "$KEYS" "$SPOOL" >"$WORK/out" 2>/dev/null; rc=$?
if [ "$rc" -eq 1 ] && python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] is False and o["exit"] == 1 and o["line"] == 3 and o["file"] == sys.argv[2], o
assert "MAC" in o["reason"]' "$WORK/out" "$LOG"; then
	ok "--json names file, line and reason"
else
	not_ok "--json (exit $rc)"; sed 's/^/# /' "$WORK/out"
fi
exit 0
