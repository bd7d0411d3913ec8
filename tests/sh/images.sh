#!/usr/bin/env bash
# images.sh: the committed reference volumes of tests/images/ (made once by
# scripts/make-images.sh; filekms-v1 in per-file KMS mode) still open, verify and read back exactly — a change
# that cannot read an old volume fails here — and the corrupt ones are caught.
. "$(dirname "$0")/lib.sh"
setup
plan 20
IMG="$top_srcdir/tests/images"
export PHIFS_TEST_FAST_KDF=1
cp "$IMG/kek.bin" "$KEY"; chmod 600 "$KEY"
LOCAL=(--kms "local:$KEY")
PASS=(--kms passphrase --passfile "$IMG/passphrase")

unpack() { rm -rf "$CIPHER"; tar -C "$WORK" --xattrs -xzf "$IMG/$1.tar.gz"; mv "$WORK/c" "$CIPHER"; }

# A valid image: fsck clean, info says format 1, mounted content = manifest.
valid() {
	local name=$1; shift
	unpack "$name"
	check "$name: fsck is clean" "$PHIFS" fsck "$@" "$CIPHER"
	check "$name: info reports format version 1" sh -c "'$PHIFS' info --json '$CIPHER' | grep -q '\"format_version\": *1'"
	if "$PHIFS" mount --ro --pidfile "$WORK/phifs.pid" "$@" "$CIPHER" "$MNT"; then
		manifest "$MNT" > "$WORK/$name.got"
		umount_volume
		if cmp -s "$WORK/$name.got" "$IMG/$name.manifest"; then ok "$name: every name, byte, link and xattr reads back"
		else not_ok "$name: every name, byte, link and xattr reads back"; diff "$IMG/$name.manifest" "$WORK/$name.got" | head | sed 's/^/# /'; fi
	else
		not_ok "$name: mounts"
	fi
}
valid gcm-v1 "${LOCAL[@]}"
valid xts-v1 "${LOCAL[@]}"
valid pass-v1 "${PASS[@]}"
# Per-file KMS mode: one KMS unwrap per file, through the same key file.
valid filekms-v1 "${LOCAL[@]}"
check "filekms-v1: info reports per-file KMS wrap" sh -c "'$PHIFS' info --json '$CIPHER' | grep -q '\"wrap_mode\": *\"per-file-kms\"'"

unpack gcm-v1-badblock
out=$("$PHIFS" fsck "${LOCAL[@]}" --show-paths "$CIPHER" 2>&1); rc=$?
[ $rc -eq 1 ] && ok "bad block: fsck exits 1" || not_ok "bad block: fsck exits 1 (got $rc)"
echo "$out" | grep -Eq "block 1:.*(numbers.txt|hardlink-to-numbers)" && ok "bad block: fsck names the file and block 1" \
	|| { not_ok "bad block: fsck names the file and block 1"; echo "$out" | sed 's/^/# /' | head; }
"$PHIFS" mount --ro --pidfile "$WORK/phifs.pid" "${LOCAL[@]}" "$CIPHER" "$MNT"
check_fails "bad block: reading block 1 fails (EIO)" dd if="$MNT/numbers.txt" of=/dev/null bs=4096 skip=1 count=1 status=none
check "bad block: block 0 still reads" sh -c "dd if='$MNT/numbers.txt' bs=4096 count=1 status=none | head -1 | grep -qx 1"
check "bad block: other files still read" grep -q "Jane Doe" "$MNT/Clinical Notes/2026/visit.txt"
umount_volume

unpack gcm-v1-badconfig
out=$("$PHIFS" mount "${LOCAL[@]}" "$CIPHER" "$MNT" 2>&1); rc=$?
[ $rc -eq 4 ] && ok "edited config: mount refused (exit 4)" || not_ok "edited config: mount refused (exit $rc)"
echo "$out" | grep -q "modified" && ok "edited config: the message says it was modified" || { not_ok "edited config: message"; diag "$out"; }
finish
