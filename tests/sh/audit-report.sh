#!/usr/bin/env bash
# audit-report.sh: phifs-audit report and show on synthetic logs
# (tests/audit/gen-log.py): four weekdays of ordinary traffic with a planted
# bulk reader (mallory: 130 files in 4 minutes) and one after-hours access
# (bob at 21:30) — the report flags exactly those two, with the planted
# records as evidence; the same traffic without them exits 0. Then the
# config keys, --since, denials, a sequence gap, exit codes, and every
# filter of show. No mount: runs without /dev/fuse or root.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
AUDIT="$top_builddir/tools/phifs-audit/phifs-audit"
GEN="$top_srcdir/tests/audit/gen-log.py"
WORK=$(mktemp -d /tmp/phifs-audit-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
plan 35

$PY "$GEN" --plant --truth "$WORK/truth.json" > "$WORK/planted.log" || bail "generator failed"
$PY "$GEN" > "$WORK/clean.log" || bail "generator failed"
printf 'timezone = UTC\nevidence_max = 1000\n' > "$WORK/report.conf"

# run VAR CMD...: stdout into $WORK/VAR, exit status into $rc
run() { local f="$WORK/$1"; shift; rc=0; "$@" > "$f" 2> "$f.err" || rc=$?; }

run planted.json "$AUDIT" report --json --config "$WORK/report.conf" "$WORK/planted.log"
[ $rc -eq 1 ] && ok "planted log: report exits 1" || { not_ok "planted log: exit 1 (got $rc)"; diag "$(cat "$WORK/planted.json.err")"; }
$PY - "$WORK/planted.json" <<'PYEOF' && ok "planted log: warnings are exactly bulk/mallory and after-hours/bob" || not_ok "planted log: exactly bulk/mallory and after-hours/bob"
import json, sys
f = [json.loads(l) for l in open(sys.argv[1])]
got = sorted((x["rule"], x["user"]) for x in f if x["severity"] != "info")
print("# warnings:", got)
sys.exit(got != [("after-hours", "bob"), ("bulk", "mallory")])
PYEOF
$PY - "$WORK/planted.json" "$WORK/truth.json" <<'PYEOF' && ok "bulk evidence holds every planted record, only mallory's, within 10 minutes of the burst" || not_ok "bulk evidence"
import json, sys
f = {x["rule"]: x for x in map(json.loads, open(sys.argv[1]))}
truth = json.load(open(sys.argv[2]))
b = f["bulk"]
ev = set(b["evidence"])
ok = set(truth["bulk"]) <= ev and "evidence_truncated" not in b
ok = ok and b["first"] >= "2026-11-19T13:50:00Z" and b["last"] <= "2026-11-19T14:14:00Z"
ok = ok and b["count"] == len(ev) and "distinct files" in b["detail"]
sys.exit(not ok)
PYEOF
$PY - "$WORK/planted.json" "$WORK/truth.json" <<'PYEOF' && ok "after-hours evidence is exactly bob's late open and its io summary" || not_ok "after-hours evidence"
import json, sys
f = {x["rule"]: x for x in map(json.loads, open(sys.argv[1]))}
a = f["after-hours"]
sys.exit(not (sorted(a["evidence"]) == sorted(json.load(open(sys.argv[2]))["late"]) and a["count"] == 2
              and a["first"] == "2026-11-18T21:30:00Z" and a["severity"] == "warning"))
PYEOF
$PY -c '
import json, sys
f = [json.loads(l) for l in open(sys.argv[1])]
m = [x for x in f if x["rule"] == "operations"]
sys.exit(not (len(m) == 1 and m[0]["severity"] == "info" and m[0]["count"] == 4 and m[0]["user"] == "root"))' \
	"$WORK/planted.json" && ok "mount operations listed as info" || not_ok "mount operations listed as info"

# Bytes count whether a handle's summary is an "io" record or joined into
# its open (the daemon joins them while both are queued): a byte threshold
# alone flags mallory's burst (~4.5 MB in 4 minutes) in both forms, the same.
$PY "$GEN" --plant --joined > "$WORK/joined.log" || bail "generator failed"
printf 'timezone = UTC\nbulk_files = 100000\nbulk_bytes = 2000000\n' > "$WORK/bytes.conf"
run bytes.json "$AUDIT" report --json --config "$WORK/bytes.conf" "$WORK/planted.log"
run bytesj.json "$AUDIT" report --json --config "$WORK/bytes.conf" "$WORK/joined.log"
$PY - "$WORK/bytes.json" "$WORK/bytesj.json" <<'PYEOF' && ok "bulk by bytes: mallory flagged alike from io records and from summaries joined into opens" || not_ok "bulk by bytes from joined summaries"
import json, sys
def bulk(f):
    return [(x["user"], x["detail"]) for x in map(json.loads, open(f)) if x["rule"] == "bulk"]
a, b = bulk(sys.argv[1]), bulk(sys.argv[2])
print("# io records:", a, "joined:", b)
sys.exit(not (a and a == b and [u for u, _ in a] == ["mallory"] and "bytes" in a[0][1]))
PYEOF

run clean.txt "$AUDIT" report --config "$WORK/report.conf" "$WORK/clean.log"
[ $rc -eq 0 ] && grep -q "0 at warning or worse" "$WORK/clean.txt" && ok "clean log: exit 0, nothing at warning" \
	|| { not_ok "clean log: exit 0 (got $rc)"; diag "$(cat "$WORK/clean.txt")"; }
run planted.txt "$AUDIT" report --config "$WORK/report.conf" "$WORK/planted.log"
[ $rc -eq 1 ] && grep -q "^bulk:" "$WORK/planted.txt" && grep -q "^after-hours:" "$WORK/planted.txt" \
	&& grep -Eq "warning +mallory" "$WORK/planted.txt" && ok "text report: grouped by rule, exit 1" \
	|| { not_ok "text report (rc=$rc)"; diag "$(cat "$WORK/planted.txt")"; }
! grep -q '"path"\|hmac' "$WORK/planted.txt" "$WORK/planted.json" && ok "report output carries no path references" \
	|| not_ok "report output carries no path references"

# Config keys move the rules: bob's 21:30 inside longer hours; bulk threshold above 133 files.
printf 'timezone = UTC\nwork_hours = 07:00-22:00\nbulk_files = 200\n' > "$WORK/loose.conf"
run loose.txt "$AUDIT" report --config "$WORK/loose.conf" "$WORK/planted.log"
[ $rc -eq 0 ] && ok "work_hours and bulk_files from the config file: nothing flagged" \
	|| { not_ok "loose config (rc=$rc)"; diag "$(cat "$WORK/loose.txt")"; }
printf 'timezone = UTC\nwork_days = tue-fri\n' > "$WORK/days.conf"
run days.json "$AUDIT" report --json --config "$WORK/days.conf" "$WORK/clean.log"
[ $rc -eq 1 ] && $PY -c '
import json, sys
f = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["severity"] != "info"]
sys.exit(not (f and all(x["rule"] == "after-hours" and x["first"].startswith("2026-11-16") for x in f) and len(f) == 7))' \
	"$WORK/days.json" && ok "work_days = tue-fri: every user flagged for Monday only" || { not_ok "work_days (rc=$rc)"; diag "$(head -3 "$WORK/days.json")"; }
printf 'timezone = America/New_York\n' > "$WORK/ny.conf"
run ny.json "$AUDIT" report --json --config "$WORK/ny.conf" "$WORK/clean.log"
[ $rc -eq 1 ] && grep -q '"after-hours"' "$WORK/ny.json" && ok "timezone: 08:00 UTC is 03:00 in New York, after hours" \
	|| not_ok "timezone (rc=$rc)"
run since.txt "$AUDIT" report --since 2026-11-19T15:00:00Z --config "$WORK/report.conf" "$WORK/planted.log"
[ $rc -eq 0 ] && ok "--since after the planted records: exit 0" || not_ok "--since (rc=$rc)"
run until.json "$AUDIT" report --json --until 2026-11-19T00:00:00Z --config "$WORK/report.conf" "$WORK/planted.log"
[ $rc -eq 1 ] && grep -q after-hours "$WORK/until.json" && ! grep -q '"bulk"' "$WORK/until.json" \
	&& ok "--until before the burst: only after-hours" || not_ok "--until (rc=$rc)"

# Denials, sequence gap, break-glass, integrity.
$PY "$GEN" --denials --truth "$WORK/dtruth.json" > "$WORK/denials.log"
run denials.json "$AUDIT" report --json --config "$WORK/report.conf" "$WORK/denials.log"
[ $rc -eq 1 ] && $PY -c '
import json, sys
f = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["severity"] != "info"]
t = json.load(open(sys.argv[2]))["denied"]
sys.exit(not (len(f) == 1 and f[0]["rule"] == "denials" and f[0]["user"] == "eve" and sorted(f[0]["evidence"]) == t))' \
	"$WORK/denials.json" "$WORK/dtruth.json" && ok "six denials in five minutes: one denials finding (carol's two are not)" \
	|| { not_ok "denials (rc=$rc)"; diag "$(cat "$WORK/denials.json")"; }
sed '100d' "$WORK/clean.log" > "$WORK/gap.log"
run gap.json "$AUDIT" report --json --config "$WORK/report.conf" "$WORK/gap.log"
[ $rc -eq 1 ] && grep -q '"rule":"audit-gap","severity":"critical"' "$WORK/gap.json" && grep -q '"evidence":\[101\]' "$WORK/gap.json" \
	&& ok "a deleted line: audit-gap (critical) at seq 101" || { not_ok "gap (rc=$rc)"; diag "$(grep gap "$WORK/gap.json")"; }
last=$(wc -l < "$WORK/clean.log")
{ cat "$WORK/clean.log"
  echo '{"v":1,"seq":'$((last + 1))',"time":"2026-11-19T18:00:00.000000Z","host":"db1","vol":"55555555555555555555555555555555","event":"audit-gap","lost":3,"result":"ok"}'
  echo '{"v":1,"seq":1,"time":"2026-11-19T18:01:00.000000Z","host":"db2","vol":"55555555555555555555555555555555","event":"integrity","block":7,"reason":"tag mismatch","actor":{"uid":1001,"user":"alice"},"result":"EIO"}'
  echo '{"v":1,"seq":2,"time":"2026-11-19T18:02:00.000000Z","host":"db2","vol":"55555555555555555555555555555555","event":"open","actor":{"uid":1001,"user":"alice"},"object":{"file":"00000000000000000000000000000001"},"result":"ok","flag":"break-glass","reason":"ER"}'
} > "$WORK/misc.log"
run misc.json "$AUDIT" report --json --config "$WORK/report.conf" "$WORK/misc.log"
[ $rc -eq 1 ] && $PY -c '
import json, sys
f = {x["rule"]: x for x in map(json.loads, open(sys.argv[1]))}
ok = f["audit-gap"]["evidence"] == [int(sys.argv[2]) + 1] and "3 records reported lost, 0 sequence" in f["audit-gap"]["detail"]
ok = ok and f["integrity"]["severity"] == "critical" and f["integrity"]["user"] == "alice"
ok = ok and f["break-glass"]["evidence"] == [2]
sys.exit(not ok)' "$WORK/misc.json" "$last" && ok "audit-gap record, integrity failure, break-glass flagged (second stream not a gap)" \
	|| { not_ok "misc (rc=$rc)"; diag "$(cat "$WORK/misc.json")"; }

# Exit codes: usage 2, unreadable 4.
printf 'bulk_file = 3\n' > "$WORK/typo.conf"
run typo.txt "$AUDIT" report --config "$WORK/typo.conf" "$WORK/clean.log"
[ $rc -eq 2 ] && grep -q "unknown key 'bulk_file'" "$WORK/typo.txt.err" && ok "unknown config key: exit 2, named" || not_ok "unknown config key (rc=$rc)"
run nolog.txt "$AUDIT" report "$WORK/missing.log"
[ $rc -eq 4 ] && ok "missing log: exit 4" || not_ok "missing log: exit 4 (got $rc)"
{ head -5 "$WORK/clean.log"; echo 'garbage'; } > "$WORK/bad.log"
run bad.txt "$AUDIT" report "$WORK/bad.log"
[ $rc -eq 4 ] && grep -q "bad.log:6: not an audit record" "$WORK/bad.txt.err" && ok "a line that is not a record: exit 4, position named" \
	|| not_ok "garbage line (rc=$rc)"
mkdir "$WORK/spool"; split -l 2000 -d "$WORK/planted.log" "$WORK/spool/audit-"; touch "$WORK/spool/.hidden"
run dir.json "$AUDIT" report --json --config "$WORK/report.conf" "$WORK/spool"
[ $rc -eq 1 ] && cmp -s "$WORK/dir.json" "$WORK/planted.json" && ok "a spool directory of rotated files: same findings as the single file" \
	|| not_ok "directory input (rc=$rc)"

# show / query filters.
count() { "$AUDIT" show --json "$@" 2>/dev/null | wc -l; }
[ "$(count --user bob --event open --since 2026-11-18T21:00:00Z --until 2026-11-18T22:00:00Z "$WORK/planted.log")" -eq 1 ] \
	&& ok "show --user --event --since --until: bob's one late open" || not_ok "show time/user/event filter"
n_uid=$(count --user 1007 "$WORK/planted.log"); n_name=$(count --user mallory "$WORK/planted.log")
want=$(grep -c '"user":"mallory"' "$WORK/planted.log")
[ "$n_uid" -eq "$want" ] && [ "$n_name" -eq "$want" ] && ok "show --user by uid and by name ($want records)" || not_ok "show --user uid/name ($n_uid $n_name $want)"
[ "$(count --result denied "$WORK/planted.log")" -eq 8 ] && [ "$(count --result error "$WORK/misc.log")" -eq 1 ] \
	&& ok "show --result denied (8) and error (1)" || not_ok "show --result"
fid=$(sed -n 50p "$WORK/planted.log" | $PY -c 'import json,sys; print(json.load(sys.stdin)["object"]["file"])')
want=$(grep -c "\"file\":\"$fid\"" "$WORK/planted.log")
[ "$(count --file "$fid" "$WORK/planted.log")" -eq "$want" ] && ok "show --file" || not_ok "show --file"
"$AUDIT" show --json --event mount,denied "$WORK/planted.log" > "$WORK/ev.json"
[ "$(wc -l < "$WORK/ev.json")" -eq 12 ] && grep -qxF "$(grep '"seq":1,' "$WORK/planted.log")" "$WORK/ev.json" \
	&& ok "show --event a,b --json: raw lines, byte for byte" || not_ok "show --event list / raw lines"
# --event io: the summaries, whether records of their own or joined into opens.
n_io=$(count --event io "$WORK/planted.log"); n_jio=$(count --event io "$WORK/joined.log")
"$AUDIT" show --user bob --event io --since 2026-11-18T21:00:00Z --until 2026-11-18T22:00:00Z "$WORK/joined.log" > "$WORK/jio.txt"
[ "$n_io" -gt 0 ] && [ "$n_io" -eq "$n_jio" ] && [ "$(count --event io,open "$WORK/joined.log")" -eq "$n_io" ] \
	&& grep -Eq " open +ok .* read=1ops/[0-9]+B" "$WORK/jio.txt" \
	&& "$AUDIT" show --user bob --event io --since 2026-11-18T21:00:00Z --until 2026-11-18T22:00:00Z "$WORK/planted.log" | grep -Eq " io +ok .* read=1ops/[0-9]+B" \
	&& ok "show --event io: $n_io summaries in both forms; the table shows the bytes of an io record and of a joined one" \
	|| { not_ok "show --event io with joined summaries ($n_io $n_jio)"; diag "$(cat "$WORK/jio.txt")"; }
"$AUDIT" show --event setattr "$WORK/joined.log" > "$WORK/jsa.txt"
[ "$(count --event setattr "$WORK/joined.log")" -eq 1 ] && [ "$(count --event setattr "$WORK/planted.log")" -eq 0 ] \
	&& grep -Eq " bob .* open +ok .*attrs=\[\"mode\"\]" "$WORK/jsa.txt" \
	&& ok "show --event setattr: a chmod joined into an open, its attrs in the table" \
	|| { not_ok "show --event setattr with a joined chmod"; diag "$(cat "$WORK/jsa.txt")"; }
"$AUDIT" show --since 2026-11-16T07:00:00Z --until 2026-11-16T07:31:00Z "$WORK/planted.log" > "$WORK/table.txt"
[ "$(wc -l < "$WORK/table.txt")" -eq 2 ] && grep -q "^TIME (UTC)" "$WORK/table.txt" && grep -Eq "^2026-11-16T07:30:00Z +1 root .*mount +ok" "$WORK/table.txt" \
	&& ok "show table: header and one row" || { not_ok "show table"; diag "$(cat "$WORK/table.txt")"; }

# --match-path: the hmac reference of a known path under the volume's audit key.
PHIFS="$top_builddir/tools/phifs/phifs"
"$PHIFS" init --kms "local:$WORK/kek.bin" "$WORK/vol" >/dev/null || bail "cannot create a volume"
ref=$("$AUDIT" show --volume "$WORK/vol" --match-path /clinical/p1.txt "$WORK/clean.log" 2>&1 >/dev/null | sed -n 's/.*path reference hmac://p')
ref2=$("$AUDIT" show --volume "$WORK/vol" --match-path clinical/p1.txt/ "$WORK/clean.log" 2>&1 >/dev/null | sed -n 's/.*path reference hmac://p')
other=$("$AUDIT" show --volume "$WORK/vol" --match-path /clinical/p2.txt "$WORK/clean.log" 2>&1 >/dev/null | sed -n 's/.*path reference hmac://p')
[ ${#ref} -eq 64 ] && [ "$ref" = "$ref2" ] && [ "$ref" != "$other" ] \
	&& ok "--match-path: a 64-hex reference, the same for 'clinical/p1.txt/', another for p2" || not_ok "--match-path reference ($ref $ref2 $other)"
{ head -3 "$WORK/clean.log"
  echo '{"v":1,"seq":4,"time":"2026-11-19T12:00:00.000000Z","host":"db1","vol":"v","event":"open","actor":{"uid":1,"user":"alice"},"object":{"file":"01","path":{"hmac":"'"$ref"'"}},"result":"ok"}'
  echo '{"v":1,"seq":5,"time":"2026-11-19T12:01:00.000000Z","host":"db1","vol":"v","event":"rename","actor":{"uid":1,"user":"alice"},"object":{"path":{"hmac":"'"$other"'"}},"object2":{"path":{"hmac":"'"$ref"'"}},"result":"ok"}'
  echo '{"v":1,"seq":6,"time":"2026-11-19T12:02:00.000000Z","host":"db1","vol":"v","event":"open","actor":{"uid":1,"user":"alice"},"object":{"path":{"hmac":"'"$other"'"}},"result":"ok"}'
} > "$WORK/paths.log"
got=$("$AUDIT" show --json --volume "$WORK/vol" --match-path /clinical/p1.txt "$WORK/paths.log" 2>/dev/null | $PY -c 'import json,sys; print([json.loads(l)["seq"] for l in sys.stdin])')
[ "$got" = "[4, 5]" ] && ok "--match-path finds the path as object and as rename target, nothing else" || not_ok "--match-path records ($got)"
run key.txt "$AUDIT" show --key "$WORK/paths.log"
[ $rc -eq 2 ] && grep -q -- "--volume" "$WORK/key.txt.err" && ok "--key without --volume: exit 2, says why" || not_ok "--key without --volume (rc=$rc)"

# Spool layout (docs/AUDIT_FORMAT.md §5): STREAM.FIRSTSEQ.log per stream; a
# tools stream on the same volume is its own chain; a deleted middle file is a
# gap; a torn last line (writer crash) is skipped, not an error.
mkdir "$WORK/sp"
V=55555555555555555555555555555555
sed -n 1,1500p "$WORK/clean.log" > "$WORK/sp/$V.00000000000000000001.log"
sed -n 1501,3000p "$WORK/clean.log" > "$WORK/sp/$V.00000000000000001501.log"
sed -n '3001,$p' "$WORK/clean.log" > "$WORK/sp/$V.00000000000000003001.log"
for i in 1 2 3; do
	echo '{"v":1,"seq":'$i',"time":"2026-11-1'$((6 + i))'T12:00:00.000000Z","host":"db1","vol":"'$V'","event":"unlock","actor":{"uid":0,"user":"root"},"result":"ok"}'
done > "$WORK/sp/$V-tools.00000000000000000001.log"
printf '{"v":1,"seq":4,"time":"2026-11-19T12:0' >> "$WORK/sp/$V-tools.00000000000000000001.log"
run sp.json "$AUDIT" report --json --config "$WORK/report.conf" "$WORK/sp"
[ $rc -eq 0 ] && grep -q '"3 unlock records"' "$WORK/sp.json" && ok "spool dir with a tools stream: no gap, unlocks listed, exit 0" \
	|| { not_ok "spool streams (rc=$rc)"; diag "$(cat "$WORK/sp.json" "$WORK/sp.json.err")"; }
grep -q "torn last line, skipped" "$WORK/sp.json.err" && ok "a torn last line: skipped with a warning" || not_ok "torn line warning"
rm "$WORK/sp/$V.00000000000000001501.log"
run sp2.json "$AUDIT" report --json --config "$WORK/report.conf" "$WORK/sp"
[ $rc -eq 1 ] && grep -q ' 1500 sequence numbers missing","evidence":\[3001\]' "$WORK/sp2.json" \
	&& ok "a deleted rotated file: audit-gap of 1500 at seq 3001" || { not_ok "deleted file (rc=$rc)"; diag "$(grep gap "$WORK/sp2.json")"; }
