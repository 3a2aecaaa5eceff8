"""Repeat locations and the Knox near-repeat test.

Method
------
* **Repeat locations**: a pseudonymised location key is a repeat location when it has at least
  ``min_events`` events (default 3) inside some window of ``window_days`` (default 365) days.
  Counting in a rolling window, not per calendar year, finds a run that straddles a year end
  (Farrell and Pease 1993, *Once bitten, twice bitten*, Home Office CPU paper 46). Vectorised by
  a sorted search over (key, day) so the cost is O(n log n).
* **Knox test** (Knox 1964, 'The detection of space-time interactions', JRSS C 13(1); the
  near-repeat calculator of Ratcliffe 2009 uses the same design): every pair of events is put in
  a cell by its distance band and time band; the observed pair count of each cell is compared
  with counts after randomly permuting the dates over the locations (Monte Carlo, default 999
  permutations, seedable), which keeps the spatial and temporal distributions and breaks only
  their interaction. ``knox_ratio = observed / mean(permuted)``; the one-sided p-value of each
  cell is ``(1 + #{permuted >= observed}) / (1 + permutations)`` (Davison and Hinkley 1997,
  4.2). The cells are shown, but a near-repeat pattern is claimed only from **one global
  test** per table: the largest standardised cell excess ``max_c (observed_c - mean_c) /
  sd_c`` against the same maximum in every permutation (the max-T method of Westfall and
  Young 1993, *Resampling-Based Multiple Testing*), ``global_p_value`` on every row. Testing
  every cell with BH instead needs p-values that 999 permutations cannot give.
  Bands are half-open ``[lower, upper)`` in metres and days from the edges given; pairs beyond
  the last space edge never count, so only pairs within it are enumerated (cKDTree), and each
  permutation is one vectorised pass over those pairs (day gaps are whole numbers, so a gap's
  time band is a table look-up). csp.analysis.locations runs it over the warehouse. Use it only where precise place and
  time exist (not police.uk snapped points with month-only dates).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

DEFAULT_MIN_EVENTS = 3
DEFAULT_WINDOW_DAYS = 365


def repeat_locations(
    events: pd.DataFrame,
    *,
    min_events: int = DEFAULT_MIN_EVENTS,
    window_days: int = DEFAULT_WINDOW_DAYS,
    key_col: str = "location_key",
    date_col: str = "event_date",
) -> pd.DataFrame:
    """location_key, events, max_in_window, first_date, last_date, repeat; repeats first."""
    cols = [key_col, "events", "max_in_window", "first_date", "last_date", "repeat"]
    missing = {key_col, date_col} - set(events.columns)
    if missing:
        raise ValueError(f"events lacks columns: {sorted(missing)}")
    ev = events[[key_col, date_col]].dropna()
    if ev.empty:
        return pd.DataFrame(columns=cols)
    dates = pd.to_datetime(ev[date_col]).dt.normalize()
    codes, keys = pd.factorize(ev[key_col], sort=True)
    days = ((dates - dates.min()) / pd.Timedelta(days=1)).to_numpy().astype(np.int64)
    span = int(days.max()) + window_days + 1
    # one sortable number per event: groups are separated by more than any window
    combined = np.sort(codes.astype(np.int64) * span + days)
    first_in_window = np.searchsorted(combined, combined - window_days + 1, side="left")
    in_window = np.arange(len(combined)) - first_in_window + 1
    group = combined // span
    per_key = pd.DataFrame({"g": group, "n": in_window}).groupby("g")["n"].max()
    agg = pd.DataFrame({"code": codes, "date": dates.to_numpy()}).groupby("code")["date"].agg(
        ["size", "min", "max"])
    out = pd.DataFrame({
        key_col: keys[agg.index], "events": agg["size"].to_numpy(),
        "max_in_window": per_key.reindex(agg.index).to_numpy(),
        "first_date": agg["min"].to_numpy(), "last_date": agg["max"].to_numpy(),
    })
    out["repeat"] = out["max_in_window"] >= min_events
    return out.sort_values(["repeat", "max_in_window", key_col],
                           ascending=[False, False, True], ignore_index=True)[cols]


def _band_labels(edges, unit: str) -> list[str]:
    return [f"{edges[k]:g}-{edges[k + 1]:g} {unit}" for k in range(len(edges) - 1)]


def knox_test(
    events: pd.DataFrame,
    *,
    space_bands=(0, 100, 200, 400),
    time_bands=(0, 7, 14, 28),
    permutations: int = 999,
    seed: int | None = None,
    x_col: str = "x",
    y_col: str = "y",
    date_col: str = "date",
) -> pd.DataFrame:
    """Knox table: space_band, time_band, observed, expected, knox_ratio, p_value,
    global_p_value (the table's one near-repeat test, on every row).

    ``events``: x, y in metres (e.g. British National Grid) and a date (day resolution).
    """
    s_edges = np.asarray(space_bands, dtype=float)
    t_edges = np.asarray(time_bands, dtype=float)
    if len(s_edges) < 2 or len(t_edges) < 2 or np.any(np.diff(s_edges) <= 0) or np.any(
            np.diff(t_edges) <= 0):
        raise ValueError("bands need at least two strictly increasing edges")
    if permutations < 1:
        raise ValueError("permutations must be at least 1")
    ev = events[[x_col, y_col, date_col]].dropna()
    ns, nt = len(s_edges) - 1, len(t_edges) - 1
    s_lab, t_lab = _band_labels(s_edges, "m"), _band_labels(t_edges, "days")
    pts = ev[[x_col, y_col]].to_numpy(dtype=float)
    day = (pd.to_datetime(ev[date_col]) - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    day = np.floor(day.to_numpy(dtype=float))
    if len(ev) >= 2:
        # pairs strictly closer than the last space edge (the bands are half-open)
        pairs = cKDTree(pts).query_pairs(r=s_edges[-1], output_type="ndarray")
    else:
        pairs = np.empty((0, 2), dtype=np.int64)
    i, j = pairs[:, 0], pairs[:, 1]
    dist = np.hypot(*(pts[i] - pts[j]).T) if len(i) else np.empty(0)
    s_bin = np.searchsorted(s_edges, dist, side="right") - 1
    keep = (s_bin >= 0) & (s_bin < ns)
    i, j, s_bin = i[keep], j[keep], s_bin[keep]

    # Day gaps are whole numbers, so each gap's time band comes from a lookup table (gaps at
    # or past the last edge share its last slot, "no band"); a pair outside every time band
    # counts in an extra cell that is dropped. Each permutation is then gathers and one bincount.
    last_gap = int(np.ceil(t_edges[-1]))
    gap_band = np.searchsorted(t_edges, np.arange(last_gap + 1), side="right") - 1
    gap_band = np.where((gap_band >= 0) & (gap_band < nt), gap_band, -1)
    cell_base = s_bin.astype(np.int64) * nt
    outside = ns * nt
    i, j = i.astype(np.intp), j.astype(np.intp)

    def table(d: np.ndarray) -> np.ndarray:
        t_bin = gap_band[np.minimum(np.abs(d[i] - d[j]), last_gap)]
        cells = np.where(t_bin >= 0, cell_base + t_bin, outside)
        return np.bincount(cells, minlength=outside + 1)[:outside]

    day = day.astype(np.int64)
    observed = table(day)
    rng = np.random.default_rng(seed)
    perm = np.empty((permutations, ns * nt))
    for k in range(permutations):  # each pass is vectorised over all pairs
        perm[k] = table(rng.permutation(day))
    expected = perm.mean(axis=0)
    p = (1 + (perm >= observed).sum(axis=0)) / (1 + permutations)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)
    return pd.DataFrame({
        "space_band": np.repeat(s_lab, nt), "time_band": np.tile(t_lab, ns),
        "observed": observed, "expected": expected, "knox_ratio": ratio, "p_value": p,
        "global_p_value": global_max_t_p(observed, perm),
    })


def global_max_t_p(observed: np.ndarray, permuted: np.ndarray) -> float:
    """Permutation p-value of the largest standardised cell excess (cells that vary under
    permutation only); 1 when none does."""
    mean, sd = permuted.mean(axis=0), permuted.std(axis=0)
    cells = sd > 0
    if not cells.any():
        return 1.0
    stat = np.max((observed[cells] - mean[cells]) / sd[cells])
    null = np.max((permuted[:, cells] - mean[cells]) / sd[cells], axis=1)
    return float((1 + np.sum(null >= stat - 1e-12)) / (1 + len(permuted)))
