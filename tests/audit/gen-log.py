#!/usr/bin/env python3
"""gen-log.py: a synthetic audit log (schema v1, docs/AUDIT_FORMAT.md) for
tests/sh/audit-report.sh. Four weekdays (Mon 16 - Thu 19 Nov 2026, UTC) of
ordinary traffic by seven users inside 08:00-17:30, a daily mount, a couple of
denials. With --plant: mallory reads 130 new files in 4 minutes on Thursday at
14:00 (bulk), bob opens one file at 21:30 on Wednesday (after hours).
--denials adds six denials by eve within five minutes. --joined writes each
access as the daemon does when a handle's final summary joins its open: one
"open" record carrying the summary as "io" (bob's late one also a chmod
joined as "setattr"). Writes the log to
stdout and, with --truth FILE, the planted records' seq numbers as JSON.
Deterministic (fixed seed): chain fields are placeholders, not verifiable."""
import argparse, datetime as dt, json, random, sys

ap = argparse.ArgumentParser()
ap.add_argument("--plant", action="store_true")
ap.add_argument("--denials", action="store_true")
ap.add_argument("--joined", action="store_true")
ap.add_argument("--truth")
a = ap.parse_args()
rnd = random.Random(4)
USERS = {"alice": (1001, 40), "bob": (1002, 60), "carol": (1003, 80), "dave": (1004, 100),
         "erin": (1005, 120), "frank": (1006, 70), "mallory": (1007, 90)}
POOL = ["%032x" % rnd.getrandbits(128) for _ in range(3000)]
VOL = "5" * 32
recs = []  # (time, record without chain fields, tag)


def actor(user):
    uid = USERS[user][0] if user in USERS else (2000 if user == "eve" else 0)
    return {"uid": uid, "user": user, "gid": uid, "pid": 4000 + uid % 97, "comm": "cat",
            "exe": "/usr/bin/cat", "loginuid": uid}


def access(t, user, fid, tag=None):
    obj = {"file": fid, "ino": int(fid[:6], 16), "path": {"hmac": "%064x" % int(fid, 16)}}
    recs.append((t, {"event": "open", "actor": actor(user), "object": obj, "result": "ok",
                     "flags": ["rdonly"]}, tag))
    t2 = t + dt.timedelta(seconds=1)
    n = rnd.randint(4096, 65536)
    io = {"read": {"ops": 1, "bytes": n, "ranges": [[0, n]]},
          "first": iso(t), "last": iso(t2), "final": True}
    if a.joined:
        recs[-1][1]["io"] = io
        if tag == "late":
            recs[-1][1]["setattr"] = {"attrs": ["mode"], "calls": 1, "first": iso(t2),
                                      "last": iso(t2)}
        return
    recs.append((t2, dict({"event": "io", "actor": actor(user), "object": obj, "result": "ok"},
                          **io), tag))


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


for day in range(16, 20):
    base = dt.datetime(2026, 11, day, tzinfo=dt.timezone.utc)
    recs.append((base + dt.timedelta(hours=7, minutes=30),
                 {"event": "mount", "actor": actor("root"), "result": "ok"}, None))
    for user, (uid, k) in USERS.items():
        for fid in rnd.sample(POOL[:2000], k):
            access(base + dt.timedelta(seconds=rnd.randint(8 * 3600, 17 * 3600 + 1800)), user, fid)
    for i in range(2):
        recs.append((base + dt.timedelta(hours=10 + 3 * i), {
            "event": "denied", "actor": actor("carol"), "object": {"file": POOL[i], "ino": 7},
            "result": "EACCES", "op": "open", "reason": "permission"}, None))
if a.plant:
    start = dt.datetime(2026, 11, 19, 14, 0, tzinfo=dt.timezone.utc)
    for i, fid in enumerate(POOL[2000:2130]):
        access(start + dt.timedelta(seconds=i * 240 // 130), "mallory", fid, "bulk")
    access(dt.datetime(2026, 11, 18, 21, 30, tzinfo=dt.timezone.utc), "bob", POOL[2500], "late")
if a.denials:
    start = dt.datetime(2026, 11, 17, 11, 0, tzinfo=dt.timezone.utc)
    for i in range(6):
        recs.append((start + dt.timedelta(seconds=50 * i), {
            "event": "denied", "actor": actor("eve"), "object": {"file": POOL[10 + i], "ino": 9},
            "result": "EACCES", "op": "open", "reason": "policy", "rule": 2}, "denied"))

recs.sort(key=lambda r: r[0])
truth = {}
prev = "0" * 64
for seq, (t, body, tag) in enumerate(recs, 1):
    rec = {"v": 1, "seq": seq, "time": iso(t), "host": "db1", "vol": VOL}
    rec.update(body)
    rec.update({"prev": prev, "mac": "%064x" % seq})
    prev = "%064x" % (seq * 7)
    sys.stdout.write(json.dumps(rec, separators=(",", ":")) + "\n")
    if tag:
        truth.setdefault(tag, []).append(seq)
if a.truth:
    with open(a.truth, "w") as f:
        json.dump(truth, f)
