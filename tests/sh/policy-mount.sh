#!/usr/bin/env bash
# policy-mount.sh: the access policy enforced by a mounted volume
# (docs/OPERATIONS.md "Access policy"): callers of other uids and groups
# (setpriv) are permitted or refused by rule — opens, listings, creates,
# renames, links — each refusal recorded as "denied" with reason policy and
# its rule (and not twice as a permission denial); an `audit` rule flags the
# records it matches; learn mode permits and records would-be denials; the
# break-glass group is refused outside a session and, within one (`phifs
# unlock --break-glass`), permitted with the reason on every record; a policy
# changed behind the volume key's back refuses the mount.
. "$(dirname "$0")/lib.sh"
setup
command -v keyctl >/dev/null || bail "keyctl missing (apt-get install keyutils)"
plan 19
BILL=3101 DOC=3102 BG=3103   # uids; each user's gid is its uid
init_volume || bail "cannot init"
vid=$("$PHIFS" info --json "$CIPHER" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["volume_id"])')
forget_keys() {
	for d in v1 break-glass locked adopted; do
		id=$(keyctl search @u user "phifs:$vid:$d" 2>/dev/null) && keyctl invalidate "$id"
	done
	true
}
trap 'forget_keys; teardown' EXIT
as() { local u="$1"; shift; setpriv --reuid="$u" --regid="$u" --groups="$u" "$@"; }

cat > "$WORK/policy.txt" <<POL
default permit
break-glass gid=$BG
permit any uid=0
deny any path=/clinical
audit read path=/audited
deny write gid=$BILL path=/billing/readonly
POL
"$PHIFS" policy set "$CIPHER" "$WORK/policy.txt" >/dev/null || bail "policy set"
AUD="$WORK/spool1"
mount_volume -o "audit=$AUD,direct_io" || bail "cannot mount"   # reads reach the daemon: io records
mkdir -p "$MNT/clinical" "$MNT/billing/readonly" "$MNT/audited"
for f in clinical/chart billing/invoice billing/readonly/r audited/a; do echo "data $f" > "$MNT/$f"; done
chmod 755 "$MNT"; chmod -R a+rwX "$MNT"/*

check "a permitted read succeeds" as $BILL cat "$MNT/billing/invoice"
check_fails "a read under a deny rule is refused" as $BILL cat "$MNT/clinical/chart"
out=$(as $BILL cat "$MNT/clinical/chart" 2>&1)
echo "$out" | grep -q "Permission denied" && ok "... with EACCES" || { not_ok "EACCES"; diag "$out"; }
check_fails "listing a denied directory is refused (names are PHI)" as $BILL ls "$MNT/clinical"
check_fails "creating under a denied path is refused" as $DOC sh -c "echo x > '$MNT/clinical/new'"
check_fails "renaming a file into a denied path is refused" as $BILL mv "$MNT/billing/invoice" "$MNT/clinical/"
check_fails "a hard link into a denied path is refused" as $BILL ln "$MNT/billing/invoice" "$MNT/clinical/l"
check_fails "a write under a group's write-deny is refused" as $BILL sh -c "echo x >> '$MNT/billing/readonly/r'"
check "... while reading it is permitted" as $BILL cat "$MNT/billing/readonly/r"
check_fails "the break-glass group outside a session is refused like anyone" as $BG cat "$MNT/clinical/chart"
"$PHIFS" unlock --kms "local:$KEY" --timeout 5m --break-glass "code blue ward 4" "$CIPHER" >/dev/null \
	|| not_ok "unlock --break-glass"
sleep 1.2   # the daemon looks at the keyring at most once a second
check "within a break-glass session the group is permitted" as $BG cat "$MNT/clinical/chart"
as $DOC cat "$MNT/audited/a" >/dev/null
umount_volume

rcheck "denials carry reason policy and the rule, uid and op" "$AUD" \
	'any(r["actor"]["uid"] == '$BILL' and r.get("reason") == "policy" and r.get("rule") == 2 and r.get("op") == "open" for r in ev("denied")) and any(r.get("op") == "opendir" for r in ev("denied"))'
rcheck "a policy denial is not also recorded as a permission denial" "$AUD" \
	'not [r for r in ev("denied") if r.get("reason") == "permission"]'
rcheck "break-glass records are flagged with the reason given at unlock" "$AUD" \
	'any(r["actor"]["uid"] == '$BG' and r.get("flag") == "break-glass" and r.get("reason") == "code blue ward 4" for r in ev("open")) and any(r.get("flag") == "break-glass" and r.get("reason") == "code blue ward 4" for r in ev("read"))'
rcheck "an audit rule flags the records it matches" "$AUD" \
	'any(r["actor"]["uid"] == '$DOC' and r.get("flag") == "policy-audit" and r.get("rule") == 3 for r in ev("open"))'
rcheck "... and records its reads call by call (per-op), flagged" "$AUD" \
	'any(r["actor"]["uid"] == '$DOC' and r.get("flag") == "policy-audit" and r.get("bytes", 0) > 0 for r in ev("read")) and not [r for r in ev("read") if r["actor"]["uid"] == '$BILL']'

# Learn mode: would-be denials are permitted and recorded.
{ echo "mode learn"; cat "$WORK/policy.txt"; } > "$WORK/learn.txt"
"$PHIFS" policy set "$CIPHER" "$WORK/learn.txt" >/dev/null || not_ok "policy set (learn)"
AUD="$WORK/spool2"
mount_volume -o "audit=$AUD" || bail "cannot mount (learn)"
check "learn mode: a read under a deny rule is permitted" as $BILL cat "$MNT/clinical/chart"
umount_volume
rcheck "learn mode: the would-be denial is recorded with learn and the rule" "$AUD" \
	'any(r["actor"]["uid"] == '$BILL' and r.get("learn") is True and r.get("rule") == 2 for r in ev("denied"))'

# A policy changed without the volume key refuses the mount.
chmod u+w "$CIPHER/phifs.policy"
sed -i 's/deny any path=\/clinical/permit any path=\/clinical/' "$CIPHER/phifs.policy"
rc=0; out=$(mount_volume 2>&1) || rc=$?
[ $rc -eq 4 ] && echo "$out" | grep -q "policy" && ! mountpoint -q "$MNT" \
	&& ok "a modified policy refuses the mount (exit 4, says why)" || { not_ok "modified policy (rc=$rc)"; diag "$out"; }
finish
