#!/usr/bin/env python3
"""Physical layout of a process's resident anonymous pages (root: /proc/PID/pagemap PFNs).
usage: pfn.py PID  -> present pages, share whose PFN == previous virtual page's PFN + 1,
distinct 2 MiB physical frames, mean |PFN step| between consecutive present pages."""
import sys, struct
pid = sys.argv[1]
present = seq = near = 0; steps = 0; frames = set(); prev = None; jumps = 0
with open(f"/proc/{pid}/pagemap", "rb") as pm:
    for line in open(f"/proc/{pid}/maps"):
        f = line.split()
        if len(f) > 5 or f[1][:2] != "rw": continue
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        CH = 1 << 21
        for a in range(lo, hi, CH):
            n = (min(hi, a + CH) - a) >> 12
            pm.seek((a >> 12) * 8); buf = pm.read(n * 8)
            for (e,) in struct.iter_unpack("<Q", buf):
                if not e >> 63 & 1: prev = None; continue
                pfn = e & ((1 << 55) - 1)
                present += 1; frames.add(pfn >> 9)
                if prev is not None:
                    if abs(pfn - prev) < 64: near += 1
                    if pfn == prev + 1: seq += 1
                    else: jumps += 1
                prev = pfn
if len(sys.argv) > 2: print(f"{100*seq/max(1,present):.1f} {100*near/max(1,present):.1f}"); sys.exit()
print(f"near64 {100*near/max(1,present):.1f}% present {present} ({present*4/1024:.0f} MiB) seq_next {100*seq/max(1,present):.1f}% phys_2M_frames {len(frames)} (min {present/512:.0f}) jumps {jumps}")
