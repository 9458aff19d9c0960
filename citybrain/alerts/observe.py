"""One function per rule type: the rule and its database facts in, observations out.

The SQL lives in citybrain.store.alert_facts; the judgement (which band a
value is in, what the alert is called) lives here, next to the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import psycopg

from citybrain.alerts import rules as r
from citybrain.alerts.engine import Observation, Signal
from citybrain.events import Level
from citybrain.risk.config import RiskConfig
from citybrain.store import alert_facts as facts
from citybrain.store import hotspots as hotspot_store

MAX_CASE_LABEL = 60  # case ids carried in a hot-spot alert's labels; the console reads them all


def band(
    value: float, fire_at: float, clear_below: float | None, strictly_above: bool = False
) -> Signal | None:
    """FIRING at or over ``fire_at`` (or strictly over), BETWEEN in the hysteresis band, None when clear."""
    if value > fire_at or (value == fire_at and not strictly_above):
        return Signal.FIRING
    if clear_below is not None and value >= clear_below:
        return Signal.BETWEEN
    return None


def _risk_level(rule: r.RiskLevelRule, conn, now, risk: RiskConfig) -> list[Observation]:
    window = rule.window_s or risk.windows_s[-1]
    clear_at = rule.clear_below_level.rank if rule.clear_below_level else None
    out = []
    for row in facts.district_levels(conn, window, now):
        signal = band(Level(row["level"]).rank, rule.min_level.rank, clear_at)
        if signal:
            out.append(
                Observation(
                    rule.id,
                    row["district"],
                    signal,
                    row["score"],
                    {"district": row["district"]},
                    f"district {row['district']} risk {row['level']} ({row['score']:.0f})",
                )
            )
    return out


def _sensor_threshold(rule: r.SensorThresholdRule, conn, now, _risk) -> list[Observation]:
    lower = rule.clear_below if rule.clear_below is not None else rule.above
    out = []
    for row in facts.latest_readings(conn, rule.kind.value, lower, rule.lookback_s, now):
        signal = band(row["value"], rule.above, rule.clear_below, strictly_above=True)
        if signal:
            out.append(
                Observation(
                    rule.id,
                    row["device_id"],
                    signal,
                    row["value"],
                    {"district": row["district"], "device": row["device_id"], "kind": rule.kind.value},
                    f"{rule.kind.value} {row['value']:g} at {row['device_id']} (limit {rule.above:g})",
                )
            )
    return out


def _camera_cluster(rule: r.CameraClusterRule, conn, now, _risk) -> list[Observation]:
    out = []
    for row in facts.camera_down_shares(conn):
        signal = band(row["share"], rule.min_share, rule.clear_below_share)
        if signal:
            out.append(
                Observation(
                    rule.id,
                    row["district"],
                    signal,
                    row["share"],
                    {"district": row["district"]},
                    f"{row['share']:.0%} of video points down in district {row['district']}",
                )
            )
    return out


def _camera_offline(rule: r.CameraOfflineRule, conn, now, _risk) -> list[Observation]:
    return [
        Observation(
            rule.id,
            row["camera_id"],
            Signal.FIRING,
            float(row["seconds"]),
            {"district": row["district"], "camera": row["camera_id"]},
            f"camera {row['camera_id']} {row['status']} for {float(row['seconds']) / 60:.0f} min",
        )
        for row in facts.cameras_offline_since(conn, rule.offline_for_s, now)
    ]


def _case_unassigned(rule: r.CaseUnassignedRule, conn, now, _risk) -> list[Observation]:
    return [
        Observation(
            rule.id,
            row["case_id"],
            Signal.FIRING,
            float(row["seconds"]),
            {"district": row["district"], "case": row["case_id"], "category": row["category"]},
            f"{rule.urgency.value} case {row['case_id']} unassigned for {float(row['seconds']) / 60:.0f} min",
        )
        for row in facts.cases_unassigned(conn, rule.urgency.value, rule.within_s, now)
    ]


def _case_overdue(rule: r.CaseOverdueRule, conn, now, _risk) -> list[Observation]:
    return [
        Observation(
            rule.id,
            row["case_id"],
            Signal.FIRING,
            float(row["seconds"]),
            {"district": row["district"], "case": row["case_id"], "category": row["category"]},
            f"case {row['case_id']} overdue by {float(row['seconds']) / 60:.0f} min",
        )
        for row in facts.cases_overdue(conn, now)
    ]


def _case_hotspot(rule: r.CaseHotspotRule, conn, now, _risk) -> list[Observation]:
    out = []
    for h in hotspot_store.active(conn, now):
        if h["case_count"] < rule.min_cases or (rule.groups and h["category_group"] not in rule.groups):
            continue
        cases = list(h["case_ids"])
        listed = ",".join(cases[:MAX_CASE_LABEL]) + (
            f",+{len(cases) - MAX_CASE_LABEL}" if len(cases) > MAX_CASE_LABEL else ""
        )
        out.append(
            Observation(
                rule.id,
                h["id"],
                Signal.FIRING,
                float(h["case_count"]),
                {
                    "district": h["district"],
                    "districts": ",".join(h["districts"]),
                    "group": h["category_group"],
                    "hotspot": h["id"],
                    "centroid": f"{h['lon']:.5f},{h['lat']:.5f}",
                    "radius_m": f"{h['radius_m']:.0f}",
                    "count": str(h["case_count"]),
                    "cases": listed,
                },
                f"{h['case_count']} {h['category_group']} appeals within {h['radius_m']:.0f} m"
                f" in district {h['district']}",
            )
        )
    return out


def _no_data(rule: r.NoDataRule, conn, now, _risk) -> list[Observation]:
    if rule.scope == "device":
        return [
            Observation(
                rule.id,
                row["device_id"],
                Signal.FIRING,
                float(row["seconds"]),
                {"district": row["district"], "device": row["device_id"], "kind": row["kind"]},
                f"sensor {row['device_id']} silent for {float(row['seconds']) / 60:.0f} min",
            )
            for row in facts.silent_sensors(conn, rule.silent_for_s, now)
        ]
    return [
        Observation(
            rule.id,
            row["district"],
            Signal.FIRING,
            float(row["seconds"]),
            {"district": row["district"]},
            f"no data from district {row['district']} for {float(row['seconds']) / 60:.0f} min",
        )
        for row in facts.silent_districts(conn, rule.silent_for_s, now)
    ]


def _storage_job_failing(rule: r.StorageJobFailingRule, conn, now, _risk) -> list[Observation]:
    out = []
    for job in facts.storage_jobs(conn):
        if not (job.failing or (rule.overdue and job.overdue)):
            continue
        what = "failing" if job.failing else "overdue"
        name = f"{job.kind} #{job.job}" if job.source == "timescaledb" else job.job
        on = f" on {job.relation}" if job.relation else ""
        why = f": {job.last_error}" if job.last_error else ""
        out.append(
            Observation(
                rule.id,
                f"{job.source}:{job.job}",
                Signal.FIRING,
                float(job.total_failures),
                {
                    "job": name,
                    "source": job.source,
                    "state": what,
                    **({"relation": job.relation} if job.relation else {}),
                },
                f"storage job {name}{on} {what}{why}"[:300],
            )
        )
    return out


OBSERVERS: dict[type, Callable[..., list[Observation]]] = {
    r.RiskLevelRule: _risk_level,
    r.SensorThresholdRule: _sensor_threshold,
    r.CameraClusterRule: _camera_cluster,
    r.CameraOfflineRule: _camera_offline,
    r.CaseUnassignedRule: _case_unassigned,
    r.CaseOverdueRule: _case_overdue,
    r.CaseHotspotRule: _case_hotspot,
    r.NoDataRule: _no_data,
    r.StorageJobFailingRule: _storage_job_failing,
}


def observe(
    conn: psycopg.Connection, cfg: r.RulesConfig, risk: RiskConfig, now: datetime
) -> list[Observation]:
    return [o for rule in cfg.rules for o in OBSERVERS[type(rule)](rule, conn, now, risk)]
