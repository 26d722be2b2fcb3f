#!/usr/bin/env python3
"""Writes test/fixtures/drift/*.json: seeded data sets with Evidently's own drift results for them.

The TypeScript drift library (src/drift/) is tested against these files: every column is recomputed
and must give Evidently's method, score (within 1e-9 relative, or 1e-12 absolute near zero) and
verdict, and every run the same dataset drift. Run from the repository root, in a virtual
environment outside the repository:

    python3 -m venv ~/.cache/centaur-drift/venv
    ~/.cache/centaur-drift/venv/bin/pip install -r scripts/drift-fixtures/requirements.txt
    ~/.cache/centaur-drift/venv/bin/python scripts/drift-fixtures/generate.py

Every data set is drawn from a seeded numpy Generator and Python's hash seed is fixed (the script
re-runs itself with PYTHONHASHSEED=0), so the output is the same on every run with the pinned versions. Values are rounded to a few decimals to keep each file small (and to give the
Kolmogorov-Smirnov test ties to handle).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from evidently import DataDefinition, Dataset, Report
from evidently.legacy.calculations.stattests import registry as stattest_registry
from evidently.presets import DataDriftPreset

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "test" / "fixtures" / "drift"
MAX_FILE_BYTES = 200 * 1024

# Which way each registered method compares its score with the threshold (read from Evidently's
# stattests; checked against every verdict Evidently reports below).
DIRECTIONS = {
    "ks": "p<=",
    "chisquare": "p<",
    "z": "p<",
    "psi": ">=",
    "kl_div": ">=",
    "jensenshannon": ">=",
    "wasserstein": ">=",
}


@dataclass
class Series:
    """One column's values: reference and current, before Evidently drops missing values."""

    kind: str  # "numerical" or "categorical"
    reference: Sequence[Any]
    current: Sequence[Any]
    # Written as {"currentSameAs": name} instead of the values when several series share one current sample.
    current_same_as: Optional[str] = None


@dataclass
class Column:
    """A column of a run: which series it shows, and the method/threshold asked for (None: Evidently's default)."""

    name: str
    series: str
    method: Optional[str] = None
    threshold: Optional[float] = None


def versions() -> Dict[str, str]:
    return {name: version(name) for name in ("evidently", "numpy", "scipy", "pandas")}


def encode_value(value: Any) -> Any:
    """JSON has no NaN or infinities: write them as strings the tests decode."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("booleans are not used in the fixtures")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(value, str):
        return value
    raise TypeError(f"unexpected value {value!r} of type {type(value)}")


def encode_values(values: Sequence[Any]) -> List[Any]:
    return [encode_value(v) for v in values]


def padded(values: Sequence[Any], length: int, kind: str) -> pd.Series:
    """A column of the data frame: the values, then missing values up to the frame's length.

    Evidently drops missing values before any drift method runs, so padding lets columns of one
    frame have different sizes.
    """
    values = list(values)
    missing = [np.nan if kind == "numerical" else None] * (length - len(values))
    if kind == "numerical":
        if missing:
            return pd.Series(np.asarray(values + missing, dtype=float))
        return pd.Series(np.asarray(values))
    return pd.Series(values + missing, dtype=object)


def clean_numeric(values: Sequence[Any]) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[np.isfinite(arr)]


def registered_name(method: str) -> str:
    """Evidently reports a method by its display name (or by the name it was asked for)."""
    names = {}
    for name, by_type in stattest_registry._registered_stat_tests.items():
        for stattest in by_type.values():
            names[stattest.display_name] = name
            names[name] = name
    return names[method]


def run_report(series: Dict[str, Series], columns: List[Column], drift_share: float) -> Dict[str, Any]:
    """Runs Evidently's DataDriftPreset over the columns and returns what it reported, per column and overall."""
    ref_len = max(len(series[c.series].reference) for c in columns)
    cur_len = max(len(series[c.series].current) for c in columns)
    reference = pd.DataFrame({c.name: padded(series[c.series].reference, ref_len, series[c.series].kind) for c in columns})
    current = pd.DataFrame({c.name: padded(series[c.series].current, cur_len, series[c.series].kind) for c in columns})
    definition = DataDefinition(
        numerical_columns=[c.name for c in columns if series[c.series].kind == "numerical"],
        categorical_columns=[c.name for c in columns if series[c.series].kind == "categorical"],
    )
    methods = {c.name: c.method for c in columns if c.method is not None}
    thresholds = {c.name: c.threshold for c in columns if c.threshold is not None}
    preset = DataDriftPreset(
        columns=[c.name for c in columns],
        drift_share=drift_share,
        per_column_method=methods or None,
        per_column_threshold=thresholds or None,
    )
    snapshot = Report([preset], include_tests=True).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    report = snapshot.dict()
    status_by_metric = {t["metric_config"]["metric_id"]: t["status"] for t in report["tests"]}

    by_column: Dict[str, Dict[str, Any]] = {}
    dataset: Optional[Dict[str, Any]] = None
    for metric in report["metrics"]:
        config = metric["config"]
        if config["type"] == "evidently:metric_v2:DriftedColumnsCount":
            dataset = {
                "numberOfColumns": len(columns),
                "numberOfDriftedColumns": int(metric["value"]["count"]),
                "shareOfDriftedColumns": float(metric["value"]["share"]),
                "datasetDrift": status_by_metric[metric["id"]] == "FAIL",
            }
        elif config["type"] == "evidently:metric_v2:ValueDrift":
            name = registered_name(config["method"])
            score = float(metric["value"])
            threshold = float(config["threshold"])
            drifted = status_by_metric[metric["id"]] == "FAIL"
            check_direction(config["column"], name, score, threshold, drifted)
            by_column[config["column"]] = {
                "method": name,
                "displayName": config["method"] if config["method"] != name else display_name(name),
                "score": score,
                "threshold": threshold,
                "drifted": drifted,
            }
    assert dataset is not None
    return {
        "driftShare": drift_share,
        "columns": [
            {
                "column": c.name,
                "series": c.series,
                "method": c.method,
                "threshold": c.threshold,
                "expected": by_column[c.name],
            }
            for c in columns
        ],
        "expected": dataset,
    }


def display_name(name: str) -> str:
    for by_type in stattest_registry._registered_stat_tests.get(name, {}).values():
        return by_type.display_name
    raise KeyError(name)


def check_direction(column: str, method: str, score: float, threshold: float, drifted: bool) -> None:
    rule = DIRECTIONS[method]
    expected = {"p<=": score <= threshold, "p<": score < threshold, ">=": score >= threshold}[rule]
    if expected != drifted:
        raise AssertionError(f"{column}: {method} score {score} threshold {threshold}: Evidently says {drifted}")


def scipy_ks(series: Dict[str, Series]) -> Dict[str, Dict[str, float]]:
    """scipy's own ks_2samp (the statistic Evidently does not report) for every numerical series."""
    out = {}
    for name, s in series.items():
        if s.kind != "numerical":
            continue
        ref, cur = clean_numeric(s.reference), clean_numeric(s.current)
        result = stats.ks_2samp(ref, cur)
        out[name] = {"statistic": float(result.statistic), "pvalue": float(result.pvalue)}
    return out


def encode_series(s: Series, series: Dict[str, Series]) -> Dict[str, Any]:
    out: Dict[str, Any] = {"kind": s.kind, "reference": encode_values(s.reference)}
    if s.current_same_as is not None:
        assert list(series[s.current_same_as].current) == list(s.current)
        out["currentSameAs"] = s.current_same_as
    else:
        out["current"] = encode_values(s.current)
    return out


def fixture(name: str, description: str, series: Dict[str, Series], runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {
        "generator": "scripts/drift-fixtures/generate.py",
        "versions": versions(),
        "name": name,
        "description": description,
        "series": {key: encode_series(s, series) for key, s in series.items()},
        "runs": runs,
        "scipyKs": scipy_ks(series),
    }


def rounded(values: np.ndarray, decimals: int) -> List[float]:
    return [float(v) for v in np.round(values, decimals)]


def ints(values: np.ndarray) -> List[int]:
    return [int(v) for v in values]


# --------------------------------------------------------------------------------------------
# The data sets


def numerical_small() -> Dict[str, Any]:
    """References of at most 1000 values: Evidently picks K-S (or chi-square / Z for few values)."""
    rng = np.random.default_rng(101)
    nr, nc = 600, 400
    s: Dict[str, Series] = {}
    s["normal_same"] = Series("numerical", rounded(rng.normal(0, 1, nr), 4), rounded(rng.normal(0, 1, nc), 4))
    s["normal_shift"] = Series("numerical", rounded(rng.normal(0, 1, nr), 4), rounded(rng.normal(0.3, 1, nc), 4))
    s["normal_slight_shift"] = Series("numerical", rounded(rng.normal(0, 1, nr), 4), rounded(rng.normal(0.1, 1, nc), 4))
    s["normal_scale"] = Series("numerical", rounded(rng.normal(0, 1, nr), 4), rounded(rng.normal(0, 1.4, nc), 4))
    s["lognormal_skew"] = Series(
        "numerical", rounded(rng.lognormal(0, 0.8, nr), 4), rounded(rng.lognormal(0.15, 0.8, nc), 4)
    )
    s["ties"] = Series("numerical", rounded(rng.normal(0, 1, nr), 1), rounded(rng.normal(0.05, 1, nc), 1))
    s["equal_sizes"] = Series("numerical", rounded(rng.normal(0, 1, 350), 3), rounded(rng.normal(0.2, 1, 350), 3))
    s["equal_sizes_same"] = Series("numerical", rounded(rng.normal(0, 1, 250), 3), rounded(rng.normal(0, 1, 250), 3))
    s["multiple_sizes"] = Series("numerical", rounded(rng.normal(0, 1, 300), 3), rounded(rng.normal(0.25, 1, 150), 3))
    s["tiny"] = Series("numerical", rounded(rng.normal(0, 1, 12), 3), rounded(rng.normal(1.0, 1, 9), 3))
    s["tiny_same"] = Series("numerical", rounded(rng.normal(0, 1, 7), 3), rounded(rng.normal(0, 1, 8), 3))
    s["six_values"] = Series("numerical", ints(rng.integers(1, 7, nr)), ints(rng.integers(1, 7, nc)))
    s["five_values"] = Series("numerical", ints(rng.integers(1, 6, nr)), ints(rng.integers(1, 6, nc)))
    s["five_values_shift"] = Series(
        "numerical", ints(rng.choice([1, 2, 3, 4, 5], nr, p=[0.2] * 5)), ints(rng.choice([1, 2, 3, 4, 5], nc, p=[0.1, 0.15, 0.2, 0.25, 0.3]))
    )
    s["two_values"] = Series("numerical", ints(rng.integers(0, 2, nr)), ints(rng.integers(0, 2, nc)))
    s["two_values_shift"] = Series(
        "numerical", ints(rng.choice([0, 1], nr, p=[0.5, 0.5])), ints(rng.choice([0, 1], nc, p=[0.35, 0.65]))
    )
    s["value_new_in_current"] = Series(
        "numerical", ints(rng.choice([1, 2], nr)), ints(rng.choice([1, 2, 3], nc, p=[0.45, 0.45, 0.1]))
    )
    s["constant"] = Series("numerical", [7.5] * nr, [7.5] * nc)
    s["constant_reference"] = Series("numerical", [3] * nr, ints(rng.choice([3, 4], nc, p=[0.9, 0.1])))
    with_missing_ref = rng.normal(0, 1, nr).round(4)
    with_missing_cur = rng.normal(0.2, 1, nc).round(4)
    with_missing_ref[rng.choice(nr, 30, replace=False)] = np.nan
    with_missing_cur[rng.choice(nc, 20, replace=False)] = np.nan
    with_missing_ref[:3] = [np.inf, -np.inf, np.inf]
    with_missing_cur[:2] = [-np.inf, np.inf]
    s["missing_and_infinite"] = Series("numerical", list(with_missing_ref), list(with_missing_cur))
    columns = [Column(name, name) for name in s]
    return fixture(
        "numerical-small",
        "Numerical columns with references of at most 1000 values (K-S exact p-values, chi-square and Z for few values), missing and infinite values, ties, tiny samples.",
        s,
        [run_report(s, columns, 0.5)],
    )


def numerical_large() -> Dict[str, Any]:
    """References above 1000 values: Evidently picks normed Wasserstein (or Jensen-Shannon for few values)."""
    rng = np.random.default_rng(202)
    nr, nc = 1500, 1200
    s: Dict[str, Series] = {}
    s["normal_same"] = Series("numerical", rounded(rng.normal(10, 2, nr), 3), rounded(rng.normal(10, 2, nc), 3))
    s["normal_slight_shift"] = Series("numerical", rounded(rng.normal(10, 2, nr), 3), rounded(rng.normal(10.15, 2, nc), 3))
    s["normal_shift"] = Series("numerical", rounded(rng.normal(10, 2, nr), 3), rounded(rng.normal(10.6, 2, nc), 3))
    s["exponential_skew"] = Series("numerical", rounded(rng.exponential(1.0, nr), 3), rounded(rng.exponential(1.3, nc), 3))
    s["integers"] = Series("numerical", ints(rng.integers(0, 200, nr)), ints(rng.integers(5, 210, nc)))
    s["poisson"] = Series("numerical", ints(rng.poisson(3, nr)), ints(rng.poisson(3.3, nc)))
    s["four_values"] = Series(
        "numerical", ints(rng.choice([0, 1, 2, 3], nr)), ints(rng.choice([0, 1, 2, 3], nc, p=[0.1, 0.2, 0.3, 0.4]))
    )
    s["constant_reference"] = Series("numerical", [1.0] * nr, rounded(rng.normal(1.0, 0.0005, nc), 5))
    columns = [Column(name, name) for name in s]
    return fixture(
        "numerical-large",
        "Numerical columns with references above 1000 values (normed Wasserstein, Jensen-Shannon for five values or fewer), including a constant reference (the 0.001 floor of the norm).",
        s,
        [run_report(s, columns, 0.5)],
    )


LETTERS = [chr(ord("a") + i) for i in range(26)]


def zipf_probabilities(k: int, exponent: float) -> np.ndarray:
    p = 1.0 / np.arange(1, k + 1) ** exponent
    return p / p.sum()


def categorical_small() -> Dict[str, Any]:
    """Categorical columns with references of at most 1000 values: chi-square, or Z for two values or fewer."""
    rng = np.random.default_rng(303)
    nr, nc = 500, 400
    s: Dict[str, Series] = {}
    three = ["red", "green", "blue"]
    s["three_same"] = Series("categorical", list(rng.choice(three, nr)), list(rng.choice(three, nc)))
    s["three_shift"] = Series("categorical", list(rng.choice(three, nr)), list(rng.choice(three, nc, p=[0.5, 0.3, 0.2])))
    many = [f"c{i:02d}" for i in range(40)]
    s["many_same"] = Series("categorical", list(rng.choice(many, nr, p=zipf_probabilities(40, 1.1))), list(rng.choice(many, nc, p=zipf_probabilities(40, 1.1))))
    s["many_shift"] = Series("categorical", list(rng.choice(many, nr, p=zipf_probabilities(40, 1.1))), list(rng.choice(many, nc, p=zipf_probabilities(40, 0.8))))
    s["binary_same"] = Series("categorical", list(rng.choice(["no", "yes"], nr)), list(rng.choice(["no", "yes"], nc)))
    s["binary_shift"] = Series("categorical", list(rng.choice(["no", "yes"], nr, p=[0.7, 0.3])), list(rng.choice(["no", "yes"], nc, p=[0.6, 0.4])))
    s["new_category"] = Series("categorical", list(rng.choice(["a", "b", "c"], nr)), list(rng.choice(["a", "b", "c", "d"], nc, p=[0.3, 0.3, 0.3, 0.1])))
    s["category_gone"] = Series("categorical", list(rng.choice(["a", "b", "c", "d"], nr)), list(rng.choice(["a", "b", "c"], nc)))
    s["integer_codes"] = Series("categorical", ints(rng.integers(0, 4, nr)), ints(rng.integers(0, 4, nc)))
    s["binary_integer_codes"] = Series("categorical", ints(rng.integers(0, 2, nr)), ints(rng.integers(0, 2, nc)))
    with_missing_ref: List[Any] = list(rng.choice(three, nr))
    with_missing_cur: List[Any] = list(rng.choice(three, nc, p=[0.4, 0.4, 0.2]))
    for i in rng.choice(nr, 40, replace=False):
        with_missing_ref[int(i)] = None
    for i in rng.choice(nc, 25, replace=False):
        with_missing_cur[int(i)] = None
    s["with_missing"] = Series("categorical", with_missing_ref, with_missing_cur)
    s["single_same"] = Series("categorical", ["only"] * nr, ["only"] * nc)
    s["single_swapped"] = Series("categorical", ["before"] * 60, ["after"] * 50)
    s["tiny"] = Series("categorical", list(rng.choice(three, 9)), list(rng.choice(three, 6)))
    columns = [Column(name, name) for name in s]
    return fixture(
        "categorical-small",
        "Categorical columns with references of at most 1000 values: chi-square for more than two values, Z-test for two or fewer; new and vanished categories, missing values, a single category.",
        s,
        [run_report(s, columns, 0.5)],
    )


def categorical_large() -> Dict[str, Any]:
    """Categorical columns with references above 1000 values: Jensen-Shannon."""
    rng = np.random.default_rng(404)
    nr, nc = 3000, 2000
    s: Dict[str, Series] = {}
    fmt = ["jpeg", "png", "webp", "gif"]
    s["format_same"] = Series("categorical", list(rng.choice(fmt, nr, p=[0.6, 0.3, 0.08, 0.02])), list(rng.choice(fmt, nc, p=[0.6, 0.3, 0.08, 0.02])))
    s["format_shift"] = Series("categorical", list(rng.choice(fmt, nr, p=[0.6, 0.3, 0.08, 0.02])), list(rng.choice(fmt, nc, p=[0.45, 0.35, 0.15, 0.05])))
    s["classes_many"] = Series("categorical", ints(rng.choice(60, nr, p=zipf_probabilities(60, 1.0))), ints(rng.choice(60, nc, p=zipf_probabilities(60, 1.0))))
    s["new_class"] = Series("categorical", list(rng.choice(["horse", "human"], nr)), list(rng.choice(["horse", "human", "zebra"], nc, p=[0.4, 0.4, 0.2])))
    s["binary"] = Series("categorical", list(rng.choice(["horse", "human"], nr)), list(rng.choice(["horse", "human"], nc, p=[0.55, 0.45])))
    columns = [Column(name, name) for name in s]
    return fixture(
        "categorical-large",
        "Categorical columns with references above 1000 values (Jensen-Shannon distance), including many classes and a new class.",
        s,
        [run_report(s, columns, 0.5)],
    )


NUMERICAL_METHODS = ["psi", "kl_div", "jensenshannon", "wasserstein", "ks"]
CATEGORICAL_METHODS = ["psi", "kl_div", "jensenshannon", "chisquare", "z"]


def explicit_methods() -> Dict[str, Any]:
    """Every method asked for explicitly on data that exercises its binning rules."""
    rng = np.random.default_rng(505)
    nr, nc = 800, 700
    s: Dict[str, Series] = {}
    s["num_shift"] = Series("numerical", rounded(rng.normal(0, 1, nr), 3), rounded(rng.normal(0.3, 1.1, nc), 3))
    # Two far-apart modes: the middle Sturges bins are empty in both samples, the outer ones in one.
    gap_ref = np.concatenate([rng.normal(0, 0.3, nr // 2), rng.normal(20, 0.3, nr - nr // 2)])
    gap_cur = np.concatenate([rng.normal(0.5, 0.3, nc - 50), rng.normal(20.5, 0.3, 50)])
    s["num_gap"] = Series("numerical", rounded(gap_ref, 3), rounded(gap_cur, 3))
    # 20 distinct values in the reference: shares by value, not Sturges bins. 21: Sturges bins.
    s["num_twenty_values"] = Series("numerical", ints(rng.integers(0, 20, nr)), ints(rng.integers(0, 22, nc)))
    s["num_twenty_one_values"] = Series("numerical", ints(rng.integers(0, 21, nr)), ints(rng.integers(0, 21, nc)))
    s["num_skew"] = Series("numerical", rounded(rng.lognormal(0, 1, nr), 3), rounded(rng.lognormal(0.2, 1, nc), 3))
    s["num_same"] = Series("numerical", rounded(rng.normal(5, 1, nr), 3), rounded(rng.normal(5, 1, nc), 3))
    s["cat_shift"] = Series("categorical", list(rng.choice(LETTERS[:6], nr)), list(rng.choice(LETTERS[:6], nc, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1])))
    s["cat_new"] = Series("categorical", list(rng.choice(LETTERS[:4], nr)), list(rng.choice(LETTERS[:5], nc, p=[0.24, 0.24, 0.24, 0.24, 0.04])))
    s["cat_binary"] = Series("categorical", list(rng.choice(["n", "y"], nr)), list(rng.choice(["n", "y"], nc, p=[0.45, 0.55])))
    s["cat_many"] = Series("categorical", list(rng.choice(LETTERS, nr, p=zipf_probabilities(26, 1.2))), list(rng.choice(LETTERS, nc, p=zipf_probabilities(26, 1.0))))
    columns = []
    for name, series in s.items():
        methods = NUMERICAL_METHODS if series.kind == "numerical" else CATEGORICAL_METHODS
        for method in methods:
            columns.append(Column(f"{name}__{method}", name, method))
    return fixture(
        "explicit-methods",
        "Each method asked for explicitly: Sturges bins over both samples, shares by value for 20 or fewer reference values, empty bins and the epsilon that fills them, new categories.",
        s,
        [run_report(s, columns, 0.5)],
    )


def identical() -> Dict[str, Any]:
    """Current equal to reference: zero distances, p-values of one, no drift."""
    rng = np.random.default_rng(606)
    s: Dict[str, Series] = {}
    small = rounded(rng.normal(0, 1, 400), 3)
    large = rounded(rng.gamma(2.0, 2.0, 1200), 3)
    cats = list(rng.choice(["a", "b", "c"], 400))
    binary = list(rng.choice(["a", "b"], 400))
    s["num_small"] = Series("numerical", small, list(small))
    s["num_large"] = Series("numerical", large, list(large))
    s["num_small_shuffled"] = Series("numerical", small, list(rng.permutation(small)))
    s["cat"] = Series("categorical", cats, list(cats))
    s["binary"] = Series("categorical", binary, list(binary))
    columns = [Column(name, name) for name in s]
    columns += [Column(f"num_large__{m}", "num_large", m) for m in NUMERICAL_METHODS]
    columns += [Column(f"cat__{m}", "cat", m) for m in CATEGORICAL_METHODS]
    return fixture(
        "identical",
        "Current data equal to the reference, for every method: distances of zero and p-values of one.",
        s,
        [run_report(s, columns, 0.5)],
    )


def dataset_share() -> Dict[str, Any]:
    """Exactly half the columns drift: dataset drift at a share of 0.5 (share >= threshold), not at 0.75."""
    rng = np.random.default_rng(707)
    nr, nc = 500, 500
    s: Dict[str, Series] = {}
    s["a_same"] = Series("numerical", rounded(rng.normal(0, 1, nr), 3), rounded(rng.normal(0, 1, nc), 3))
    s["b_same"] = Series("categorical", list(rng.choice(["x", "y", "z"], nr)), list(rng.choice(["x", "y", "z"], nc)))
    s["c_drift"] = Series("numerical", rounded(rng.normal(0, 1, nr), 3), rounded(rng.normal(2, 1, nc), 3))
    s["d_drift"] = Series("categorical", list(rng.choice(["x", "y", "z"], nr)), list(rng.choice(["x", "y", "z"], nc, p=[0.8, 0.1, 0.1])))
    columns = [Column(name, name) for name in s]
    runs = [run_report(s, columns, share) for share in (0.5, 0.75, 0.25)]
    return fixture(
        "dataset-share",
        "Dataset drift: two of four columns drift, so the share 0.5 meets a threshold of 0.5 (>=), not 0.75, and passes 0.25.",
        s,
        runs,
    )


def threshold_equals_score() -> Dict[str, Any]:
    """Each method with its threshold set to exactly its score: shows >= versus < versus <=."""
    rng = np.random.default_rng(808)
    nr, nc = 600, 500
    s: Dict[str, Series] = {}
    s["num"] = Series("numerical", rounded(rng.normal(0, 1, nr), 3), rounded(rng.normal(0.15, 1, nc), 3))
    s["cat"] = Series("categorical", list(rng.choice(["a", "b", "c"], nr)), list(rng.choice(["a", "b", "c"], nc, p=[0.36, 0.33, 0.31])))
    s["bin"] = Series("categorical", list(rng.choice(["a", "b"], nr)), list(rng.choice(["a", "b"], nc, p=[0.45, 0.55])))
    first = [Column(f"num__{m}", "num", m) for m in NUMERICAL_METHODS]
    first += [Column(f"cat__{m}", "cat", m) for m in ("psi", "kl_div", "jensenshannon", "chisquare")]
    first += [Column("bin__z", "bin", "z")]
    scores = {c["column"]: c["expected"]["score"] for c in run_report(s, first, 0.5)["columns"]}
    second = [Column(c.name, c.series, c.method, scores[c.name]) for c in first]
    return fixture(
        "threshold-equals-score",
        "Every method with its threshold set to exactly its own score: distances drift (>=), K-S drifts (p <= threshold), chi-square and Z do not (p < threshold).",
        s,
        [run_report(s, second, 0.5)],
    )


def ks_asymptotic() -> Dict[str, Any]:
    """A current sample above 10000 values: scipy's ks_2samp switches from exact to asymptotic (kstwo)."""
    rng = np.random.default_rng(909)
    nc = 10050
    s: Dict[str, Series] = {}
    base = rounded(rng.normal(0, 1, nc), 2)
    s: Dict[str, Series] = {}
    s["ref100_same"] = Series("numerical", rounded(rng.normal(0, 1, 100), 2), base)
    s["ref130_shift"] = Series("numerical", rounded(rng.normal(0.6, 1, 130), 2), base, "ref100_same")
    s["ref400_same"] = Series("numerical", rounded(rng.normal(0, 1, 400), 2), base, "ref100_same")
    s["ref900_slight"] = Series("numerical", rounded(rng.normal(0.1, 1, 900), 2), base, "ref100_same")
    s["ref700_shift"] = Series("numerical", rounded(rng.normal(0.35, 1, 700), 2), base, "ref100_same")
    # A lone outlier in the large sample: a Sturges bin holding 1 of 10051 values (share below 0.0001),
    # so PSI and KL fill empty bins with that share / 10**6 instead of 0.0001.
    outlier = list(base) + [9.5]
    s["outlier"] = Series("numerical", rounded(rng.normal(0, 1, 1000), 2), outlier)
    columns = [Column(name, name) for name in s]
    columns += [Column(f"outlier__{m}", "outlier", m) for m in ("psi", "kl_div", "jensenshannon", "ks")]
    columns += [Column("ref700_shift__ks", "ref700_shift", "ks")]
    return fixture(
        "ks-asymptotic",
        "A current sample of more than 10000 values, so ks_2samp uses the asymptotic kstwo distribution; one outlier makes a bin with a share below 0.0001.",
        s,
        [run_report(s, columns, 0.5)],
    )


def scipy_special() -> Dict[str, Any]:
    """Values of the special functions the methods rest on, over the regions their algorithms switch between."""
    out: Dict[str, Any] = {"generator": "scripts/drift-fixtures/generate.py", "versions": versions(), "name": "scipy-special"}
    out["description"] = "scipy.special.ndtr, chdtrc, smirnov and scipy.stats.kstwo.sf on grids that cross each algorithm's switch-over points."
    xs = sorted(set([0.0, 1e-8, 0.1, 0.5, 0.7, 0.7071, 0.75, 1.0, 1.5, 1.96, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 8.0, 9.0, 10.0, 20.0, 37.0, 38.5, 40.0]))
    xs = sorted(set(xs + [-x for x in xs]))
    out["ndtr"] = [[x, float(special.ndtr(x))] for x in xs]
    chd = []
    for df in (1, 2, 3, 4, 5, 7, 10, 19, 30, 45, 100, 250, 399, 1000):
        for f in (1e-6, 0.01, 0.1, 0.5, 0.8, 0.95, 1.0, 1.05, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0):
            x = df * f
            chd.append([df, x, float(special.chdtrc(df, x))])
        for x in (0.2, 0.6, 1.0, 1.2):
            chd.append([df, x, float(special.chdtrc(df, x))])
    out["chdtrc"] = chd
    smir = []
    for n in (1, 2, 3, 5, 10, 50, 140, 141, 500, 1000, 5000, 100000):
        for x in (0.0005, 0.001, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0 / n, 2.0 / n, 1 - 1.0 / n):
            if 0 <= x <= 1:
                smir.append([n, x, float(special.smirnov(n, x))])
    out["smirnov"] = smir
    kst = []
    for n in (1, 2, 3, 5, 10, 20, 50, 100, 140, 141, 200, 300, 500, 1000, 3000, 10000, 100000, 200000):
        grid = [math.sqrt(t / n) for t in (0.05, 0.1, 0.3, 0.5, 0.75, 0.76, 1.0, 1.5, 2.0, 2.19, 2.21, 3.0, 3.99, 4.01, 6.0, 10.0, 17.9, 18.1, 30.0, 100.0, 369.0, 371.0)]
        grid += [0.4 / n, 0.5 / n, 0.75 / n, 1.0 / n, 1.5 / n, (n - 1.0) / n, 0.3, 0.45, 0.5, 0.55, 0.8, 0.99, 1.0]
        grid += [(1.4 / n) ** (2.0 / 3.0) * f for f in (0.99, 1.01)]
        for x in sorted(set(grid)):
            if 0 < x <= 1.0:
                kst.append([n, x, float(stats.kstwo.sf(x, n))])
    out["kstwoSf"] = kst
    return out


def numpy_binning() -> Dict[str, Any]:
    """np.histogram_bin_edges(..., 'sturges') and np.histogram counts, including sizes that are powers of two."""
    rng = np.random.default_rng(1001)
    cases = []
    for n, decimals in ((16, 3), (64, 2), (100, 3), (1000, 2), (1024, 3), (2048, 2), (3000, 1)):
        values = np.round(rng.uniform(-3.7, 11.3, n), decimals)
        edges = np.histogram_bin_edges(values, bins="sturges")
        counts, _ = np.histogram(values, edges)
        cases.append({"values": [float(v) for v in values], "edges": [float(e) for e in edges], "counts": ints(counts)})
    for n in (1024, 4096):
        values = rng.integers(-50, 50, n)
        edges = np.histogram_bin_edges(values, bins="sturges")
        counts, _ = np.histogram(values, edges)
        cases.append({"values": ints(values), "integer": True, "edges": [float(e) for e in edges], "counts": ints(counts)})
    return {
        "generator": "scripts/drift-fixtures/generate.py",
        "versions": versions(),
        "name": "numpy-binning",
        "description": "Sturges bin edges and histogram counts as numpy computes them (the bin count is ceil(range / width), which can exceed log2(n) + 1 by one).",
        "cases": cases,
    }


FIXTURES = {
    "numerical-small": numerical_small,
    "numerical-large": numerical_large,
    "categorical-small": categorical_small,
    "categorical-large": categorical_large,
    "explicit-methods": explicit_methods,
    "identical": identical,
    "dataset-share": dataset_share,
    "threshold-equals-score": threshold_equals_score,
    "ks-asymptotic": ks_asymptotic,
    "scipy-special": scipy_special,
    "numpy-binning": numpy_binning,
}


def main(argv: List[str]) -> int:
    # Evidently lists categories in Python set order, which follows string hashes; a fixed hash seed
    # keeps the order, and so the last bits of every sum, the same from run to run.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable, __file__, *argv], {**os.environ, "PYTHONHASHSEED": "0"})
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"fixtures to write (default: all): {', '.join(FIXTURES)}")
    args = parser.parse_args(argv)
    # pandas' deprecation notes and numpy's divide-by-zero (chi-square with a category the reference lacks)
    # are expected; they would only hide the summary.
    warnings.filterwarnings("ignore")
    names = args.names or list(FIXTURES)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in names:
        data = FIXTURES[name]()
        text = json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n"
        if len(text.encode()) > MAX_FILE_BYTES:
            raise SystemExit(f"{name}.json would be {len(text.encode())} bytes, above {MAX_FILE_BYTES}")
        (OUT_DIR / f"{name}.json").write_text(text)
        print(f"{name}.json: {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
