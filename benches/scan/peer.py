"""The peer of `siyu bench scan`: pyahocorasick finds the same patterns in the same chat lines.

Usage: peer.py PATTERNS.txt CHAT.txt RUNS

Reads the patterns (one a line) into an `ahocorasick.Automaton` (`add_word` + `make_automaton`, timed as
the build), reads the chat file and splits it into lines (not timed), then, RUNS times, goes through every
line with `Automaton.iter_long` (leftmost-longest, non-overlapping matches) counting the matches. Only that
loop is timed. The text is matched as written: no normalisation, no segmentation. Prints one JSON object as
its last line.
"""

import json
import platform
import resource
import sys
import time
from importlib import metadata

import ahocorasick


def main():
    patterns_path, chat_path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(patterns_path, encoding="utf-8") as f:
        patterns = [line.rstrip("\n") for line in f if line.strip()]

    started = time.perf_counter()
    automaton = ahocorasick.Automaton()
    for i, word in enumerate(patterns):
        automaton.add_word(word, i)
    automaton.make_automaton()
    build_s = time.perf_counter() - started

    with open(chat_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()

    seconds = []
    hits = 0
    for run in range(runs):
        found = 0
        iter_long = automaton.iter_long
        started = time.perf_counter()
        for line in lines:
            for _ in iter_long(line):
                found += 1
        seconds.append(time.perf_counter() - started)
        hits = found
        print(f"pyahocorasick: run {run + 1}/{runs}: {seconds[-1]:.2f} s, {found:,} hits", file=sys.stderr)

    print(
        json.dumps(
            {
                "pyahocorasick": metadata.version("pyahocorasick"),
                "python": platform.python_version(),
                "patterns": len(patterns),
                "lines": len(lines),
                "hits": hits,
                "build_s": build_s,
                "seconds": seconds,
                "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


if __name__ == "__main__":
    main()
