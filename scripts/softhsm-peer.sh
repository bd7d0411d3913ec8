#!/usr/bin/env bash
# softhsm-peer.sh: a throwaway SoftHSM2 token for tests of the pkcs11 KMS
# provider (kms-client/pkcs11.c). SoftHSM is a library, not a server: the
# "peer" is a token directory with its own softhsm2.conf, so parallel test
# processes never share (and race on) one token store. Stopping it is
# removing DIR.
#
#   softhsm-peer.sh init DIR LABEL   token LABEL in DIR/tokens, user PIN in
#                                    DIR/pin (mode 0600), AES-256 KEK "kek"
#                                    (sensitive, never extractable);
#                                    writes DIR/env (export SOFTHSM2_CONF=...,
#                                    P11_MODULE=..., P11_PIN_FILE=...)
#   softhsm-peer.sh stop DIR         removes DIR
# The SO PIN and user PIN are fixed test values; this is never a real token.
set -euo pipefail
MODULE=${P11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
SO_PIN=12345678
PIN=1234

usage() { echo "usage: $0 init DIR LABEL | stop DIR" >&2; exit 2; }

init() {
	local dir=$1 label=$2
	command -v softhsm2-util >/dev/null || { echo "softhsm2-util not installed" >&2; exit 1; }
	command -v pkcs11-tool >/dev/null || { echo "pkcs11-tool (opensc) not installed" >&2; exit 1; }
	[ -r "$MODULE" ] || { echo "no PKCS#11 module at $MODULE" >&2; exit 1; }
	mkdir -p "$dir/tokens"
	dir=$(cd "$dir" && pwd)
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$dir" > "$dir/softhsm2.conf"
	export SOFTHSM2_CONF="$dir/softhsm2.conf"
	softhsm2-util --init-token --free --label "$label" --so-pin "$SO_PIN" --pin "$PIN" >/dev/null
	(umask 077; printf '%s\n' "$PIN" > "$dir/pin")
	chmod 600 "$dir/pin"
	pkcs11-tool --module "$MODULE" --token-label "$label" --login --pin "$PIN" --keygen \
		--key-type AES:32 --label kek --sensitive >/dev/null
	cat > "$dir/env" <<-ENV
	export SOFTHSM2_CONF='$dir/softhsm2.conf'
	export P11_MODULE='$MODULE'
	export P11_PIN_FILE='$dir/pin'
	ENV
	cat "$dir/env"
}

case "${1:-}" in
init) [ $# -eq 3 ] || usage; init "$2" "$3" ;;
stop) [ $# -eq 2 ] || usage; rm -rf -- "$2" ;;
*) usage ;;
esac
