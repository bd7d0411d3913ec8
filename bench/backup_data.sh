# bench/backup_data.sh: the data set of the backup benchmarks (sourced by
# bench/backup.sh and bench/backup_incr.sh; they set W, PHIFS, large_files,
# large_mib): /usr/include plus large_files × large_mib MiB of random data
# written into a phifs volume at $W/cipher, mounted at $W/mnt.

# data_write: the volume, mounted, with the data set in it.
data_write() {
	mkdir -p "$W/mnt"
	"$PHIFS" init --kms "local:$W/kek.bin" "$W/cipher" >/dev/null
	"$PHIFS" mount "$W/cipher" "$W/mnt"
	cp -a /usr/include "$W/mnt/include"
	for i in $(seq "$large_files"); do
		dd if=/dev/urandom of="$W/mnt/large$i" bs=1M count="$large_mib" status=none
	done
	sync
}

# data_change SEED BLOCKS: append a line to 1% of the small files and, when
# BLOCKS is 1, overwrite 1% of the large files' 4 KiB blocks at random (SEED
# makes it the same change from run to run).
data_change() {
	/usr/bin/python3 - "$W/mnt" "$large_files" "$large_mib" "$1" "$2" <<'PYEOF'
import os, random, sys
mnt, n, mib, seed, blocks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
rnd = random.Random(seed)
for _ in range((n * mib * 256) // 100 if blocks else 0):
    with open(os.path.join(mnt, "large%d" % rnd.randint(1, n)), "r+b") as f:
        f.seek(rnd.randrange(mib * 256) * 4096); f.write(os.urandom(4096))
small = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(mnt, "include")) for f in fs)
for p in rnd.sample(small, len(small) // 100):
    if os.path.isfile(p) and not os.path.islink(p):
        with open(p, "ab") as f: f.write(b"\n/* changed */\n")
PYEOF
	sync
}
