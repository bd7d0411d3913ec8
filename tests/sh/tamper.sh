#!/usr/bin/env bash
# tamper.sh: an attacker with write access to the cipher directory — a flipped
# byte, a zeroed block, a truncated file, an edited config — is detected:
# reads of the damaged block fail with EIO (others still work), fsck names the
# file (by backing path; by plaintext path only with --show-paths), and an
# edited config refuses to mount.
. "$(dirname "$0")/lib.sh"
setup
plan 12
PY=/usr/bin/python3
init_volume && mount_volume || { echo "Bail out! cannot mount"; exit 1; }
head -c $((16 * 4096)) /dev/urandom > "$WORK/victim"
cp "$WORK/victim" "$MNT/victim-record.pdf"
cp "$WORK/victim" "$MNT/bystander"
ino=$(stat -c %i "$MNT/victim-record.pdf")
umount_volume
# The victim's backing file: the one whose name decrypts to victim-record.pdf;
# find it as the file with the same backing inode number (phifs passes it through).
victim=$(find "$CIPHER" -inum "$ino")
[ -n "$victim" ] && ok "found the victim's backing file" || not_ok "found the victim's backing file"

# Flip one byte inside block 5 (header 176 + 5 slots + 100).
$PY - "$victim" <<'PYEOF'
import sys
off = 176 + 5 * 4128 + 100
with open(sys.argv[1], 'r+b') as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 1]))
PYEOF
mount_volume
check_fails "reading the damaged block fails" dd if="$MNT/victim-record.pdf" of=/dev/null bs=4096 skip=5 count=1 status=none
check "reading other blocks of the same file works" bash -c "dd if='$MNT/victim-record.pdf' bs=4096 count=5 status=none | cmp -s - <(head -c 20480 '$WORK/victim')"
check "other files are unaffected" cmp "$MNT/bystander" "$WORK/victim"
check "the daemon is still serving" ls "$MNT"
umount_volume
out=$("$PHIFS" fsck "$CIPHER" 2>&1); rc=$?
[ $rc -eq 1 ] && ok "fsck exits 1 on a damaged volume" || not_ok "fsck exits 1 on a damaged volume (got $rc)"
echo "$out" | grep -q -e "$(basename "$victim").*block 5" && ok "fsck names the backing file and block" || { not_ok "fsck names the backing file and block"; diag "$out"; }
echo "$out" | grep -q "victim-record" && not_ok "fsck hides plaintext names by default" || ok "fsck hides plaintext names by default"
"$PHIFS" fsck --show-paths "$CIPHER" 2>&1 | grep -q "victim-record.pdf" && ok "fsck --show-paths names the plaintext path" || not_ok "fsck --show-paths names the plaintext path"
"$PHIFS" fsck --json "$CIPHER" | tail -1 | $PY -c "import json,sys; d=json.load(sys.stdin); sys.exit(not (d['type']=='summary' and d['problems']>=1))" \
	&& ok "fsck --json ends with a summary" || not_ok "fsck --json ends with a summary"

# Truncate the bystander at a block boundary: detected (GCM authenticates the end).
by=$(find "$CIPHER" -type f -size $((176 + 16 * 4128))c ! -inum "$ino" | head -1)
truncate -s $((176 + 8 * 4128)) "$by"
"$PHIFS" fsck "$CIPHER" 2>&1 | grep -qF -e "$(basename "$by")" && ok "truncation at a block boundary is detected" || not_ok "truncation at a block boundary is detected"

# Edit one byte of the config's body: the volume must not mount.
$PY - "$CIPHER/phifs.conf" <<'PYEOF'
import os, sys
p = sys.argv[1]; os.chmod(p, 0o600)
with open(p, 'r+b') as f:
    f.seek(44); b = f.read(1); f.seek(44); f.write(bytes([b[0] ^ 0x40]))
PYEOF
out=$(mount_volume 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "modified" && ok "an edited config refuses to mount" || { not_ok "an edited config refuses to mount"; diag "rc=$rc $out"; }
finish
