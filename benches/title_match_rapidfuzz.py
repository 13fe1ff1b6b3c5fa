"""Python rapidfuzz side of the `grsu match` benchmark: exact match, else extractOne(QRatio, default_process).

python3 benches/title_match_rapidfuzz.py CATALOG < queries.txt > python.out  (queries: tests/fixtures/noisy_titles.py);
its output is byte-identical to `grsu match --catalog CATALOG < queries.txt`."""
import json, sys, time
t0 = time.perf_counter()
from rapidfuzz import process, fuzz, utils
d = json.load(open(sys.argv[1]))
names = list(dict.fromkeys(v['name'].strip() for v in d.values()))
exact = {}
for i, n in enumerate(names): exact.setdefault(n, i)
out = []
t1 = time.perf_counter()
for line in sys.stdin:
    q = line.rstrip('\n').rstrip('\r')
    if q in exact:
        m, s = q, 100.0
    else:
        m, s, _ = process.extractOne(q, names, scorer=fuzz.QRatio, processor=utils.default_process)
    r = round(s, 4)
    out.append('%s\t%s\t%s' % (q, m, int(r) if r == int(r) else repr(r)))
t2 = time.perf_counter()
sys.stdout.write('\n'.join(out) + '\n')
print('python: %d queries in %.3f s matching (%.0f/s), %.3f s total in-process' % (len(out), t2 - t1, len(out) / (t2 - t1), t2 - t0), file=sys.stderr)
