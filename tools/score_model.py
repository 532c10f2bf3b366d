#!/usr/bin/env python3
"""Reference scorer for stockpipe tree models (docs/model-format.md), standard library only.

    python3 tools/score_model.py model.json < rows.csv > predictions.txt

rows.csv has a header naming (at least) the model's feature_names; an empty field is NaN.
Prints one prediction per input row: repr() of the float, after the target transform.
"""
import csv
import json
import math
import sys

FORMAT = "stockpipe-trees"
VERSION = 1


def fail(msg):
    sys.stderr.write("score_model: %s\n" % msg)
    sys.exit(1)


def load(path):
    with open(path, "r", encoding="utf-8") as f:
        m = json.load(f)
    if m.get("format") != FORMAT:
        fail("format must be %r (got %r)" % (FORMAT, m.get("format")))
    if m.get("format_version") != VERSION:
        fail("format_version %r is not supported (this scorer knows %d)" % (m.get("format_version"), VERSION))
    if m.get("aggregation") not in ("sum", "mean"):
        fail("unknown aggregation %r" % m.get("aggregation"))
    if m.get("target_transform") not in ("identity", "log1p", "log"):
        fail("unknown target_transform %r" % m.get("target_transform"))
    if m.get("nan_rule") != "right":
        fail("unknown nan_rule %r" % m.get("nan_rule"))
    return m


def tree_value(tree, x):
    feature, threshold, left, right = tree["feature"], tree["threshold"], tree["left"], tree["right"]
    i = 0
    while feature[i] >= 0:
        # NaN <= t is False: NaN goes right.
        i = left[i] if x[feature[i]] <= threshold[i] else right[i]
    return tree["value"][i]


def score(m, x):
    # Same order of additions as the TypeScript scorer, so results agree to the last bit.
    if m["aggregation"] == "sum":
        raw = m["base_score"]
        for t in m["trees"]:
            raw += tree_value(t, x)
    else:
        s = 0.0
        for t in m["trees"]:
            s += tree_value(t, x)
        raw = m["base_score"] + s / len(m["trees"])
    off = m.get("offset")
    if off is not None:
        v = x[off["feature"]]
        raw += math.log1p(v if v > 0.0 else 0.0) if off["transform"] == "log1p" else v
    if m["target_transform"] == "log1p":
        try:
            v = math.expm1(raw)
        except OverflowError:
            v = math.inf
        return v if v > 0.0 else 0.0
    if m["target_transform"] == "log":
        # The log link of poisson and tweedie: exp(raw), unclipped (as Math.exp: overflow is inf).
        try:
            return math.exp(raw)
        except OverflowError:
            return math.inf
    return raw


def main():
    if len(sys.argv) != 2:
        fail("usage: score_model.py model.json < rows.csv")
    m = load(sys.argv[1])
    reader = csv.reader(sys.stdin)
    header = next(reader, None)
    if header is None:
        return
    header = [h.strip() for h in header]
    try:
        cols = [header.index(name) for name in m["feature_names"]]
    except ValueError:
        fail("the CSV header %r lacks a feature of %r" % (header, m["feature_names"]))
    out = sys.stdout
    for row in reader:
        if not row:
            continue
        x = [float(row[c]) if row[c].strip() != "" else math.nan for c in cols]
        out.write(repr(score(m, x)) + "\n")


if __name__ == "__main__":
    main()
