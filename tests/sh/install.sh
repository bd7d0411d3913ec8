#!/usr/bin/env bash
# install.sh: `make install DESTDIR=...` puts every file a server needs where
# mount(8), systemd and man look, with the right modes (dist/Makemodule.am,
# docs/OPERATIONS.md "Installing"); the installed units pass
# `systemd-analyze verify`; the installed mount helper mounts a real volume
# through `mount -t phifs` and an fstab line; `make uninstall` removes it all.
# mount(8) runs helpers from /sbin only and the helper finds phifs in the
# configured bindir, so those two directories are overlaid with the DESTDIR
# ones inside a private mount namespace: the system's own stay untouched.
. "$(dirname "$0")/lib.sh"
setup
plan 14
DEST="$WORK/dest"

# make as a child of `make check`: no jobserver or flags from the parent.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" "$@"; }
eval "$(mk print-install-dirs)" || bail "make print-install-dirs failed"
diag "bindir=$bindir mounthelperdir=$mounthelperdir unitdir=${systemdsystemunitdir:-none}"

if mk install DESTDIR="$DEST" >"$WORK/install.log" 2>&1; then ok "make install DESTDIR"
else not_ok "make install DESTDIR"; sed 's/^/# /' "$WORK/install.log" | tail -20; fi

# mode_is MODE FILE...: each file exists, is regular and has exactly MODE.
mode_is() {
	local m="$1" f bad=0; shift
	for f in "$@"; do
		if [ ! -f "$DEST$f" ] || [ -L "$DEST$f" ]; then diag "missing: $f"; bad=1
		elif [ "$(stat -c %a "$DEST$f")" != "$m" ]; then diag "mode $(stat -c %a "$DEST$f"): $f"; bad=1; fi
	done
	return $bad
}
check "programs in bindir, 0755" mode_is 755 "$bindir/phifs" "$bindir/phifs-keys" \
	"$bindir/phifs-audit" "$bindir/phifs-backup"
check "mount.phifs in the mount helper dir, 0755" mode_is 755 "$mounthelperdir/mount.phifs"
check "manual pages, 0644" mode_is 644 "$mandir/man1/phifs.1" "$mandir/man1/phifs-keys.1" \
	"$mandir/man1/phifs-audit.1" "$mandir/man1/phifs-backup.1" "$mandir/man8/mount.phifs.8"
check "examples, cron fragment and docs, 0644" mode_is 644 \
	"$docdir/examples/fstab" "$docdir/examples/volume.env" "$docdir/examples/backup.env" \
	"$docdir/examples/policy.txt" "$docdir/examples/report.conf" "$docdir/examples/s3.credentials" \
	"$docdir/examples/cron.d/phifs" "$docdir/OPERATIONS.md" "$docdir/THREAT_MODEL.md"

UNITS="phifs@.service phifs-backup@.service phifs-backup@.timer phifs-backup-check@.service
	phifs-backup-check@.timer phifs-keys-age@.service phifs-keys-age@.timer phifs-alert@.service"
UD="${systemdsystemunitdir:-}"
if [ -n "$UD" ]; then
	unit_paths() { for u in $UNITS; do echo "$UD/$u"; done; }
	# shellcheck disable=SC2046
	check "systemd units in the unit dir, 0644" mode_is 644 $(unit_paths)
	# every ExecStart/ExecStop names the configured bindir, no @var@ is left
	subst_ok() {
		! grep -l '@[a-z]*@' "$DEST$UD"/phifs*.service >&2 &&
		! grep -h '^Exec' "$DEST$UD"/phifs*.service | grep -v -e "=$bindir/" \
			-e '=/usr/bin/logger ' -e '=/bin/sh ' >&2
	}
	check "units call the installed programs" subst_ok
else
	ok "# SKIP configured --with-systemdsystemunitdir=no"
	ok "# SKIP configured --with-systemdsystemunitdir=no"
fi

# The rest runs in a private mount namespace in which bindir and the mount
# helper dir show the DESTDIR copies on top of the system's files.
NS="$WORK/ns.sh"
cat > "$NS" <<'NSEOF'
set -u
# A directory the system does not have yet (bindir under make distcheck's
# fresh prefix) is made for the overlay and listed for removal afterwards.
overlay() {
	[ -d "$2" ] || LC_ALL=C mkdir -pv "$2" | sed -n "s/^mkdir: created directory '\(.*\)'$/\1/p" >> "$WORK/made"
	mount -t overlay overlay -o "lowerdir=$1:$2" "$2"
}
overlay "$DEST$bindir" "$bindir" || { echo "overlay $bindir failed"; exit 1; }
helperdir=$(readlink -f "$mounthelperdir")
overlay "$DEST$mounthelperdir" "$helperdir" || { echo "overlay $helperdir failed"; exit 1; }
step() { echo "step $1 $2"; }
# 1: the units verify (man pages resolved in the DESTDIR tree).
if [ -n "$UD" ] && command -v systemd-analyze >/dev/null; then
	out=$(cd "$DEST$UD" && MANPATH="$DEST$mandir" systemd-analyze verify \
		phifs@srv-phi.service phifs-backup@site1.service phifs-backup@site1.timer \
		phifs-backup-check@site1.service phifs-backup-check@site1.timer \
		phifs-keys-age@srv-phi.service phifs-keys-age@srv-phi.timer \
		phifs-alert@phifs-backup@site1.service.service 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out" | sed 's/^/# verify: /'
	if [ $rc -eq 0 ] && [ -z "$out" ]; then step verify ok; else step verify fail; fi
else
	step verify skip
fi
# 2: mount -t phifs runs the installed helper, which runs the installed phifs.
opts="kms=local:$KEY,pidfile=$WORK/phifs.pid,allow_other,nodev,nosuid,_netdev"
if mount -t phifs "$CIPHER" "$MNT" -o "$opts"; then step mount ok; else step mount fail; fi
if [ "$(cat "$MNT/in/note" 2>/dev/null)" = "written before install" ] &&
   echo "through mount -t" > "$MNT/new" && cmp -s "/proc/$(cat "$WORK/phifs.pid")/exe" "$DEST$bindir/phifs"
then step daemon ok; else step daemon fail; fi
"$bindir/phifs" umount "$MNT" && ! mountpoint -q "$MNT" && step umount ok || step umount fail
# 3: an /etc/fstab line (read from a copy with mount -T) does the same.
printf '%s %s phifs %s 0 0\n' "$CIPHER" "$MNT" "$opts" > "$WORK/fstab"
if mount -T "$WORK/fstab" "$MNT" && [ "$(cat "$MNT/new")" = "through mount -t" ]; then
	step fstab ok; else step fstab fail; fi
"$bindir/phifs" umount "$MNT" 2>/dev/null
NSEOF

init_volume
mount_volume && mkdir "$MNT/in" && echo "written before install" > "$MNT/in/note" && umount_volume ||
	bail "could not prepare the volume"
export DEST bindir mounthelperdir mandir UD CIPHER MNT KEY WORK
unshare -m --propagation private bash "$NS" > "$WORK/ns.out" 2>&1
[ -f "$WORK/made" ] && tac "$WORK/made" | while read -r d; do rmdir "$d"; done
grep '^#' "$WORK/ns.out"
grep -v -e '^#' -e '^step ' "$WORK/ns.out" | sed 's/^/# /'
result() { grep -q "^step $1 ok" "$WORK/ns.out"; }
if grep -q '^step verify skip' "$WORK/ns.out"; then ok "# SKIP no systemd-analyze or no units"
else check "installed units pass systemd-analyze verify" result verify; fi
check "mount -t phifs through the installed /sbin helper" result mount
check "the daemon is the installed phifs and serves the volume" result daemon
check "phifs umount of it" result umount
check "an fstab line mounts it (mount -T)" result fstab
stop_daemon

# uninstall leaves no file behind (directories may stay, as automake's do)
if mk uninstall DESTDIR="$DEST" >"$WORK/uninstall.log" 2>&1; then ok "make uninstall DESTDIR"
else not_ok "make uninstall DESTDIR"; tail -20 "$WORK/uninstall.log" | sed 's/^/# /'; fi
left=$(find "$DEST" ! -type d)
[ -n "$left" ] && echo "$left" | sed 's/^/# left: /'
check "nothing left after uninstall" test -z "$left"
finish
