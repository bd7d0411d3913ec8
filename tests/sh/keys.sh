#!/usr/bin/env bash
# keys.sh: phifs-keys status and rotate-kms on a real mount. status counts
# files per volume-key version and flags keys past --max-age (exit 3);
# rotate-kms moves the volume to a new KEK while it is mounted, touching no
# file: the old key file no longer opens it, the new one does; a passphrase
# volume moves to a key file the same way.
. "$(dirname "$0")/lib.sh"
setup
plan 17
PY=/usr/bin/python3
init_volume && mount_volume || bail "cannot mount"
mkdir "$MNT/d"
for i in 1 2 3 4 5; do head -c $((i * 5000)) /dev/urandom > "$MNT/d/f$i"; done
ln "$MNT/d/f1" "$MNT/d/link"
: > "$MNT/empty"
manifest "$MNT" > "$WORK/before"

out=$("$PHIFS_KEYS" status "$CIPHER" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "status exits 0 on a fresh volume" || { not_ok "status exits 0 (got $rc)"; diag "$out"; }
echo "$out" | grep -Eq "v1 +active +primary .*files 6 .*KEK local:[0-9a-f]{16}" \
	&& ok "status: v1 is primary, wraps 6 files (hard link counted once), names the KEK" \
	|| { not_ok "status: v1 line"; diag "$out"; }
"$PHIFS_KEYS" status --json "$CIPHER" | $PY -c '
import json, sys
d = json.load(sys.stdin); k = d["volume_keys"][0]
sys.exit(not (d["files"] == 6 and k["version"] == 1 and k["files"] == 6 and k["kek"]["state"] == "active"
              and k["kek_id"].startswith("local:") and d["too_old"] is False))' \
	&& ok "status --json: files, version, KEK state" || not_ok "status --json: files, version, KEK state"
sleep 2
rc=0; "$PHIFS_KEYS" status --max-age 1s "$CIPHER" > "$WORK/old.txt" 2>&1 || rc=$?
[ $rc -eq 3 ] && grep -q "TOO OLD" "$WORK/old.txt" && ok "status --max-age 1s: exit 3, TOO OLD" \
	|| { not_ok "status --max-age 1s: exit 3 (got $rc)"; diag "$(cat "$WORK/old.txt")"; }
check "status --max-age 365d: exit 0" "$PHIFS_KEYS" status --max-age 365d "$CIPHER"
check_fails "status --max-age with a bad unit is refused" "$PHIFS_KEYS" status --max-age 3w "$CIPHER"

old_id=$("$PHIFS" info --json "$CIPHER" | $PY -c 'import json,sys; print(json.load(sys.stdin)["key_slots"][0]["kek_id"])' 2>/dev/null)
(cd "$CIPHER" && find . -type f ! -name phifs.conf ! -path './phifs.journal/*' -exec sha256sum {} + | sort) > "$WORK/backing.before"
rc=0; out=$("$PHIFS_KEYS" rotate-kms "$CIPHER" 2>&1) || rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q -- "--to" && ok "rotate-kms on a key file without --to explains --to" \
	|| { not_ok "rotate-kms without --to (rc=$rc)"; diag "$out"; }
rc=0; out=$("$PHIFS_KEYS" rotate-kms --json --to "local:$WORK/kek2.bin" "$CIPHER" 2>/dev/null) || rc=$?
new_id=$(echo "$out" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["new_kek_id"])' 2>/dev/null)
[ $rc -eq 0 ] && [ -n "$new_id" ] && [ "$new_id" != "$old_id" ] && ok "rotate-kms --to a new key file while mounted" \
	|| { not_ok "rotate-kms --to (rc=$rc)"; diag "$out"; }
check "the new key file is mode 0600" test "$(stat -c %a "$WORK/kek2.bin")" = 600
(cd "$CIPHER" && find . -type f ! -name phifs.conf ! -path './phifs.journal/*' -exec sha256sum {} + | sort) > "$WORK/backing.after"
check "rotate-kms touched no file but the config" cmp "$WORK/backing.before" "$WORK/backing.after"
check "the mount keeps working during the rotation" sh -c "manifest_now=\$(cat '$MNT/d/f3' | wc -c); [ \$manifest_now = 15000 ]"
umount_volume
check "info names the new KEK" sh -c "'$PHIFS' info '$CIPHER' | grep -q '$new_id'"
out=$(mount_volume --kms "local:$KEY" 2>&1); rc=$?
[ $rc -eq 3 ] && echo "$out" | grep -q "wrong key" && ok "the old key file no longer opens the volume (exit 3)" \
	|| { not_ok "old key refused (rc=$rc)"; diag "$out"; umount_volume; }
mount_volume || bail "cannot mount with the new KEK"
manifest "$MNT" > "$WORK/after"
check "every file is unchanged under the new KEK" cmp "$WORK/before" "$WORK/after"
umount_volume

# A passphrase volume moved to a key file: the passphrase is no longer needed.
P2="$WORK/pp.cipher"; mkdir "$P2"; printf 'correct horse battery staple\n' > "$WORK/pass"
"$PHIFS" init --kms passphrase --passfile "$WORK/pass" "$P2" > /dev/null || bail "cannot init a passphrase volume"
check "rotate-kms from a passphrase to a key file" "$PHIFS_KEYS" rotate-kms --passfile "$WORK/pass" --to "local:$WORK/kek3.bin" "$P2"
CIPHER=$P2
check "the moved volume mounts from its key file alone" mount_volume
check "and takes writes" sh -c "echo moved > '$MNT/x' && grep -qx moved '$MNT/x'"
umount_volume
finish
