#!/usr/bin/env python3
"""Interleaved bare-fork comparison (issue 16 research): long-lived contestants, each holding its
memory, take turns doing a block of fork+_exit+waitpid rounds; medians over all blocks.

  interleave.py [--blocks 6] [--rounds 8] SPEC...
  SPEC: bun[:kind[:mib[:flag,flag]]]   bench/research/heap.ts --serve (kind mixed|objects|typed;
                                        flags: huge = MADV_HUGEPAGE + MADV_COLLAPSE once built, hugestart = MADV_HUGEPAGE
                                        on the anonymous mappings before the heap grows, snap = 3 library
                                        snapshots per block first; --snaps N: N timed snapshots per block)
        c:mode:size                    cmimic <MiB> 0 <mode>; size = MiB, or rss / anon = the first
                                        bun contestant's VmRSS / RssAnon
Prints per contestant (seq% / near%: share of resident anonymous pages whose physical frame is the
previous page's + 1 / within 64 frames, from /proc/PID/pagemap, root only): RSS, RssAnon, VmPTE, AnonHugePages, median wall / fork / CPU per round,
the ratio to the first C contestant, and the spread of block medians.
"""
import json, os, subprocess, sys, statistics as st

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
blocks, rounds, snaps = 6, 8, 0
while args and args[0].startswith("--"):
    k, v = args[0][2:], args[1]; args = args[2:]
    if k == "blocks": blocks = int(v)
    elif k == "rounds": rounds = int(v)
    elif k == "snaps": snaps = int(v)  # library snapshot round trips per block, Bun contestants
cmimic = "/tmp/r16-cmimic"
subprocess.run(["cc", "-O2", "-o", cmimic, os.path.join(here, "cmimic.c")], check=True)

def status(pid):
    out = {}
    for l in open(f"/proc/{pid}/status"):
        k, _, v = l.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile", "VmPTE"): out[k] = int(v.split()[0]) / 1024
    ahp = 0
    for l in open(f"/proc/{pid}/smaps_rollup"):
        if l.startswith("AnonHugePages:"): ahp = int(l.split()[1]) / 1024
    out["AHP"] = ahp
    return out

cons = []
first_bun = None
for spec in args:
    parts = spec.split(":")
    if parts[0] == "bun":
        kind = parts[1] if len(parts) > 1 else "mixed"
        mib = parts[2] if len(parts) > 2 else "1024"
        flags = parts[3].split(",") if len(parts) > 3 else []
        cmd = [os.path.join(here, "run.sh"), "heap.ts", f"--mib={mib}", f"--kind={kind}", "--serve", "--rounds=2"]
        if "huge" in flags: cmd.append("--hugefirst")
        if "hugestart" in flags: cmd.append("--hugestart")
        if "nocollapse" in flags: cmd.append("--collapse=0")
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        ready = json.loads(p.stdout.readline())
        c = {"spec": spec, "p": p, "bun": True, "snap": "snap" in flags, "ready": ready}
        if first_bun is None: first_bun = c
    else:
        _, mode, size = parts
        if size in ("rss", "anon"):
            s = first_bun["status0"]
            mib = round(s["VmRSS"] - 1.3) if size == "rss" else round(s["RssAnon"])
        else:
            mib = int(size)
        p = subprocess.Popen([cmimic, str(mib), "0", mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        for _ in range(3): p.stdout.readline()
        c = {"spec": f"{spec}({mib})", "p": p, "bun": False, "snap": False}
    c["status0"] = status(p.pid)
    c["pfn"] = subprocess.run([sys.executable, os.path.join(here, "pfn.py"), str(p.pid), "short"], capture_output=True, text=True).stdout.split()
    c["wall"], c["fork"], c["cpu"], c["blocks"] = [], [], [], []
    cons.append(c)
    print(f"  started {c['spec']}: {c['status0']}", file=sys.stderr, flush=True)

for b in range(blocks):
    order = cons[b % len(cons):] + cons[:b % len(cons)]
    for c in order:
        if c["snap"]:
            c["p"].stdin.write("S 3\n"); c["p"].stdout.readline()
        if c["bun"] and snaps:
            c["p"].stdin.write(f"S {snaps}\n"); c.setdefault("snapms", []).append(json.loads(c["p"].stdout.readline())["snapMs"])
        c["p"].stdin.write(f"R {rounds}\n")
        r = json.loads(c["p"].stdout.readline())
        if c["bun"]:
            c["wall"] += r["all"]; c["fork"] += r["forkAll"]; c["cpu"] += r["cpuAll"]
        else:
            c["wall"] += r["all"]; c["fork"] += r["fork"]; c["cpu"] += r["cpu"]
        c["blocks"].append(st.median(r["all"]))
    print(f"  block {b + 1}/{blocks} done", file=sys.stderr, flush=True)

for c in cons:
    c["status1"] = status(c["p"].pid)
    c["p"].stdin.close(); c["p"].wait()
ref = next((c for c in cons if not c["bun"]), cons[0])
med = lambda xs: st.median(xs)
print(f"{'contestant':28} {'RSS':>6} {'anon':>6} {'PTE KiB':>8} {'AHP':>6} {'wall ms':>8} {'fork ms':>8} {'cpu ms':>8} {'wall/ref':>8} {'cpu/ref':>8} {'seq%':>5} {'near%':>5}  block medians")
for c in cons:
    s = c["status1"]
    print(f"{c['spec']:28} {s['VmRSS']:6.0f} {s['RssAnon']:6.0f} {s['VmPTE']*1024:8.0f} {s['AHP']:6.0f} {med(c['wall']):8.2f} {med(c['fork']):8.2f} {med(c['cpu']):8.2f} {med(c['wall'])/med(ref['wall']):8.2f} {med(c['cpu'])/med(ref['cpu']):8.2f} {c['pfn'][0]:>5} {c['pfn'][1]:>5}  " + " ".join(f"{x:.1f}" for x in c["blocks"]))
print(f"ref = {ref['spec']}; {blocks} blocks x {rounds} rounds, contestants rotated each block")
for c in cons:
    if c.get("snapms"): print(f"{c['spec']} snapshot round trip (fork(), child revert(0)), per block: " + " ".join(f"{x:.1f}" for x in c["snapms"]) + f"; median {med(c['snapms']):.2f} ms")
for c in cons:
    if c["bun"] and c["ready"].get("huge"): print(f"{c['spec']} huge setup: {json.dumps(c['ready']['huge'])[:400]}")
