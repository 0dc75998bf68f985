import sys, time, statistics
from benchmarks.speed import plans
from gpuplanner.core.evaluate import evaluate
from gpuplanner.core.catalog import default_catalog
from gpuplanner.core.plan import Workload
cat = default_catalog()
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
res = {}
for name, p in plans().items():
    evaluate(p, cat)
    edits = [p.model_copy(update={"workload": Workload(concurrency="max", input_tokens=1024 + i)}) for i in range(N)]
    ts = []
    for e in edits:
        t = time.process_time(); evaluate(e, cat); ts.append(time.process_time() - t)
    res[name[:8]] = (min(ts), statistics.median(ts))
    print(f"{name[:8]}: min {min(ts)*1e3:.2f} ms  median {statistics.median(ts)*1e3:.2f} ms")
a, b = list(res.values())
print(f"ratio min {b[0]/a[0]:.2f}  median {b[1]/a[1]:.2f}")
