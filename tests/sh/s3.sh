#!/usr/bin/env bash
# s3.sh: the S3 backend of phifs-backup (tools/phifs-backup/backend_s3.c)
# against real s3rver peers (scripts/s3-peer.sh, which checks every SigV4
# signature independently), through tests/tools/s3-probe: put/get/range/stat/
# list (> 1000 objects: pagination)/del, parallel puts, wrong secret / key /
# region refused with a clear message and exit code (proves signing), plain
# http to a non-loopback host refused, https with a private CA, credentials
# from a file, missing bucket, Object Lock probe absent on s3rver.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"
s3_setup
plan 36
s3_start r1 eu-west-1 bkt
s3_start tls us-east-1 --tls tbkt
U="s3:http://127.0.0.1:$PORT_r1/bkt/repo?region=eu-west-1"
T="s3:https://127.0.0.1:$PORT_tls/tbkt"
W=$S3WORK

head -c 1048577 /dev/urandom > "$W/big"
check "put of 1 MiB + 1" "$S3PROBE" "$U" put data/00/big "$W/big"
"$S3PROBE" "$U" get data/00/big > "$W/big.back" 2>/dev/null
check "get returns the same bytes" cmp "$W/big" "$W/big.back"
"$S3PROBE" "$U" range data/00/big 524287 4099 > "$W/range" 2>/dev/null
check "range GET returns the bytes at the offset" \
	cmp "$W/range" <(tail -c +524288 "$W/big" | head -c 4099)
[ "$("$S3PROBE" "$U" stat data/00/big 2>/dev/null)" = 1048577 ] && ok "stat gives the size" || not_ok "stat gives the size"
: > "$W/empty"
check "an empty object round-trips" sh -c "'$S3PROBE' '$U' put config '$W/empty' && [ \"\$('$S3PROBE' '$U' stat config)\" = 0 ]"
check_exit "stat of a missing object: exit 4" 4 "$S3PROBE" "$U" stat data/00/nope
check_exit "get of a missing object: exit 4" 4 "$S3PROBE" "$U" get data/00/nope
check_exit "range beyond the end fails" 1 "$S3PROBE" "$U" range data/00/big 1048570 100
check_exit "a name outside the object alphabet is refused" 2 "$S3PROBE" "$U" put ../x "$W/empty"

# > 1000 objects, put by parallel threads: ListObjectsV2 must follow continuation tokens
check "1100 objects put in parallel" "$S3PROBE" "$U" putmany index/ 1100 64
"$S3PROBE" "$U" list index/ > "$W/list" 2>/dev/null
[ "$(wc -l < "$W/list")" -eq 1100 ] && ok "listing returns all 1100 (pages of 1000)" \
	|| not_ok "listing returns all 1100 (got $(wc -l < "$W/list"))"
check "listing names and sizes are exact" diff <(seq -f 'index/%06g 64' 0 1099) <(LC_ALL=C sort "$W/list")
grep -q 's3-peer: listing page 2+' "$W/r1/server.out" && ok "a second page was requested" || not_ok "a second page was requested"
[ "$("$S3PROBE" "$U" list 2>/dev/null | wc -l)" -eq 1102 ] && ok "listing everything under the prefix" || not_ok "listing everything under the prefix"
check "delete" "$S3PROBE" "$U" del index/000007
check_exit "deleted object is gone" 4 "$S3PROBE" "$U" stat index/000007
"$S3PROBE" "$U" lock > "$W/lock" 2>&1
grep -qx "object-lock off" "$W/lock" && ok "Object Lock probe: absent on s3rver, handled" || not_ok "Object Lock probe: $(cat "$W/lock")"

# Signing: the peer recomputes every signature
check_exit "wrong secret: exit 3" 3 env AWS_SECRET_ACCESS_KEY=not-the-secret-4711 "$S3PROBE" "$U" stat data/00/big
grep -q "credentials refused (wrong secret or clock skew?)" "$W/last.err" && ! grep -q "not-the-secret-4711" "$W/last.err" \
	&& ok "wrong secret: clear message, secret not echoed" || not_ok "wrong secret message: $(cat "$W/last.err")"
check_exit "unknown access key: exit 3" 3 env AWS_ACCESS_KEY_ID=NOBODY "$S3PROBE" "$U" get data/00/big
check_exit "wrong region: exit 3" 3 "$S3PROBE" "s3:http://127.0.0.1:$PORT_r1/bkt/repo?region=us-west-2" stat data/00/big
check_exit "plain http to a non-loopback host is refused" 2 "$S3PROBE" "s3:http://192.0.2.1/bkt" stat config
grep -q "plain http is refused" "$W/last.err" && ok "... with a clear message" || not_ok "http refusal message: $(cat "$W/last.err")"

# TLS: certificate verification is on; a private CA through ?ca=
check "https with the private CA (?ca=)" sh -c "'$S3PROBE' '$T?ca=$W/tls/ca.pem' put config '$W/big' && '$S3PROBE' '$T?ca=$W/tls/ca.pem' get config | cmp - '$W/big'"
check_exit "https without the CA: certificate refused" 1 "$S3PROBE" "$T" stat config

# Object Lock: s3rver has none, so the peer pretends (--object-lock) and logs
# each PUT's retention headers
s3_start olock us-east-1 --object-lock lbkt
L="s3:http://127.0.0.1:$PORT_olock/lbkt"
[ "$("$S3PROBE" "$L" lock 2>/dev/null)" = "object-lock on" ] && ok "Object Lock probe: enabled bucket seen" || not_ok "Object Lock not seen"
check "put with ?retain=30d (checksum signed)" "$S3PROBE" "$L?retain=30d" put data/00/locked "$W/empty"
until=$(sed -n 's#^s3-peer: PUT /lbkt/data/00/locked lock COMPLIANCE \(.*\)$#\1#p' "$W/olock/server.out")
days=$(( ($(date -u -d "$until" +%s 2>/dev/null || echo 0) - $(date -u +%s)) / 86400 ))
[ "$days" -ge 29 ] && [ "$days" -le 30 ] && ok "retain-until is 30 days ahead ($until)" || not_ok "retain-until '$until'"
"$S3PROBE" "$L?retain=30d" put locks/abc "$W/empty" 2>/dev/null
grep -q "^s3-peer: PUT /lbkt/locks/abc lock - -" "$W/olock/server.out" && ok "lock objects get no retention (they are deleted)" || not_ok "lock object retained"
"$S3PROBE" "$L" put data/00/dflt "$W/empty" 2>"$W/dflt.err"
grep -q "bucket's default retention applies" "$W/dflt.err" && grep -q "^s3-peer: PUT /lbkt/data/00/dflt lock - -" "$W/olock/server.out" \
	&& ok "no retention given: warned, the bucket default applies" || not_ok "no-retention case: $(cat "$W/dflt.err")"

# A repository on that bucket: every object but locks/ is retained for the
# repository's floor (init --min-retention), unless ?retain= says otherwise.
BK="$top_builddir/tools/phifs-backup/phifs-backup"
head -c 32 /dev/urandom > "$W/bk.key" && chmod 600 "$W/bk.key"
mkdir -p "$W/src" && head -c 5000 /dev/urandom > "$W/src/f"
retain_days() {   # retain_days PATH-PREFIX: distinct whole days ahead of every PUT under it
	sed -n "s#^s3-peer: PUT $1[^ ]* lock COMPLIANCE \(.*\)\$#\1#p" "$W/olock/server.out" | while read -r u; do
		echo $(( ($(date -u -d "$u" +%s) - $(date -u +%s) + 3600) / 86400 ))
	done | sort -u | tr '\n' ' '
}
"$BK" -r "$L/floor" init --kms "local:$W/bk.key" --min-retention 400d >/dev/null 2>"$W/floor.err" \
	&& "$BK" -r "$L/floor" backup "$W/src" >/dev/null 2>>"$W/floor.err"
got=$(retain_days /lbkt/floor/)
[ "$got" = "400 " ] && grep -q "^s3-peer: PUT /lbkt/floor/snapshots/" "$W/olock/server.out" \
	&& ok "repository objects retained for the floor (400 days)" || not_ok "floor retention: '$got' $(cat "$W/floor.err")"
grep -q "^s3-peer: PUT /lbkt/floor/locks/[^ ]* lock - -" "$W/olock/server.out" && ! grep -q "default retention applies" "$W/floor.err" \
	&& ok "... locks/ without retention, no default-retention warning" || not_ok "floor locks: $(cat "$W/floor.err")"
"$BK" -r "$L/over?retain=30d" init --kms "local:$W/bk.key" --min-retention 400d >/dev/null 2>"$W/over.err" \
	&& "$BK" -r "$L/over?retain=30d" backup "$W/src" >/dev/null 2>>"$W/over.err"
got=$(retain_days /lbkt/over/)
[ "$got" = "30 " ] && ok "?retain= overrides the floor (30 days)" || not_ok "override retention: '$got' $(cat "$W/over.err")"

# Credentials from a file and profile; none at all
printf '[default]\naws_access_key_id = NOBODY\naws_secret_access_key = x\n\n[backup]\naws_access_key_id=S3RVER\naws_secret_access_key = S3RVER\n' > "$W/creds"
check "credentials file, profile AWS_PROFILE" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	AWS_SHARED_CREDENTIALS_FILE="$W/creds" AWS_PROFILE=backup "$S3PROBE" "$U" stat data/00/big
check_exit "no credentials at all: refused" 1 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	HOME="$W" "$S3PROBE" "$U" stat config
check_exit "bucket missing: exit 4" 4 "$S3PROBE" "s3:http://127.0.0.1:$PORT_r1/nobucket?region=eu-west-1" stat config
finish
