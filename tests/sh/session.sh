#!/usr/bin/env bash
# session.sh: unlock sessions in the kernel keyring. `phifs unlock` lets a
# mount proceed without the KMS until its timeout; `phifs lock` makes a
# mounted daemon evict its keys (new opens EACCES, open handles keep working)
# until `phifs unlock`; an expired session and idle_timeout= do the same.
. "$(dirname "$0")/lib.sh"
setup
command -v keyctl >/dev/null || bail "keyctl missing (apt-get install keyutils)"
plan 16
init_volume || bail "cannot init"
vid=$("$PHIFS" info --json "$CIPHER" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["volume_id"])')
away() { mv "$KEY" "$KEY.away"; }
back() { mv "$KEY.away" "$KEY"; }
# Waits up to 5 s for a command to succeed (the daemon polls once a second).
eventually() { for _ in $(seq 25); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
denied() { ! cat "$MNT/f" >/dev/null 2>&1 && [ -n "$(cat "$MNT/f" 2>&1 | grep 'Permission denied')" ]; }

check "unlock puts the volume key in the user keyring" sh -c "'$PHIFS' unlock --timeout 60s '$CIPHER' && keyctl search @u user 'phifs:$vid:v1'"
# rdescribe: type;uid;gid;perm;desc — perm: possessor all, user view/read/search/setattr, group and other nothing
check "the keyring key is readable by its uid only (perm 3f2b0000)" sh -c "keyctl rdescribe \$(keyctl search @u user 'phifs:$vid:v1') | cut -d';' -f4 | grep -qx 3f2b0000"
away
check "with the key file gone, the volume mounts from the keyring" mount_volume
echo "patient-data" > "$MNT/f"
check "and round-trips data" grep -qx patient-data "$MNT/f"
exec 3< "$MNT/f"
check "lock removes the key from the keyring" sh -c "'$PHIFS' lock '$CIPHER' && ! keyctl search @u user 'phifs:$vid:v1'"
check "after lock, a new open is refused (EACCES)" eventually denied
check "after lock, listing the directory is refused" sh -c "! ls '$MNT' 2>/dev/null"
check "a handle opened before the lock keeps reading" sh -c 'grep -qx patient-data <&3'
exec 3<&-
back
check "unlock serves the mounted volume again" sh -c "'$PHIFS' unlock --timeout 3s '$CIPHER' >/dev/null"
check "the file opens again after unlock" eventually grep -qx patient-data "$MNT/f"
umount_volume
away
mount_volume || bail "cannot mount from the 3 s session"
check "when the unlock session expires, the mounted daemon evicts its keys" eventually denied
umount_volume
out=$(mount_volume 2>&1); rc=$?
[ $rc -eq 3 ] && ok "an expired session needs the KMS again (exit 3 without the key file)" \
	|| { not_ok "expired session refused (rc=$rc)"; diag "$out"; umount_volume; }
back

# idle_timeout=: a KMS-mounted volume forgets its keys after 2 s without operations.
mount_volume -o idle_timeout=2 || bail "cannot mount with idle_timeout"
check "idle_timeout: files open before the timeout" grep -qx patient-data "$MNT/f"
sleep 4
check "idle_timeout: after 2 s idle the keys are gone (EACCES)" denied
check "idle_timeout: phifs unlock brings them back on the next open" sh -c "'$PHIFS' unlock --timeout 60s '$CIPHER' >/dev/null && grep -qx patient-data '$MNT/f'"
umount_volume
"$PHIFS" lock "$CIPHER" >/dev/null
check "lock leaves no key of the volume in the keyring" sh -c "! keyctl search @u user 'phifs:$vid:v1'"
finish
