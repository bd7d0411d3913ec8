#!/usr/bin/env bash
# backup-threads.sh: a backup whose chunks are identified and sealed on
# worker threads (repo_pipe.c, --threads N) stores the same thing as one
# that does it all on the reading thread (--threads 0): the same statistics
# (blobs, stored bytes, packs — dedup inside a file included: a sparse file's
# zero chunks), the same listing, and restores to the exact backing bytes —
# with 1 MiB and with 16 KiB chunks, small files (read on the calling thread)
# and large ones (handed to the workers). A chunk that fails in a worker
# fails the backup cleanly: exit 1, no snapshot, no lock left, the repository
# still checks, and the next backup succeeds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chglib.sh"
setup
plan 13

init_volume && mount_volume || bail "cannot mount"
$PY - "$MNT" <<'PYEOF' || bail "cannot write the data set"
import os, random, sys
mnt, rnd = sys.argv[1], random.Random(7)
for d in range(4):
    os.mkdir(os.path.join(mnt, "d%d" % d))
    for i in range(60):                    # small: one pass on the calling thread
        with open(os.path.join(mnt, "d%d" % d, "f%02d" % i), "wb") as f:
            f.write(os.urandom(rnd.randrange(0, 40000)))
for i in range(8):                         # around the 256 KiB hand-over threshold
    with open(os.path.join(mnt, "mid%d" % i), "wb") as f:
        f.write(os.urandom(200000 + i * 20000))
with open(os.path.join(mnt, "big"), "wb") as f:
    f.write(os.urandom(6 * 1048576 + 12345))
with open(os.path.join(mnt, "sparse"), "wb") as f:   # zero slots: identical chunks
    f.truncate(5 * 1048576)
    f.seek(2 * 1048576); f.write(os.urandom(10000))
os.link(os.path.join(mnt, "big"), os.path.join(mnt, "big-link"))
os.symlink("big", os.path.join(mnt, "big-sym"))
PYEOF
umount_volume || bail "umount"

# bk REPO THREADS [args]: one backup's --json line into $WORK/out.REPO.THREADS
bk() {
	local repo=$1 t=$2; shift 2
	PHIFS_REPO="$WORK/$repo" "$BK" backup --json --threads "$t" "$@" "$CIPHER" \
		>"$WORK/out.$repo.$t" 2>"$WORK/err.$repo.$t"
}
# stats FILE: the statistics that say what was stored, one per line (not
# new_bytes: it counts the tree, whose chunk ids are the repository's own)
stats() { $PY -c 'import json,sys; s=json.load(open(sys.argv[1]))["stats"]; [print(k, s[k]) for k in sorted(s) if k != "new_bytes"]' "$1"; }
# chunks SLOTS: how many chunks of SLOTS GCM slots the cipher dir's files cut into (§6.1)
chunks() { $PY - "$CIPHER" "$1" <<'PYEOF'
import os, sys
top, run, n, seen = sys.argv[1], int(sys.argv[2]) * 4128, 0, set()
for d, ds, fs in os.walk(top):
    ds[:] = [x for x in ds if x != "phifs.journal"]
    for f in fs:
        st = os.lstat(os.path.join(d, f))
        if os.path.isfile(os.path.join(d, f)) and not os.path.islink(os.path.join(d, f)) and st.st_ino not in seen:
            seen.add(st.st_ino)
            n += 0 if not st.st_size else 1 + (max(st.st_size - 176, 0) + run - 1) // run
print(n)
PYEOF
}
# same_backup SIZE: --threads 0 and 4 into two fresh repositories with SIZE chunks
same_backup() {
	local size=$1 t
	for t in 0 4; do
		"$BK" -r "$WORK/r$size-$t" init --kms "local:$WORK/bk.key" --min-retention 0 \
			--chunk-size "$size" >/dev/null || return 1
		bk "r$size-$t" "$t" || { cat "$WORK/err.r$size-$t.$t"; return 1; }
		stats "$WORK/out.r$size-$t.$t" > "$WORK/stats.$size.$t"
		"$BK" -r "$WORK/r$size-$t" ls latest > "$WORK/ls.$size.$t" || return 1
	done
}
# restores_exactly REPO: the latest snapshot restores to the cipher dir's bytes
restores_exactly() {
	rm -rf "$WORK/rst"
	"$BK" -r "$WORK/$1" restore latest --target "$WORK/rst" >/dev/null 2>&1 &&
		diff -r --no-dereference -x phifs.journal "$CIPHER" "$WORK/rst" >/dev/null
}

for size in 1M 16K; do
	same_backup "$size" || bail "backups with $size chunks"
	diag "$size, threads 0: $(tr '\n' ' ' < "$WORK/stats.$size.0")"
	if cmp -s "$WORK/stats.$size.0" "$WORK/stats.$size.4"; then
		ok "$size chunks: 4 threads read and store the same blobs and packs as none"
	else
		not_ok "$size chunks: stats differ"; diff "$WORK/stats.$size.0" "$WORK/stats.$size.4" | sed 's/^/# /'
	fi
	check "$size chunks: the same listing" cmp "$WORK/ls.$size.0" "$WORK/ls.$size.4"
	rcheck() { if restores_exactly "$1"; then ok "$2"; else not_ok "$2"; fi; }
	rcheck "r$size-4" "$size chunks, 4 threads: restores to the exact backing bytes"
	check "$size chunks, 4 threads: check --read-data passes" "$BK" -r "$WORK/r$size-4" check --read-data
done
# the sparse file's ~420 zero chunks were stored once (blobs: chunks + the tree)
blobs=$(grep new_blobs "$WORK/stats.16K.4" | cut -d' ' -f2) n=$(chunks 3)
[ "$blobs" -le $((n - 400)) ] && ok "identical chunks in flight together are stored once ($blobs blobs of $n chunks)" \
	|| not_ok "blobs: $blobs of $n chunks"

# a worker fails on the 40th chunk of the files of 256 KiB or more (handed over)
"$BK" -r "$WORK/rf" init --kms "local:$WORK/bk.key" --min-retention 0 --chunk-size 16K >/dev/null
PHIFS_BACKUP_TEST_FAIL_CHUNK=40 bk rf 2; rc=$?
[ $rc -eq 1 ] && grep -q "failed: Input/output error" "$WORK/err.rf.2" \
	&& ok "a chunk failing in a worker fails the backup (exit 1)" || { not_ok "exit $rc"; sed 's/^/# /' "$WORK/err.rf.2"; }
[ -z "$(ls "$WORK/rf/snapshots" 2>/dev/null)" ] && [ -z "$(ls "$WORK/rf/locks")" ] \
	&& ok "no snapshot and no lock are left behind" || not_ok "snapshots or locks left"
check "the repository still checks" "$BK" -r "$WORK/rf" check
bk rf 2 && restores_exactly rf && ok "the next backup succeeds and restores exactly" || not_ok "re-run"
finish
