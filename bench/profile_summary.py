"""Where a network's time goes, by operator, from a profile of zoo (a chrome trace of LibTorch's
profiler: bench_efficientnet --profile) or of ONNX Runtime (its JSON profile: ort_bench.js
with a fifth argument). Self time: an operator's time less that of the operators it calls.
    python3 bench/profile_summary.py TRACE [TOP]"""
import collections
import json
import sys

path, top = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15
with open(path) as f:
    data = json.load(f)
events = data["traceEvents"] if isinstance(data, dict) else data
totals = collections.Counter()
calls = collections.Counter()
if any(e.get("cat") == "Node" for e in events):  # ONNX Runtime: kernel times per node
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            op = e["args"].get("op_name", "?")
            totals[op] += e["dur"]
            calls[op] += 1
else:  # LibTorch: nested complete events per thread; self time
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_thread[e.get("tid")].append(e)
    for spans in by_thread.values():
        spans.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in spans:
            while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"]:
                stack.pop()
            if stack:
                stack[-1]["children"] = stack[-1].get("children", 0) + e["dur"]
            stack.append(e)
        for e in spans:
            totals[e["name"]] += e["dur"] - e.get("children", 0)
            calls[e["name"]] += 1
whole = sum(totals.values())
print(f"{'operator':36s} {'calls':>6s} {'ms':>9s} {'share':>6s}")
for op, us in totals.most_common(top):
    print(f"{op:36s} {calls[op]:6d} {us / 1000:9.1f} {100 * us / whole:5.1f}%")
print(f"{'all':36s} {'':6s} {whole / 1000:9.1f}")
