"""The peer of `siyu bench wecom`: wechatpy verifies, decrypts and parses the same WeCom callbacks.

Usage: wechatpy_callbacks.py PAYLOADS.jsonl TOKEN ENCODING_AES_KEY CORP_ID RUNS

Reads every payload ({msg_signature, timestamp, nonce, body}) into memory first, then, RUNS times, for each
one: `WeChatCrypto.decrypt_message` (parses the POST body with xmltodict, checks the signature, decrypts,
checks the corp id) and `parse_message` (xmltodict over the decrypted event, into wechatpy's message class).
Only that loop is timed: not the imports, not reading the file. wechatpy has no database, so nothing is
stored. Prints one JSON object as its last line.
"""

import json
import platform
import sys
import time
from collections import Counter

try:  # wechatpy 2.x
    from wechatpy.work import parse_message
    from wechatpy.work.crypto import WeChatCrypto

    MODULE = "wechatpy.work"
except ImportError:  # wechatpy 1.x, the latest stable release
    from wechatpy.enterprise import parse_message
    from wechatpy.enterprise.crypto import WeChatCrypto

    MODULE = "wechatpy.enterprise"


def main():
    path, token, aes_key, corp_id, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    with open(path, encoding="utf-8") as f:
        payloads = [json.loads(line) for line in f if line.strip()]
    items = [(p["body"], p["msg_signature"], p["timestamp"], p["nonce"]) for p in payloads]
    crypto = WeChatCrypto(token, aes_key, corp_id)

    seconds = []
    kinds = Counter()
    welcome = 0
    for run in range(runs):
        started = time.perf_counter()
        parsed = [parse_message(crypto.decrypt_message(body, sig, ts, nonce)) for body, sig, ts, nonce in items]
        seconds.append(time.perf_counter() - started)
        print(f"wechatpy: run {run + 1}/{runs}: {len(items) / seconds[-1]:,.0f} callbacks/s", file=sys.stderr)
        if run == 0:
            for message in parsed:
                raw = message._data
                change = raw.get("ChangeType") or ""
                event = raw.get("Event") or raw.get("MsgType") or ""
                kinds[f"{event}/{change}" if change else event] += 1
                welcome += 1 if raw.get("WelcomeCode") else 0

    import cryptography
    import wechatpy

    print(
        json.dumps(
            {
                "wechatpy": getattr(wechatpy, "__version__", "?"),
                "module": MODULE,
                "cryptography": cryptography.__version__,
                "python": platform.python_version(),
                "callbacks": len(items),
                "seconds": seconds,
                "kinds": kinds,
                "welcome": welcome,
            }
        )
    )


if __name__ == "__main__":
    main()
