"""Monthly partitions of the raw reading table on PostgreSQL (按月分区).

Migration 0002 turns ``telemetry_reading`` into a table partitioned by range of ``ts`` and
installs ``telemetry_ensure_partition(month date)``, which creates the partition
``telemetry_reading_pYYYYMM`` when it is missing. Partitions are made ahead by
``greenledger telemetry-partitions --ahead N`` (run it daily, e.g. from cron) and on demand by
intake when readings of a month without a partition arrive (a PLC backfill of last year, say).
There is deliberately no default partition: rows in a default partition would block creating
the partition of their month later.

On SQLite ``telemetry_reading`` is a plain table and every function here does nothing.
"""

import datetime

from django.db import connection

CREATE_SQL = """
DROP TABLE telemetry_reading;
CREATE TABLE telemetry_reading (
    point_id bigint NOT NULL,
    ts timestamp with time zone NOT NULL,
    value double precision NOT NULL,
    received_at timestamp with time zone NOT NULL,
    source varchar(10) NOT NULL,
    quality smallint NOT NULL CHECK (quality >= 0),
    PRIMARY KEY (point_id, ts)
) PARTITION BY RANGE (ts);
CREATE OR REPLACE FUNCTION telemetry_ensure_partition(month date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    name text := 'telemetry_reading_p' || to_char(first, 'YYYYMM');
BEGIN
    IF to_regclass(name) IS NULL THEN
        -- two ingest workers meeting a new month: the second waits here, then finds the table
        PERFORM pg_advisory_xact_lock(7342, 0);
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF telemetry_reading '
                       'FOR VALUES FROM (%L) TO (%L)', name,
                       (first::timestamp AT TIME ZONE 'UTC'),
                       ((first + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
    END IF;
    RETURN name;
END $$;
"""

DROP_SQL = """
DROP FUNCTION IF EXISTS telemetry_ensure_partition(date);
DROP TABLE telemetry_reading;
CREATE TABLE telemetry_reading (
    ts timestamp with time zone NOT NULL, value double precision NOT NULL,
    received_at timestamp with time zone NOT NULL, source varchar(10) NOT NULL,
    quality smallint NOT NULL CHECK (quality >= 0), point_id bigint NOT NULL, PRIMARY KEY (point_id, ts));
"""

def partitioned(using=None):
    return (using or connection).vendor == "postgresql"


def month_of(ts):
    ts = ts.astimezone(datetime.UTC)
    return datetime.date(ts.year, ts.month, 1)


def ensure_months(months, conn=None):
    """Make sure the partitions of ``months`` (dates, first of month, UTC) exist."""
    conn = conn or connection
    if not partitioned(conn) or not months:
        return
    # Asked every batch rather than cached: a rolled-back transaction takes its new partition with it.
    with conn.cursor() as cursor:
        cursor.execute("SELECT telemetry_ensure_partition(m) FROM unnest(%s::date[]) AS m", [sorted(months)])


def ensure_for(timestamps, conn=None):
    ensure_months({month_of(ts) for ts in timestamps}, conn)


def ensure_ahead(months_ahead=3, today=None, conn=None):
    """Create this month's partition and the next ``months_ahead``; return their names."""
    conn = conn or connection
    if not partitioned(conn):
        return []
    today = today or datetime.datetime.now(datetime.UTC).date()
    month = today.replace(day=1)
    names = []
    with conn.cursor() as cursor:
        for _i in range(months_ahead + 1):
            cursor.execute("SELECT telemetry_ensure_partition(%s)", [month])
            names.append(cursor.fetchone()[0])
            month = (month + datetime.timedelta(days=32)).replace(day=1)
    return names


def existing(conn=None):
    """Names of the reading partitions that exist now (PostgreSQL), oldest first."""
    conn = conn or connection
    if not partitioned(conn):
        return []
    with conn.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = 'telemetry_reading'::regclass ORDER BY c.relname")
        return [row[0] for row in cursor.fetchall()]

