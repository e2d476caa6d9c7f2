#!/usr/bin/env python3
"""Summarise a py-spy raw (collapsed-stack) profile: self and inclusive time per function, per thread.

.venv/bin/python bench/profile_summary.py /tmp/prof.txt [--top 25] [--filter gateway/]
"""

from __future__ import annotations

import argparse
import collections
import re


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--filter", default="", help="inclusive table only for frames whose text contains this")
    a = ap.parse_args()
    self_t: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in open(a.file, encoding="utf-8", errors="replace"):  # noqa: SIM115
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[frames[0]] += n
        frames = [re.sub(r":\d+\)$", ")", f) for f in frames[1:]]  # drop line numbers
        if not frames:
            continue
        self_t[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    print(f"samples: {total}")
    print("\n== threads")
    for k, v in threads.most_common(10):
        print(f"{100 * v / total:6.1f}%  {k}")
    print("\n== self time")
    for k, v in self_t.most_common(a.top):
        print(f"{100 * v / total:6.1f}%  {k}")
    print("\n== inclusive time" + (f" (frames containing {a.filter!r})" if a.filter else ""))
    shown = 0
    for k, v in incl.most_common():
        if a.filter and a.filter not in k:
            continue
        print(f"{100 * v / total:6.1f}%  {k}")
        shown += 1
        if shown >= a.top:
            break


if __name__ == "__main__":
    main()
