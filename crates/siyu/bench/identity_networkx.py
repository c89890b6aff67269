"""The peer of `siyu bench identity`: connected components of an identifier edge file with networkx.

Usage: python3 identity_networkx.py EDGES.tsv

EDGES.tsv holds one observation per line, two identifiers separated by a tab (`a<TAB>b`; an identifier seen
alone is written `a<TAB>a`). The script reads the file, builds a `networkx.Graph` with `add_edges_from`,
runs `connected_components`, and prints one JSON object: the number of nodes, edges read, components and the
largest component's size, the seconds each step took and the process's peak resident memory.

Timing starts before the file is opened, after Python has started and imported networkx.
Install networkx with `pip install networkx`.
"""

import json
import resource
import sys
import time

try:
    import networkx as nx
except ImportError:
    print("networkx is missing: pip install networkx", file=sys.stderr)
    sys.exit(3)


def main(path):
    started = time.perf_counter()
    graph = nx.Graph()
    with open(path, encoding="utf-8") as lines:
        graph.add_edges_from(line.rstrip("\n").split("\t", 1) for line in lines)
    built = time.perf_counter()
    sizes = [len(component) for component in nx.connected_components(graph)]
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "networkx": nx.__version__,
                "python": sys.version.split()[0],
                "nodes": graph.number_of_nodes(),
                "edges": graph.number_of_edges(),
                "components": len(sizes),
                "largest": max(sizes, default=0),
                "read_build_s": built - started,
                "components_s": done - built,
                "total_s": done - started,
                "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1])
