#!/usr/bin/env bash
# variants.sh: the other ways to run a volume — AES-256-XTS, the passphrase
# provider (--passfile, --extpass), `mount -t phifs` through mount.phifs with
# an fstab-style option list, read-only mounts, and the CLI's exit codes.
. "$(dirname "$0")/lib.sh"
setup
plan 18
MOUNT_HELPER="$top_builddir/tools/mount.phifs/mount.phifs"
export PHIFS_TEST_FAST_KDF=1   # Argon2id at its minimum cost, for tests only

# XTS: length-preserving, confidentiality only.
init_volume --cipher xts
check "info says XTS" sh -c "'$PHIFS' info '$CIPHER' | grep -q AES-256-XTS"
mount_volume
head -c 100003 /dev/urandom > "$WORK/x"; cp "$WORK/x" "$MNT/x"; printf 'short' > "$MNT/s"
check "XTS round trip" cmp "$WORK/x" "$MNT/x"
check "XTS tail shorter than 16 bytes" test "$(cat "$MNT/s")" = short
check "XTS backing size is header + plaintext" sh -c "find '$CIPHER' -type f -size $((176 + 100003))c | grep -q ."
umount_volume
check "fsck on an XTS volume" "$PHIFS" fsck "$CIPHER"
rm -rf "$CIPHER"

# Passphrase provider.
printf 'correct horse battery staple\n' > "$WORK/pass"; chmod 600 "$WORK/pass"
check "init with a passphrase from a file" "$PHIFS" init --kms passphrase --passfile "$WORK/pass" "$CIPHER"
check "mount with the passphrase file" "$PHIFS" mount --passfile "$WORK/pass" "$CIPHER" "$MNT"
echo secret-data > "$MNT/f"
umount_volume
printf 'wrong\n' > "$WORK/bad"
"$PHIFS" mount --passfile "$WORK/bad" "$CIPHER" "$MNT" >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && ok "a wrong passphrase refuses to mount (exit 3)" || not_ok "wrong passphrase exit $rc"
check "--extpass reads the passphrase from a command" "$PHIFS" mount --extpass "cat $WORK/pass" "$CIPHER" "$MNT"
check "data written under the passphrase reads back" test "$(cat "$MNT/f")" = secret-data
umount_volume
rm -rf "$CIPHER"

# mount -t phifs through the helper, with fstab-style options.
init_volume
added_helper=0
if [ ! -e /sbin/mount.phifs ]; then ln -s "$MOUNT_HELPER" /sbin/mount.phifs && added_helper=1; fi
PATH="$top_builddir/tools/phifs:$PATH" mount -t phifs "$CIPHER" "$MNT" -o "kms=local:$KEY,defaults,_netdev,nodev,nosuid,allow_other"
check "mount -t phifs works through mount.phifs" mountpoint -q "$MNT"
check "it honours nosuid from the option list" sh -c "grep ' $MNT ' /proc/mounts | grep -q nosuid"
echo via-helper > "$MNT/h"
umount_volume
[ $added_helper = 1 ] && rm -f /sbin/mount.phifs

# Read-only mounts.
mount_volume -o ro
check "ro mount reads" test "$(cat "$MNT/h")" = via-helper
check_fails "ro mount refuses writes" sh -c "echo x > '$MNT/new'"
bdi_ra() { cat "/sys/class/bdi/$(awk -v m="$MNT" '$5==m {d=$3} END {print d}' /proc/self/mountinfo)/read_ahead_kb"; }
check "the mount's kernel readahead is raised to 1 MiB" test "$(bdi_ra)" = 1024
umount_volume
mount_volume -o readahead=256
check "readahead=256 sets it to 256 KiB" test "$(bdi_ra)" = 256
umount_volume

# Exit codes (README).
"$PHIFS" frobnicate >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "unknown command exits 2" || not_ok "unknown command exits 2 (got $rc)"
"$PHIFS" info "$WORK" >/dev/null 2>&1; rc=$?
[ $rc -eq 4 ] && ok "info on a non-volume exits 4" || not_ok "info on a non-volume exits 4 (got $rc)"
finish
