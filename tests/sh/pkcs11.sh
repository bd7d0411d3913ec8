#!/usr/bin/env bash
# pkcs11.sh: volumes whose key is wrapped inside a PKCS#11 token (SoftHSM2),
# for real — init, info, mount (the daemon dlopens the module after its fork
# and must see SOFTHSM2_CONF), round trip, no plaintext in the backing store,
# remount; wrong PIN, wrong token, unsafe PIN file, pin-value=, rotation to a
# new KEK version (phifs-keys rotate-kms), a deleted KEK;
# aes-kwp; and the provider's key lifecycle through tests/tools/p11-probe.
# Every test process has its own token directories (scripts/softhsm-peer.sh):
# SoftHSM token stores shared between processes race.
. "$(dirname "$0")/lib.sh"
MODULE=/usr/lib/softhsm/libsofthsm2.so
command -v softhsm2-util >/dev/null && [ -r "$MODULE" ] || skip_all "softhsm2 not installed"
command -v pkcs11-tool >/dev/null || bail "pkcs11-tool missing (apt-get install opensc)"
setup
PROBE="$top_builddir/tests/tools/p11-probe"
plan 65

# peer NAME: a token labelled NAME-$$ in $WORK/hsm-NAME; sets TOK and URI.
peer() {
	TOK="$1-$$"
	bash "$top_srcdir/scripts/softhsm-peer.sh" init "$WORK/hsm-$1" "$TOK" >/dev/null \
		2>"$WORK/peer.err" || { cat "$WORK/peer.err"; bail "cannot make a SoftHSM token"; }
	. "$WORK/hsm-$1/env"
	URI="pkcs11:token=$TOK;object=kek?module-path=$P11_MODULE&pin-source=file:$P11_PIN_FILE"
}

# expect_refused "description" RC PATTERN command...: exits RC and says PATTERN
# (never the wrong PIN 9999 it was given).
expect_refused() {
	local d="$1" want="$2" pat="$3" out rc; shift 3
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" -eq "$want" ] && echo "$out" | grep -q -- "$pat" && ! echo "$out" | grep -q 9999; then
		ok "$d (exit $rc)"
	else
		not_ok "$d (exit $rc)"; diag "$out"
	fi
}

peer main
check "init with a pkcs11: KEK" "$PHIFS" init --kms "$URI" "$CIPHER"
check "info names the pkcs11 KEK" sh -c "'$PHIFS' info '$CIPHER' | grep -q 'wrapped by pkcs11:kek/'"
check "mount (the daemon opens the token after its fork)" mount_volume
MARKER="PATIENT-MARKER-$$-Jane-Doe-MRN-0042"
head -c 300000 /dev/urandom > "$WORK/rand"
cp "$WORK/rand" "$MNT/rand" && printf '%s\n' "$MARKER" > "$MNT/notes.txt"
check "random data reads back equal" cmp -s "$WORK/rand" "$MNT/rand"
check_fails "backing files contain no plaintext marker" grep -rqa "$MARKER" "$CIPHER"
check "umount" umount_volume
check "remount" mount_volume
check "data equal after remount" cmp -s "$WORK/rand" "$MNT/rand"
check "umount again" umount_volume

printf '9999\n' > "$WORK/wrong-pin"; chmod 600 "$WORK/wrong-pin"
expect_refused "wrong PIN refuses to mount" 3 "login to token '$TOK'" \
	"$PHIFS" mount -o "kms=${URI%%&pin-source=*}&pin-source=file:$WORK/wrong-pin" "$CIPHER" "$MNT"
check_fails "nothing mounted with the wrong PIN" mountpoint -q "$MNT"
expect_refused "wrong token label is named" 3 "no token labelled 'nosuch' in module $MODULE" \
	"$PHIFS" mount -o "kms=${URI/token=$TOK/token=nosuch}" "$CIPHER" "$MNT"
chmod 644 "$P11_PIN_FILE"
expect_refused "a group/world-readable PIN file is refused" 3 "mode 0600" \
	"$PHIFS" fsck "$CIPHER"
chmod 600 "$P11_PIN_FILE"
expect_refused "pin-value= is refused" 1 "pin-value= is refused" \
	"$PHIFS" init --kms "${URI%%&pin-source=*}&pin-value=1234" "$WORK/pv"
check "fsck passes with the right PIN" "$PHIFS" fsck "$CIPHER"

KEYS="$top_builddir/tools/phifs-keys/phifs-keys"
check "phifs-keys rotate-kms --retire-old: a new KEK version in the token" \
	"$KEYS" rotate-kms --retire-old "$CIPHER"
check "info names the new version" \
	sh -c "'$PHIFS' info '$CIPHER' | grep -q 'wrapped by pkcs11:kek/0000000000000001'"
check "status describes it active" \
	sh -c "'$KEYS' status '$CIPHER' | grep -q 'KEK pkcs11:kek/0000000000000001: active'"
check "mount after rotation" mount_volume
check "data equal after rotation" cmp -s "$WORK/rand" "$MNT/rand"
check "umount after rotation" umount_volume

peer kwp
check "init with mechanism=aes-kwp" "$PHIFS" init --kms "$URI&mechanism=aes-kwp" "$WORK/kwp"
check "an aes-kwp volume opens (fsck)" "$PHIFS" fsck "$WORK/kwp"

peer gone
check "init on a token whose KEK is deleted next" "$PHIFS" init --kms "$URI" "$WORK/gone"
pkcs11-tool --module "$MODULE" --token-label "$TOK" --login --pin 1234 --delete-object \
	--type secrkey --label kek >/dev/null 2>&1
expect_refused "a deleted KEK refuses the volume cleanly" 3 "holds no active AES key labelled 'kek'" \
	"$PHIFS" fsck "$WORK/gone"

# probe MECH URI: the probe's TAP lines, renumbered into ours.
probe() {
	local out line n=0
	out=$("$PROBE" "$2" 2>"$WORK/probe.err")
	while IFS= read -r line; do
		case "$line" in
		"ok "*) ok "p11-probe $1: ${line#* - }"; n=$((n + 1)) ;;
		"not ok "*) not_ok "p11-probe $1: ${line#* - }"; n=$((n + 1)) ;;
		esac
	done <<< "$out"
	[ "$n" -eq 20 ] || { diag "p11-probe $1 ran $n of 20 checks"; sed 's/^/# /' "$WORK/probe.err"; }
}
peer probe-gcm
probe aes-gcm "$URI"
peer probe-kwp
probe aes-kwp "$URI&mechanism=aes-kwp"
finish
