# s3lib.sh: s3rver test peers for tests/sh/s3.sh and sync.sh (sourced after lib.sh).
# Each peer is a scripts/s3-peer.sh instance on a free 127.0.0.1 port, with
# its own data dir under $S3WORK, stopped by PID in s3_teardown.
S3PEER="$top_srcdir/scripts/s3-peer.sh"
S3PROBE="$top_builddir/tests/tools/s3-probe"
S3PEERS=()
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE AWS_DEFAULT_REGION AWS_REGION \
	PHIFS_S3_CA_FILE PHIFS_S3_RETAIN
export PHIFS_S3_RETRIES=2   # a stopped peer fails in about a second, not ten

# Only a machine where npm cannot fetch s3rver skips; anything else fails.
s3_setup() {
	local rc=0
	S3WORK=$(mktemp -d /tmp/phifs-s3.XXXXXX)
	trap s3_teardown EXIT
	"$S3PEER" install 2>"$S3WORK/install.err" || rc=$?
	if [ "$rc" -eq 3 ]; then
		rm -rf "$S3WORK"
		skip_all "s3rver cannot be installed (no npm registry): $(head -c 200 "$S3WORK/install.err" 2>/dev/null)"
	fi
	[ "$rc" -eq 0 ] || bail "s3-peer install failed: $(cat "$S3WORK/install.err")"
}

# s3_start NAME REGION [--tls] BUCKET...: sets PORT_<NAME>; the peer's dir is $S3WORK/NAME.
s3_start() {
	local name=$1 port try
	shift
	# Another test may take the port between free-port and the bind: retry.
	for try in 1 2 3; do
		port=$("$S3PEER" free-port) || bail "no free port"
		"$S3PEER" start "$S3WORK/$name" "$port" "$@" && break
		[ "$try" -lt 3 ] || bail "s3rver $name did not start: $(tail -3 "$S3WORK/$name/server.out" 2>/dev/null)"
	done
	S3PEERS+=("$S3WORK/$name")
	printf -v "PORT_$name" '%s' "$port"
}

s3_stop() { "$S3PEER" stop "$S3WORK/$1"; }

s3_teardown() {
	local d
	for d in "${S3PEERS[@]}"; do "$S3PEER" stop "$d"; done
	[ -n "${S3WORK:-}" ] && rm -rf "$S3WORK"
}

# check_exit "description" CODE command...: ok when the command exits with CODE
check_exit() {
	local d=$1 want=$2 rc=0
	shift 2
	"$@" >/dev/null 2>"$S3WORK/last.err" || rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$d"; else not_ok "$d (exit $rc, want $want)"; sed 's/^/# /' "$S3WORK/last.err" | head -5; fi
}
