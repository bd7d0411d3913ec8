#!/usr/bin/env bash
# policy.sh: `phifs policy set|show|check` on a real volume (no mount needed):
# a policy file is checked (syntax errors name the line, never its content;
# unknown names fail), stored under a MAC of the volume key, shown without a
# key, verified with it; a byte changed in the cipher dir or a foreign key is
# refused; check answers what an access would get (first match, default,
# time window, learn mode, break-glass).
. "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d /tmp/phifs-policy-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CIPHER="$WORK/cipher"; KEY="$WORK/kek.bin"
plan 15
init_volume || bail "cannot create a volume"

cat > "$WORK/p.txt" <<'POL'
# billing reads billing/, not clinical/; backup lists but reads nothing
default audit
break-glass gid=4242
permit metadata user=root path=/backup-meta
deny any uid=34
permit read,write gid=500 path=/billing
deny any gid=500 path=/clinical
deny write uid=1001 path=/clinical days=sat,sun
POL
# run CMD...: stdout+stderr into $out, exit status into $rc
run() { rc=0; out=$("$@" 2>&1) || rc=$?; }

run "$PHIFS" policy check "$CIPHER" "$WORK/p.txt"
[ $rc -eq 0 ] && echo "$out" | grep -q "valid: 5 rules" && ok "check FILE: valid, 5 rules" || { not_ok "check FILE (rc=$rc)"; diag "$out"; }
printf 'permit read gid=500 path=/billing\npermit read path=/secret-patient-name/../x\n' > "$WORK/bad.txt"
run "$PHIFS" policy check "$CIPHER" "$WORK/bad.txt"
[ $rc -eq 1 ] && echo "$out" | grep -q "line 2" && ! echo "$out" | grep -q "secret-patient" \
	&& ok "syntax error: exit 1, names line 2, not its content" || { not_ok "syntax error (rc=$rc)"; diag "$out"; }
printf 'deny any user=no-such-user-phifs\n' > "$WORK/nouser.txt"
run "$PHIFS" policy check "$CIPHER" "$WORK/nouser.txt"
[ $rc -eq 1 ] && echo "$out" | grep -q "not found" && ok "unknown user name: exit 1" || not_ok "unknown user (rc=$rc)"
run "$PHIFS" policy set "$CIPHER" "$WORK/bad.txt"
[ $rc -eq 1 ] && [ ! -e "$CIPHER/phifs.policy" ] && ok "set refuses an invalid policy and stores nothing" || not_ok "set invalid (rc=$rc)"

run "$PHIFS" policy check "$CIPHER"
[ $rc -eq 1 ] && echo "$out" | grep -q "no access policy" && ok "check: no policy stored yet" || not_ok "check without policy (rc=$rc)"
run "$PHIFS" policy set "$CIPHER" "$WORK/p.txt"
[ $rc -eq 0 ] && [ -f "$CIPHER/phifs.policy" ] && ok "set: stored as phifs.policy" || { not_ok "set (rc=$rc)"; diag "$out"; }
"$PHIFS" policy show "$CIPHER" 2>/dev/null > "$WORK/shown.txt"
cmp -s "$WORK/shown.txt" "$WORK/p.txt" && ok "show: the text as set, without the MAC line" || not_ok "show"
run "$PHIFS" policy check "$CIPHER"
[ $rc -eq 0 ] && echo "$out" | grep -q "MAC verified" && ok "check: stored policy's MAC verified" || { not_ok "check stored (rc=$rc)"; diag "$out"; }

# Answers: first match, default, learn, break-glass.
ans() { "$PHIFS" policy check "$CIPHER" "$@" 2>&1; }
a1=$(ans --user 34 --path /anything --action read)
a2=$(ans --user 0 --path /backup-meta/x --action metadata)
a3=$(ans --user 0 --path /elsewhere --action read)
a4=$(ans "$WORK/p.txt" --user 1001 --path /clinical/r --action write --at 2026-11-22T10:00)
a5=$(ans "$WORK/p.txt" --user 1001 --path /clinical/r --action write --at 2026-11-23T10:00)
[ "$a1" = "deny (rule 2)" ] && [ "$a2" = "permit (rule 1)" ] && [ "$a3" = "audit (default, 0)" ] \
	&& [ "$a4" = "deny (rule 5)" ] && [ "$a5" = "audit (default, 0)" ] \
	&& ok "check --user/--path/--action/--at: first match, default, weekend window" \
	|| { not_ok "answers"; diag "$a1 | $a2 | $a3 | $a4 | $a5"; }
{ echo "mode learn"; cat "$WORK/p.txt"; } > "$WORK/learn.txt"
a6=$(ans "$WORK/learn.txt" --user 34 --path /x --action read)
[ "$a6" = "audit, learn: would deny (rule 2)" ] && ok "learn mode: a deny reported, not enforced" || { not_ok "learn"; diag "$a6"; }
bg=$(getent group | awk -F: '$3 != 0 { print $1":"$3; exit }')
sed "s/break-glass gid=4242/break-glass gid=${bg#*:}/" "$WORK/p.txt" > "$WORK/bg.txt"
member=$(getent passwd | awk -F: -v g="${bg#*:}" '$4 == g { print $3; exit }')
if [ -n "$member" ]; then
	a7=$(ans "$WORK/bg.txt" --user "$member" --path /billing/x --action read)
	[ "${a7#audit, break-glass}" != "$a7" ] && ok "break-glass group member: permitted and flagged" || { not_ok "break-glass"; diag "$a7"; }
else
	ok "break-glass: no user with a non-root primary group here # SKIP"
fi

# Tamper and foreign key.
chmod u+w "$CIPHER/phifs.policy"
sed -i 's/path=\/billing/path=\/billinx/' "$CIPHER/phifs.policy"
run "$PHIFS" policy check "$CIPHER"
[ $rc -eq 4 ] && echo "$out" | grep -q "modified" && ok "a changed byte in phifs.policy: exit 4, modified" || { not_ok "tamper (rc=$rc)"; diag "$out"; }
sed '$d' "$CIPHER/phifs.policy" > "$WORK/nomac" && cp "$WORK/nomac" "$CIPHER/phifs.policy"
run "$PHIFS" policy check "$CIPHER"
[ $rc -eq 4 ] && ok "MAC line removed: exit 4" || not_ok "no MAC line (rc=$rc)"
CIPHER2="$WORK/other"; "$PHIFS" init --kms "local:$WORK/kek2.bin" "$CIPHER2" >/dev/null
"$PHIFS" policy set "$CIPHER2" "$WORK/p.txt" >/dev/null
cp "$CIPHER2/phifs.policy" "$CIPHER/phifs.policy"
run "$PHIFS" policy check "$CIPHER"
[ $rc -eq 4 ] && ok "another volume's authentic policy copied in: exit 4" || not_ok "foreign policy (rc=$rc)"

# rotate-volume-key re-signs the policy under the new key (an old key may be
# retired afterwards: a policy still signed by it would refuse the mount).
"$PHIFS" policy set "$CIPHER" "$WORK/p.txt" >/dev/null || not_ok "policy set again"
"$top_builddir/tools/phifs-keys/phifs-keys" rotate-volume-key --audit off "$CIPHER" >/dev/null 2>&1
run "$PHIFS" policy check "$CIPHER"
[ $rc -eq 0 ] && grep -q '^#phifs-policy-mac v2 ' "$CIPHER/phifs.policy" \
	&& ok "rotate-volume-key: the policy is re-signed under v2 and verifies" || { not_ok "policy after rotation (rc=$rc)"; diag "$out"; }
