#!/usr/bin/env bash
# stress.sh: the short mode of tests/tools/fsstress (docs/TESTING.md): several
# threads of seeded random creates, writes (sparse too), truncates, renames,
# links, unlinks, mkdir/rmdir and reads through a mount, each applied to a
# plain-directory model as well and compared op by op, then tree by tree —
# live, again after a remount (what reached the cipher files, not the page
# cache), on a GCM and on an XTS volume; fsck clean at the end of each.
. "$(dirname "$0")/lib.sh"
setup
plan 9
FSSTRESS="$top_builddir/tests/tools/fsstress"
[ -x "$FSSTRESS" ] || bail "$FSSTRESS not built (make check builds it)"
OPS=${STRESS_OPS:-2500}

# run NAME SEED THREADS [fsstress options]: a fresh tree under the mount and a model beside it
run() {
	local name=$1 seed=$2 threads=$3; shift 3
	mkdir -p "$MNT/$name" "$WORK/model/$name"
	if "$FSSTRESS" --seed "$seed" --threads "$threads" --ops "$OPS" "$@" "$MNT/$name" "$WORK/model/$name" > "$WORK/$name.out" 2>&1; then
		ok "$name: $threads threads x $OPS ops (seed $seed) match the model"
		grep '^# fsstress: seed' "$WORK/$name.out"
	else
		not_ok "$name: $threads threads x $OPS ops (seed $seed) match the model"
		sed 's/^/# /' "$WORK/$name.out" | head -70
	fi
}
# still NAME...: each tree compared again, as the remounted volume reads it
still() {
	local n bad=0
	for n in "$@"; do
		"$FSSTRESS" --verify-only "$MNT/$n" "$WORK/model/$n" > "$WORK/$n.verify" 2>&1 || { bad=1; sed 's/^/# /' "$WORK/$n.verify" | head; }
	done
	[ $bad = 0 ] && ok "after a remount the trees ($*) still match" || not_ok "after a remount the trees ($*) still match"
}
fsck_clean() {
	local out rc
	out=$("$PHIFS" fsck "$CIPHER" 2>&1); rc=$?
	[ $rc -eq 0 ] && ok "$1: fsck is clean" || { not_ok "$1: fsck is clean (exit $rc)"; echo "$out" | sed 's/^/# /' | head; }
}

init_volume && mount_volume || bail "cannot mount"
run gcm-a 1 4
run gcm-b 2 3 --verify-every 2
umount_volume
mount_volume -o direct_io || bail "cannot remount"
still gcm-a gcm-b
run gcm-direct 3 3
umount_volume
mount_volume || bail "cannot remount"
still gcm-direct
umount_volume
fsck_clean "GCM volume"

rm -rf "$CIPHER" "$WORK/model"
init_volume --cipher xts && mount_volume || bail "cannot mount the XTS volume"
run xts 4 4
umount_volume
mount_volume || bail "cannot remount"
still xts
umount_volume
fsck_clean "XTS volume"
finish
