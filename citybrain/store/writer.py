"""The batch writer: one COPY per batch, idempotent, in two steps so two batches can overlap.

Step 1 has three parts. ``load`` COPYs the rows into a session-local
staging table; ``stage`` inserts them into the target. Usually every row is
new, and one plain INSERT in key order does it; when one is stored already
(a replayed batch, a producer's retry) that INSERT fails on the key and the
batch takes the careful way instead: only the rows whose (event_id,
event_time) is not stored yet, once each, so a replay adds nothing, and the
rows it really inserted replace the staging table's. Either way, after
``stage`` the staging table holds exactly the rows the batch inserted. A
row the database refuses costs only itself (the batch is retried row by row
under savepoints). ``reduce`` boils the inserted rows down for the fold.
Step 1 touches only the batch's own new rows, so it runs while another
batch is in step 2: the larger half of the work. Only ``stage`` meets other
batches' rows (an event stored twice), so only ``stage`` need wait for the
batches fetched before (the sink's turns); ``load`` and ``reduce`` read and
write only the session's own tables.

``apply`` (step 2) does everything that reads or updates rows shared between
batches, under one transaction-level advisory lock (``lock_apply``): the
per-district 1-minute and 1-hour rollups on plain PostgreSQL (on TimescaleDB,
continuous aggregates do that), what store/bookkeeping.py keeps (ingest
progress; late ranges to refresh), each table's ``fold`` into current state
(cameras, sensors, cases) and the ``after_fold`` rollups that need that state
(a case's deadline and assignee, store/leader.py). One holder at a time, in
every worker process, means no deadlocks between batches and each step reads
the state the previous one committed; the rollups count exactly the rows
step 1 inserted, in the same transaction, so a replay counts nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from citybrain.events import Topic
from citybrain.store.bookkeeping import batch_ctes
from citybrain.store.leader import HANDLED_BEFORE, case_rollup_upserts
from citybrain.store.migrate import storage_mode

ADD, LOWEST, HIGHEST = (
    "{t}.{c} + EXCLUDED.{c}",
    "LEAST({t}.{c}, EXCLUDED.{c})",
    "GREATEST({t}.{c}, EXCLUDED.{c})",
)
RESOLUTIONS = {"1m": "1 minute", "1h": "1 hour"}
ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"  # buckets start on whole minutes and hours (UTC)
MINUTE = f"date_bin('{RESOLUTIONS['1m']}', event_time, {ORIGIN})"


# An hour's measure from its minutes': the aggregate agreeing with the rule that merges a batch in.
FROM_MINUTES = {ADD: "sum", LOWEST: "min", HIGHEST: "max"}


@dataclass(frozen=True)
class Rollup:
    """Per-district rollup columns of a raw table: name → (aggregate over raw rows, merge rule)."""

    keys: tuple[str, ...]
    measures: dict[str, tuple[str, str]]

    def upserts(self, table: str, source: str) -> list[str]:
        """CTEs adding the rows of ``source`` to ``{table}_1m`` and ``{table}_1h``: the rows are grouped by
        minute once, and the hours are found from those minutes (one pass over the batch instead of two,
        a third of the rollups' cost)."""
        keys = ", ".join(self.keys)
        cols = ", ".join(self.measures)
        aggs = ", ".join(f"{agg} AS {c}" for c, (agg, _) in self.measures.items())
        hourly = ", ".join(f"{FROM_MINUTES[rule]}({c})" for c, (_, rule) in self.measures.items())

        def upsert(resolution: str, select: str) -> str:
            target = f"{table}_{resolution}"
            merge = ", ".join(
                f"{c} = " + rule.format(t=target, c=c) for c, (_, rule) in self.measures.items()
            )
            return (
                f"r_{resolution} AS (INSERT INTO {target} (bucket, {keys}, {cols}) {select}"
                f" ON CONFLICT ({keys}, bucket) DO UPDATE SET {merge})"
            )

        return [
            f"minutes AS MATERIALIZED (SELECT {MINUTE} AS bucket, {keys}, {aggs} FROM {source}"
            f" GROUP BY 1, {keys})",
            upsert("1m", f"SELECT bucket, {keys}, {cols} FROM minutes"),
            upsert(
                "1h",
                f"SELECT date_bin('{RESOLUTIONS['1h']}', bucket, {ORIGIN}), {keys}, {hourly}"
                f" FROM minutes GROUP BY 1, {keys}",
            ),
        ]


@dataclass(frozen=True)
class Fold:
    """How a batch's inserted rows change current state (cameras, sensors, cases), in two parts.

    ``reduce``, a SELECT over ``{stage}``, boils the batch down to one row per thing (its newest status,
    its case fields) in step 1, beside another batch's step 2: it reads only the batch. ``apply``, reading
    that result as ``{folded}``, merges it into the shared table in step 2. (``{stage}`` and ``{folded}``
    name the writer's temporary tables in every statement of a spec.)"""

    reduce: str
    apply: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    topic: str
    columns: tuple[str, ...]
    rollup: Rollup
    fold: Fold | None = None
    # SQL of step 2 after the fold, reading `stage` (the rows this batch inserted): what needs the folded
    # state (rollups by a case's deadline and assignee)
    after_fold: tuple[str, ...] = ()
    # state the after_fold statements need as it was before the fold: (temporary table, its columns, the
    # SELECT over `stage` that fills it in step 2's first statement)
    before_fold: tuple[str, str, str] | None = None

    @property
    def stage(self) -> str:
        return f"stage_{self.name}"

    @property
    def fresh(self) -> str:
        return f"fresh_{self.name}"

    @property
    def folded(self) -> str:
        return f"folded_{self.name}"


CAMERA_FOLD = Fold(
    "SELECT DISTINCT ON (camera_id) camera_id, status, event_time"
    " FROM {stage} ORDER BY camera_id, event_time DESC",
    """
UPDATE cameras c
   SET status = b.status,
       status_since = CASE WHEN c.status IS DISTINCT FROM b.status THEN b.event_time ELSE c.status_since END,
       status_time = b.event_time
  FROM {folded} b
 WHERE c.camera_id = b.camera_id AND (c.status_time IS NULL OR b.event_time > c.status_time)
""",
)

# Each sensor's newest reading time, and per sensor and minute its highest value (sensor_minutes, which the
# risk tick reads instead of raw readings: migration 024).
SENSOR_FOLD = Fold(
    f"SELECT device_id, {MINUTE} AS bucket, max(value) AS peak, max(event_time) AS last"
    " FROM {stage} GROUP BY 1, 2",
    """
WITH minutes AS (
    INSERT INTO sensor_minutes (bucket, device_id, peak)
    SELECT bucket, device_id, peak FROM {folded}
    ON CONFLICT (bucket, device_id) DO UPDATE SET peak = GREATEST(sensor_minutes.peak, EXCLUDED.peak)
)
UPDATE sensors s SET last_seen = b.last
  FROM (SELECT device_id, max(last) AS last FROM {folded} GROUP BY device_id) b
 WHERE s.device_id = b.device_id AND (s.last_seen IS NULL OR b.last > s.last_seen)
""",
)

# Fields that follow the newest event; timestamps keep the earliest occurrence.
_LATEST = ("district", "category", "urgency", "status")
_LATEST_NON_NULL = ("deadline", "assignee", "satisfaction")
_ORDER = (
    "event_time DESC, array_position(ARRAY['created','assigned','updated','resolved','closed'], type) DESC"
)
_LATEST_NON_NULL_AGGS = ", ".join(
    f"(array_agg({c} ORDER BY {_ORDER}) FILTER (WHERE {c} IS NOT NULL))[1] AS {c}" for c in _LATEST_NON_NULL
)
_SET_LATEST = ", ".join(
    f"{c} = CASE WHEN EXCLUDED.last_event_time >= cases.last_event_time THEN EXCLUDED.{c} ELSE cases.{c} END"
    for c in _LATEST
)
_SET_LATEST_NON_NULL = ", ".join(
    f"{c} = CASE WHEN EXCLUDED.last_event_time >= cases.last_event_time"
    f" THEN COALESCE(EXCLUDED.{c}, cases.{c}) ELSE COALESCE(cases.{c}, EXCLUDED.{c}) END"
    for c in _LATEST_NON_NULL
)
_SET_FIRST = ", ".join(
    f"{c} = LEAST(cases.{c}, EXCLUDED.{c})" for c in ("opened_at", "assigned_at", "resolved_at", "closed_at")
)
_CASE_COLUMNS = ", ".join(
    ("case_id", *_LATEST, *_LATEST_NON_NULL, "opened_at", "assigned_at", "resolved_at", "closed_at")
)
CASE_FOLD = Fold(
    f"""
SELECT case_id,
       (array_agg(district ORDER BY {_ORDER}))[1] AS district,
       (array_agg(category ORDER BY {_ORDER}))[1] AS category,
       (array_agg(urgency ORDER BY {_ORDER}))[1] AS urgency,
       (array_agg(type ORDER BY {_ORDER}))[1] AS status,
       {_LATEST_NON_NULL_AGGS},
       min(event_time) FILTER (WHERE type = 'created') AS opened_at,
       min(event_time) FILTER (WHERE type = 'assigned') AS assigned_at,
       min(event_time) FILTER (WHERE type = 'resolved') AS resolved_at,
       min(event_time) FILTER (WHERE type = 'closed') AS closed_at,
       max(event_time) AS last_event_time
  FROM {{stage}} GROUP BY case_id
""",
    f"""
WITH merged AS (
INSERT INTO cases ({_CASE_COLUMNS}, last_event_time)
SELECT * FROM {{folded}}
ON CONFLICT (case_id) DO UPDATE SET
  {_SET_LATEST},
  {_SET_LATEST_NON_NULL},
  {_SET_FIRST},
  last_event_time = GREATEST(cases.last_event_time, EXCLUDED.last_event_time)
RETURNING {_CASE_COLUMNS}, last_event_time
), emptied AS (DELETE FROM {{folded}})
INSERT INTO {{folded}} SELECT * FROM merged
""",
)

READINGS = TableSpec(
    "readings",
    Topic.READINGS,
    ("event_id", "event_time", "device_id", "district", "kind", "value", "unit"),
    Rollup(
        ("district", "kind"),
        {
            "n": ("count(*)", ADD),
            "value_sum": ("sum(value)", ADD),
            "value_min": ("min(value)", LOWEST),
            "value_max": ("max(value)", HIGHEST),
        },
    ),
    fold=SENSOR_FOLD,
)
CAMERA_STATUS = TableSpec(
    "camera_status",
    Topic.CAMERA_STATUS,
    ("event_id", "event_time", "camera_id", "district", "status"),
    Rollup(
        ("district",),
        {"reports": ("count(*)", ADD), "down": ("count(*) FILTER (WHERE status <> 'online')", ADD)},
    ),
    fold=CAMERA_FOLD,
)
CASE_EVENTS = TableSpec(
    "case_events",
    Topic.CASE_EVENTS,
    (
        "event_id",
        "event_time",
        "case_id",
        "district",
        "type",
        "category",
        "urgency",
        "deadline",
        "satisfaction",
        "assignee",
        "lon",
        "lat",
    ),
    Rollup(
        ("district",),
        {
            "created": ("count(*) FILTER (WHERE type = 'created')", ADD),
            "emergencies": ("count(*) FILTER (WHERE type = 'created' AND urgency = 'emergency')", ADD),
            "resolved": ("count(*) FILTER (WHERE type = 'resolved')", ADD),
            "closed": ("count(*) FILTER (WHERE type = 'closed')", ADD),
        },
    ),
    fold=CASE_FOLD,
    # per district and category, and per handling unit: on-time needs the case's deadline and a unit its
    # assignee, both from earlier events (store/leader.py, migration 016)
    after_fold=case_rollup_upserts("{stage}", cases="{folded}"),
    before_fold=HANDLED_BEFORE,
)


# The three input feeds' tables, by the topic each is fed from (ingest, the chaos checker and
# benchmarks read it).
TABLES: dict[str, TableSpec] = {spec.topic: spec for spec in (READINGS, CAMERA_STATUS, CASE_EVENTS)}


@dataclass
class Staged:
    """What step 1 did with a batch's rows (indexes into the batch)."""

    inserted: int = 0
    conflicts: list[int] = field(default_factory=list)  # same (event_id, event_time), other payload
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (index, why the database refused it)


@dataclass
class WriteResult(Staged):
    late: int = 0  # inserted rows whose risk window was already final


WORK_MEM = "64MB"
APPLY_LOCK = 0x63627770  # advisory lock of the writers' step 2, in every session of every worker


def lock_apply(conn: psycopg.Connection) -> None:
    """Wait for, then hold until the transaction ends, the writers' step 2 (see the module docstring)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPLY_LOCK,))


class BatchWriter:
    """Writes batches of row tuples to one table over one connection.

    ``write`` is one transaction; the worker's sink calls ``load``, ``stage``
    and ``reduce`` for every table of a batch, then ``lock_apply`` and
    ``apply`` for each, and stores the batch's dead letters in the same
    transaction before it commits the batch's offsets.
    """

    def __init__(self, conn: psycopg.Connection, spec: TableSpec) -> None:
        self.conn = conn
        self.spec = spec
        # the session's sorts and hashes of a batch (the case fold sorts 40,000 events, the camera fold hashes
        # the batch's reports) stay in memory: at the default 4 MB they spilled to disk
        conn.execute(f"SET work_mem = '{WORK_MEM}'")
        stage, target, fresh = (sql.Identifier(n) for n in (spec.stage, spec.name, spec.fresh))
        like = sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS{})")
        conn.execute(like.format(stage, target, sql.SQL(", seq int")))
        conn.execute(like.format(fresh, target, sql.SQL("")))
        truncate = [stage, fresh]
        if spec.before_fold:
            before, columns, _ = spec.before_fold
            conn.execute(
                sql.SQL(f"CREATE TEMP TABLE IF NOT EXISTS {{}} ({columns})").format(sql.Identifier(before))
            )
            truncate.append(sql.Identifier(before))
        self._reduce = None
        if spec.fold:
            folded = sql.Identifier(spec.folded)
            reduce = self._spec_sql(spec.fold.reduce)
            conn.execute(
                sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} AS {} WITH NO DATA").format(folded, reduce)
            )
            truncate.append(folded)
            self._reduce = sql.SQL("INSERT INTO {} {}").format(folded, reduce)
            self._analyze = sql.SQL("ANALYZE {}").format(folded)
        self._analyzed_rows = 0  # how many rows ``folded`` held when it was last analyzed
        cols = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
        self._truncate = sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(truncate))
        # binary COPY: about four times cheaper than text for uuids, times and numbers, on both sides
        self._copy = sql.SQL("COPY {} (seq, {}) FROM STDIN (FORMAT BINARY)").format(stage, cols)
        types = self._target_columns(conn, spec)  # name → type, in the table's order
        self._types = ["int4", *(types[c] for c in spec.columns)]
        target_cols = sql.SQL(", ").join(map(sql.Identifier, types))
        # usually every row of a batch is new: one plain insert in key order (time first, migration 023),
        # each row beside the previous one in the key's index and the table. Otherwise only the rows not
        # stored yet, once each (a replay, or a producer's retry in the same batch, adds nothing), noted
        # in ``fresh``; ON CONFLICT's speculative insertion costs a third more, so it is kept for when a
        # batch being stored beside this one holds the same event.
        self._insert_all = sql.SQL(
            "INSERT INTO {target} ({cols}) SELECT {cols} FROM {stage} ORDER BY event_time, event_id"
        ).format(target=target, cols=cols, stage=stage)
        insert = sql.SQL(
            "WITH ins AS (INSERT INTO {target} ({cols}) {rows} RETURNING *)"
            " INSERT INTO {fresh} ({all}) SELECT * FROM ins"
        )
        parts = {"target": target, "cols": cols, "fresh": fresh, "all": target_cols}
        new_rows = sql.SQL(
            "SELECT DISTINCT ON (event_time, event_id) {cols} FROM {stage} s WHERE NOT EXISTS"
            " (SELECT FROM {target} t WHERE t.event_id = s.event_id AND t.event_time = s.event_time)"
            " ORDER BY event_time, event_id, seq"
        ).format(cols=cols, stage=stage, target=target)
        every_row = sql.SQL("SELECT {cols} FROM {stage} {where} ON CONFLICT DO NOTHING")
        self._insert_new = insert.format(rows=new_rows, **parts)
        self._insert_safe = insert.format(
            rows=every_row.format(cols=cols, stage=stage, where=sql.SQL("")), **parts
        )
        self._insert_one = insert.format(
            rows=every_row.format(cols=cols, stage=stage, where=sql.SQL("WHERE seq = %s")), **parts
        )
        self._keep_inserted = [
            sql.SQL("TRUNCATE {}").format(stage),
            sql.SQL("INSERT INTO {} ({}) SELECT * FROM {}").format(stage, target_cols, fresh),
        ]
        payload = [sql.Identifier(c) for c in spec.columns[2:]]
        self._conflicts = sql.SQL(
            "SELECT s.seq FROM {stage} s"
            " JOIN {target} t ON t.event_id = s.event_id AND t.event_time = s.event_time"
            " WHERE ({s}) IS DISTINCT FROM ({t})"
        ).format(
            stage=stage,
            target=target,
            s=sql.SQL(", ").join(sql.SQL("s.{}").format(c) for c in payload),
            t=sql.SQL(", ").join(sql.SQL("t.{}").format(c) for c in payload),
        )
        self._account = self._account_statement(conn, stage)
        self._fold_and_after = [
            self._spec_sql(q) for q in ([spec.fold.apply] if spec.fold else []) + list(spec.after_fold)
        ]
        conn.commit()  # each write() must run in its own top-level transaction, not a savepoint

    def _spec_sql(self, text: str) -> sql.Composed:
        """A statement of the table's spec, its ``{stage}`` and ``{folded}`` naming this writer's tables."""
        names = {"stage": self.spec.stage, "folded": self.spec.folded}
        return sql.SQL(text).format(**{k: sql.Identifier(v) for k, v in names.items()})

    def _account_statement(self, conn: psycopg.Connection, stage: sql.Identifier) -> sql.Composed:
        """Step 2's one statement over the rows step 1 inserted: late arrivals (in the same statement, so a
        replayed batch counts nothing twice), the bookkeeping, the state kept from before the fold and the
        rollups; it returns how many of the rows were late."""
        spec = self.spec
        late = sql.SQL(
            "late AS (INSERT INTO late_events (bucket, topic, district, n)"
            " SELECT %(bucket)s, %(table)s, district, count(*) FROM {} WHERE event_time < %(cutoff)s"
            " GROUP BY district ON CONFLICT (topic, district, bucket)"
            " DO UPDATE SET n = late_events.n + EXCLUDED.n)"
        ).format(stage)
        mode = storage_mode(conn)
        ctes = [late, *batch_ctes(spec.name, mode, spec.stage)]
        if spec.before_fold:  # read before the fold, in this statement's snapshot
            before, _, select = spec.before_fold
            ctes.append(
                sql.SQL("before AS (INSERT INTO {} {})").format(
                    sql.Identifier(before), self._spec_sql(select)
                )
            )
        if mode != "timescale":  # TimescaleDB's continuous aggregates do this there
            ctes += [sql.SQL(cte) for cte in spec.rollup.upserts(spec.name, spec.stage)]
        return sql.SQL("WITH {} SELECT count(*) FILTER (WHERE event_time < %(cutoff)s) FROM {}").format(
            sql.SQL(", ").join(ctes), stage
        )

    @staticmethod
    def _target_columns(conn: psycopg.Connection, spec: TableSpec) -> dict[str, str]:
        return dict(
            conn.execute(
                "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                (spec.name,),
            ).fetchall()
        )

    def _copy_rows(self, cur: psycopg.Cursor, rows: Sequence[tuple], first: int) -> None:
        with cur.copy(self._copy) as copy:
            copy.set_types(self._types)
            for seq, row in enumerate(rows, first):
                copy.write_row((seq, *row))

    def load(self, rows: Sequence[tuple]) -> bool:
        """Step 1, first part, inside the caller's transaction: COPY the rows into this session's staging
        table. It touches nothing another batch reads, so it needs no turn (stream/sink.py). False when the
        database refuses a row: the batch then goes row by row in ``stage``."""
        cur = self.conn.cursor()
        cur.execute(self._truncate)
        if not rows:
            return True
        try:
            with self.conn.transaction():
                self._copy_rows(cur, rows, 0)
        except (psycopg.DataError, psycopg.IntegrityError):
            return False
        return True

    def stage(self, rows: Sequence[tuple], loaded: bool | None = None) -> Staged:
        """Step 1, in the batch's turn: insert the rows that are new (``load`` them first unless
        ``loaded`` says how that went), and leave exactly those in the staging table; a row the database
        refuses costs only itself."""
        if loaded is None:
            loaded = self.load(rows)
        out = Staged()
        if rows:
            self._insert(self.conn.cursor(), rows, out, loaded)
        return out

    def reduce(self, staged: Staged) -> None:
        """Step 1, last part, after the batch's turn: boil the rows it inserted down for the fold (it reads
        only the staging table).

        Autovacuum never analyzes a temporary table, and without statistics the planner guesses its rows
        wide and few: it then joined all 95,000 cameras into a hash, spilled it to disk and probed it with
        the batch (120 ms for 20,000 reports) instead of hashing the batch and scanning the cameras once
        (40 ms less). The statistics outlive TRUNCATE and the planner scales them to the table's current
        size, so the table is analyzed only when a batch first folds twice as many rows as before."""
        if staged.inserted and self._reduce is not None:
            folded = self.conn.execute(self._reduce).rowcount
            if folded >= 2 * self._analyzed_rows:
                self.conn.execute(self._analyze)
                self._analyzed_rows = folded

    def _insert(self, cur: psycopg.Cursor, rows: Sequence[tuple], out: Staged, loaded: bool) -> None:
        try:
            if loaded:
                try:
                    with self.conn.transaction():
                        out.inserted = cur.execute(self._insert_all).rowcount
                    return
                except psycopg.errors.UniqueViolation:  # stored before, or twice in the batch: careful
                    out.inserted = self._insert_not_stored(cur)
        except (psycopg.DataError, psycopg.IntegrityError):
            loaded = False
        if not loaded:
            self._insert_row_by_row(cur, rows, out)
        if out.inserted < len(rows) - len(out.rejected):  # a replay, or the same key with other content
            out.conflicts = [seq for (seq,) in cur.execute(self._conflicts)]
        for statement in self._keep_inserted:
            cur.execute(statement)

    def _insert_row_by_row(self, cur: psycopg.Cursor, rows: Sequence[tuple], out: Staged) -> None:
        """Each row in a savepoint of its own: the ones the database refuses are noted, the others stored."""
        cur.execute(self._truncate)
        out.inserted = 0
        for index, row in enumerate(rows):
            try:
                with self.conn.transaction():
                    self._copy_rows(cur, [row], index)
                    out.inserted += cur.execute(self._insert_one, (index,)).rowcount
            except (psycopg.DataError, psycopg.IntegrityError) as exc:
                out.rejected.append((index, str(exc).strip().splitlines()[0]))

    def _insert_not_stored(self, cur: psycopg.Cursor) -> int:
        """Insert the staged rows whose key is not stored yet, once each, noting them in ``fresh``."""
        try:
            with self.conn.transaction():
                return cur.execute(self._insert_new).rowcount
        except psycopg.errors.UniqueViolation:  # stored meanwhile by the batch beside this one
            with self.conn.transaction():
                return cur.execute(self._insert_safe).rowcount

    def apply(self, staged: Staged, now: datetime, late_cutoff: datetime | None = None) -> WriteResult:
        """Step 2, inside the caller's transaction and under ``lock_apply``: rollups, bookkeeping, the fold
        of the inserted rows into current state and what needs that state."""
        result = WriteResult(staged.inserted, staged.conflicts, staged.rejected)
        if not staged.inserted:  # a replay: its rollups and fold were committed with it
            return result
        cur = self.conn.cursor()
        params = {
            "bucket": now.replace(second=0, microsecond=0),
            "table": self.spec.topic,
            "cutoff": late_cutoff or datetime.min.replace(tzinfo=UTC),
        }
        (result.late,) = cur.execute(self._account, params).fetchone()
        for statement in self._fold_and_after:
            cur.execute(statement)
        return result

    def write(
        self, rows: Sequence[tuple], now: datetime | None = None, late_cutoff: datetime | None = None
    ) -> WriteResult:
        """Write one batch in a transaction of its own."""
        with self.conn.transaction():
            staged = self.stage(rows)
            self.reduce(staged)
            lock_apply(self.conn)
            return self.apply(staged, now or datetime.now(UTC), late_cutoff)
