#!/usr/bin/env python3
"""Fit BG/NBD and Gamma-Gamma with the Python `lifetimes` package, as the reference for siyu's CLV fit.

Reads a CSV with the columns frequency, recency, T, monetary_value (one row per customer, any time unit;
extra columns are ignored), fits `BetaGeoFitter` on every customer and `GammaGammaFitter` on those with
frequency > 0 and monetary_value > 0, and prints one JSON object: the parameters, the BG/NBD log-likelihood
in the data's units, and the seconds each `fit` call took (reading the CSV is not timed).

    pip install lifetimes      # 0.11.3; works with numpy 2, scipy 1.17, pandas 3
    python benches/clv/lifetimes_fit.py customers.csv [--skip-gamma-gamma]
"""

import argparse
import json
import sys
import time
import warnings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", help="CSV with frequency, recency, T, monetary_value columns")
    parser.add_argument("--skip-gamma-gamma", action="store_true", help="fit BG/NBD only")
    args = parser.parse_args()

    warnings.simplefilter("ignore")
    import numpy as np
    import pandas as pd
    import lifetimes
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    data = pd.read_csv(args.csv)
    missing = {"frequency", "recency", "T", "monetary_value"} - set(data.columns)
    if missing:
        print(f"missing columns: {sorted(missing)}", file=sys.stderr)
        return 2

    import platform
    import scipy

    result = {
        "lifetimes_version": lifetimes.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "customers": int(len(data)),
    }

    started = time.perf_counter()
    bg = BetaGeoFitter()
    bg.fit(data["frequency"], data["recency"], data["T"])
    seconds = time.perf_counter() - started
    params = bg.params_
    # lifetimes minimises the mean negative log-likelihood in time scaled to the largest T; evaluate the
    # total at the fitted parameters in the data's own units, comparable with the papers and with siyu.
    log_params = np.log([params["r"], params["alpha"], params["a"], params["b"]])
    n = len(data)
    log_likelihood = -n * BetaGeoFitter._negative_log_likelihood(
        log_params,
        data["frequency"].to_numpy().astype(int),
        data["recency"].to_numpy(dtype=float),
        data["T"].to_numpy(dtype=float),
        np.ones(n),
        0.0,
    )
    result["bgnbd"] = {
        "r": float(params["r"]),
        "alpha": float(params["alpha"]),
        "a": float(params["a"]),
        "b": float(params["b"]),
        "log_likelihood": float(log_likelihood),
        "seconds": seconds,
    }

    if not args.skip_gamma_gamma:
        repeat = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
        started = time.perf_counter()
        gg = GammaGammaFitter()
        gg.fit(repeat["frequency"], repeat["monetary_value"])
        seconds = time.perf_counter() - started
        result["gamma_gamma"] = {
            "p": float(gg.params_["p"]),
            "q": float(gg.params_["q"]),
            "v": float(gg.params_["v"]),
            "log_likelihood": float(-len(repeat) * gg._negative_log_likelihood_),
            "customers": int(len(repeat)),
            "seconds": seconds,
        }

    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
