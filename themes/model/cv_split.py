#!/usr/bin/env python3
"""Splits an NHS FFT CSV (train.csv's format) into K cross-validation folds.

usage: cv_split.py CSV OUTDIR [K] [SEED]

Only rows with text are kept (as score.py and `parley themes train` count them). The rows are
shuffled with Python's random.Random(SEED) and dealt round-robin into K folds. For each fold k
it writes OUTDIR/train{k}.csv (every other fold, all columns), OUTDIR/test{k}.csv (the fold,
all columns) and OUTDIR/text{k}.csv (the fold's comments only, one `text` column), and
OUTDIR/all.csv, the folds concatenated in order (what score.py compares with the
concatenated predictions).
"""
import csv, os, random, sys


def main(path, out, k=5, seed=7):
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        col = header.index("FFT answer")
        rows = [r for r in reader if " ".join(r[col].split())]
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    folds = [[rows[i] for n, i in enumerate(order) if n % k == f] for f in range(k)]
    os.makedirs(out, exist_ok=True)

    def write(name, header, rows):
        with open(os.path.join(out, name), "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)

    for f in range(k):
        write(f"train{f}.csv", header, [r for g in range(k) if g != f for r in folds[g]])
        write(f"test{f}.csv", header, folds[f])
        write(f"text{f}.csv", ["text"], [[r[col]] for r in folds[f]])
    write("all.csv", header, [r for g in range(k) for r in folds[g]])


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:5]))
