"""The peer of `siyu bench search`: Python jieba, and SQLite FTS5 over jieba's pre-tokenised text.

    peer.py segment TEXT WORDS            jieba.lcut (precise mode, HMM) over every line of TEXT
    peer.py index DOCS WORDS DB           jieba.cut_for_search each document, insert the space-joined
                                          tokens into an FTS5 table in a fresh DB, commit
    peer.py query DOCS WORDS DB QUERIES   each query: cut_for_search, FTS5 MATCH of every token, top 20 by
                                          bm25 (title weighs 2x) with highlight() and snippet()

WORDS holds the tenant's words, one a line, added with jieba.add_word as siyu adds them to its segmenter.
DOCS is `id<TAB>title<TAB>body` a line. Only the measured loop is timed; loading the dictionary and reading
the files are reported apart. The last line printed is one JSON object.
"""

import json
import os
import sqlite3
import sys
import time

import jieba


def load(words_path):
    jieba.setLogLevel(60)
    started = time.perf_counter()
    jieba.initialize()
    with open(words_path, encoding="utf-8") as f:
        for word in f:
            word = word.strip()
            if word:
                jieba.add_word(word)
    return time.perf_counter() - started


def read_docs(path):
    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            doc_id, title, body = line.rstrip("\n").split("\t")
            docs.append((int(doc_id), title, body))
    return docs


def tokens(text):
    # Like siyu's tokenizer: search-mode words, ASCII lowercased, no whitespace or punctuation-only token.
    return [w.lower() for w in jieba.cut_for_search(text) if any(c.isalnum() for c in w)]


def build(docs, db_path):
    if os.path.exists(db_path):
        os.remove(db_path)
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize = 'unicode61')")
    started = time.perf_counter()
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)",
        ((doc_id, " ".join(tokens(title)), " ".join(tokens(body))) for doc_id, title, body in docs),
    )
    db.commit()
    seconds = time.perf_counter() - started
    return db, seconds


def segment(text_path, words_path):
    load_s = load(words_path)
    with open(text_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    size = sum(len(line.encode("utf-8")) for line in lines)
    count = 0
    started = time.perf_counter()
    for line in lines:
        count += len(jieba.lcut(line))
    seconds = time.perf_counter() - started
    return {"load_s": load_s, "seconds": seconds, "bytes": size, "tokens": count}


def index(docs_path, words_path, db_path):
    load_s = load(words_path)
    docs = read_docs(docs_path)
    db, seconds = build(docs, db_path)
    (n,) = db.execute("SELECT count(*) FROM docs").fetchone()
    db.close()
    return {"load_s": load_s, "seconds": seconds, "docs": n}


def quantile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def query(docs_path, words_path, db_path, queries_path):
    load_s = load(words_path)
    built = None
    docs = read_docs(docs_path)
    db = sqlite3.connect(db_path) if os.path.exists(db_path) else None
    try:
        n = db.execute("SELECT count(*) FROM docs").fetchone()[0] if db else -1
    except sqlite3.Error:
        n = -1
    if n != len(docs):
        if db:
            db.close()
        db, built = build(docs, db_path)
    with open(queries_path, encoding="utf-8") as f:
        queries = [q for q in f.read().splitlines() if q]
    sql = (
        "SELECT rowid, highlight(docs, 0, '<mark>', '</mark>'), snippet(docs, 1, '<mark>', '</mark>', '…', 24) "
        "FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 2.0, 1.0) LIMIT 20"
    )

    def run(q):
        terms = tokens(q)
        if not terms:
            return 0
        match = " ".join('"' + t.replace('"', '""') + '"' for t in terms)
        return len(db.execute(sql, (match,)).fetchall())

    for q in queries[:100]:
        run(q)
    latencies = []
    hits = 0
    for q in queries:
        started = time.perf_counter()
        hits += run(q)
        latencies.append((time.perf_counter() - started) * 1000.0)
    db.close()
    latencies.sort()
    return {
        "load_s": load_s,
        "built_s": built,
        "queries": len(queries),
        "hits": hits,
        "p50_ms": quantile(latencies, 0.50),
        "p99_ms": quantile(latencies, 0.99),
        "mean_ms": sum(latencies) / len(latencies),
    }


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    out = {"segment": segment, "index": index, "query": query}[mode](*args)
    out["jieba"] = jieba.__version__
    out["python"] = sys.version.split()[0]
    out["sqlite"] = sqlite3.sqlite_version
    print(json.dumps(out))


if __name__ == "__main__":
    main()
