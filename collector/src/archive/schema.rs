//! The archive's schema and the statements run on it. Every statement is accepted by
//! ClickHouse 18.16 (Debian 12's package) and by current releases: a custom-partitioned
//! MergeTree without TTL (retention drops whole daily partitions instead).

use std::time::Duration;

use fox_config::ClickHouseSettings;

use super::client::{post, ClickHouseError};
use super::row::civil_date;

/// How long one schema or retention statement may take.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Columns an INSERT sends, in TabSeparated order (`date` is filled from `time`).
pub const INSERT_COLUMNS: &str = "time, agent, input_if, output_if, src_asn, dst_asn, \
    src_member, dst_member, src_mac, dst_mac, vlan, ethertype, src_ip, dst_ip, protocol, \
    src_port, dst_port, frame_length, sampling_rate, bytes, packets";

/// `CREATE DATABASE` for the archive.
pub fn create_database_sql(s: &ClickHouseSettings) -> String {
    format!("CREATE DATABASE IF NOT EXISTS {}", s.database)
}

/// `CREATE TABLE` for the archive: one partition per day (the server's time zone), rows
/// ordered by source member, destination member and time so per-member queries read a
/// contiguous range.
pub fn create_table_sql(s: &ClickHouseSettings) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {}.{} (\n\
         \x20 date Date DEFAULT toDate(time),\n\
         \x20 time DateTime,\n\
         \x20 agent String,\n\
         \x20 input_if UInt32,\n\
         \x20 output_if UInt32,\n\
         \x20 src_asn UInt32,\n\
         \x20 dst_asn UInt32,\n\
         \x20 src_member String,\n\
         \x20 dst_member String,\n\
         \x20 src_mac String,\n\
         \x20 dst_mac String,\n\
         \x20 vlan UInt16,\n\
         \x20 ethertype UInt16,\n\
         \x20 src_ip String,\n\
         \x20 dst_ip String,\n\
         \x20 protocol UInt8,\n\
         \x20 src_port UInt16,\n\
         \x20 dst_port UInt16,\n\
         \x20 frame_length UInt32,\n\
         \x20 sampling_rate UInt32,\n\
         \x20 bytes UInt64,\n\
         \x20 packets UInt64\n\
         ) ENGINE = MergeTree\n\
         PARTITION BY toYYYYMMDD(date)\n\
         ORDER BY (src_asn, dst_asn, time)\n\
         SETTINGS index_granularity = 8192",
        s.database, s.table
    )
}

/// Runs `sql` (with `body` as its data) and returns ClickHouse's answer.
pub async fn query(
    s: &ClickHouseSettings,
    sql: &str,
    body: Vec<u8>,
) -> Result<String, ClickHouseError> {
    post(&s.url, sql, body, STATEMENT_TIMEOUT).await
}

/// `fox clickhouse init`: creates the database and the table if missing.
pub async fn init(s: &ClickHouseSettings) -> Result<(), ClickHouseError> {
    query(s, &create_database_sql(s), Vec::new()).await?;
    query(s, &create_table_sql(s), Vec::new()).await?;
    Ok(())
}

/// Drops the daily partitions of days before the UTC day of `cutoff` (Unix seconds);
/// returns how many were dropped.
pub async fn drop_partitions_before(
    s: &ClickHouseSettings,
    cutoff: u64,
) -> Result<usize, ClickHouseError> {
    let (y, m, d) = civil_date(cutoff);
    let first_kept = format!("{y:04}{m:02}{d:02}");
    let list = format!(
        "SELECT DISTINCT partition FROM system.parts WHERE database = '{}' AND table = '{}' \
         AND active FORMAT TabSeparated",
        s.database, s.table
    );
    let answer = query(s, &list, Vec::new()).await?;
    let mut dropped = 0;
    for p in answer.lines().map(str::trim) {
        // A day partition is eight digits; anything else is not ours to drop.
        if p.len() != 8 || !p.bytes().all(|b| b.is_ascii_digit()) || p >= first_kept.as_str() {
            continue;
        }
        let sql = format!("ALTER TABLE {}.{} DROP PARTITION {p}", s.database, s.table);
        query(s, &sql, Vec::new()).await?;
        tracing::info!(partition = p, table = %s.table, "ClickHouse partition past retention dropped");
        dropped += 1;
    }
    Ok(dropped)
}
