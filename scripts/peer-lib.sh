# peer-lib.sh: what the test-peer scripts share (sourced by kmip-peer.sh and
# s3-peer.sh; each defines die()). A peer runs in its own session, its PID in
# DIR/pid; it is stopped by killing that process group, never by name.

listening() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q LISTEN; }

# peer_wait DIR PORT PID TENTHS: until PORT listens; stop and die if PID exits or time runs out.
peer_wait() {
	local d=$1 port=$2 pid=$3
	for _ in $(seq "$4"); do
		listening "$port" && return 0
		kill -0 "$pid" 2>/dev/null || die "server exited; see $d/server.out"
		sleep 0.1
	done
	peer_stop "$d"
	die "server not listening on 127.0.0.1:$port after $(($4 / 10)) s"
}

peer_stop() {
	local d=$1 pid
	[ -s "$d/pid" ] || return 0
	pid=$(cat "$d/pid")
	kill -KILL -- "-$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$d/pid"
}

# A port below the kernel's ephemeral range (32768 and up by default), so
# that no client connection of another test holds it, and that no socket
# uses in any state. Two tests may still pick the same one between this and
# the server's bind: the callers retry their start on another port.
peer_free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 12000))
		[ -z "$(ss -tanH "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return 0; }
	done
	die "no free port found"
}
