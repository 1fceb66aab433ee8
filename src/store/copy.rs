//! `afisha db copy`: a stopped SQLite install into an empty PostgreSQL
//! database, in one PostgreSQL transaction.
//!
//! Nothing here knows Afisha's tables by name. Both sides are opened through
//! their stores (so each is migrated to the newest version), and the copy
//! then reads the schemas themselves:
//! - the tables and columns of the PostgreSQL schema the migrations made
//!   (`information_schema`), checked against those of the SQLite file
//!   (`sqlite_master`, `pragma_table_info`): a table or column on one side
//!   only stops the copy, so a later migration cannot be skipped silently;
//! - the foreign keys (`pg_constraint`), which give the order (a referenced
//!   table before the tables that reference it);
//! - each column's PostgreSQL type, which decides how SQLite's dynamic
//!   values are sent (integers, text, bytea, booleans, floats); a value that
//!   does not fit its column stops the copy with the table and column named.
//!
//! Rows go over binary `COPY … FROM STDIN`, ids included; afterwards every
//! identity or serial sequence restarts at `max(id) + 1`, the row count of
//! each table is compared with the source's, and only then does the
//! transaction commit. The source is read in one SQLite read transaction
//! (one snapshot), although the caller also holds the data-dir lock so no
//! server writes meanwhile.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::path::Path;

use anyhow::{Context, bail};
use bytes::BytesMut;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use rusqlite::types::ValueRef;

use crate::store::postgres::describe;

/// Where refinery records applied migrations: each side has its own, made
/// by its own migrations, and it is not copied.
const HISTORY: &str = "refinery_schema_history";

/// One copied table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedTable {
    pub table: String,
    pub rows: u64,
}

/// What [`sqlite_to_postgres`] did.
#[derive(Debug, Clone)]
pub struct CopyReport {
    /// The schema version both sides were at.
    pub schema_version: i64,
    /// In the order they were copied (foreign-key order).
    pub tables: Vec<CopiedTable>,
    /// Identity or serial sequences restarted after the copy.
    pub sequences: usize,
}

/// Copies the SQLite database at `source` into the PostgreSQL database at
/// `url`, which must hold no Afisha rows (it is migrated first if it has
/// no schema yet). The caller keeps servers away from `source` (the
/// data-dir lock). Blocking: not on an async worker thread.
pub fn sqlite_to_postgres(source: &Path, url: &str) -> anyhow::Result<CopyReport> {
    if !source.exists() {
        bail!("no SQLite database at {}", source.display());
    }
    crate::store::sqlite::backup_file::check(source)?;
    let config: postgres::Config = url
        .parse()
        .map_err(|e| anyhow::anyhow!("--to is not a PostgreSQL URL: {e}"))?;
    let connect = || {
        config
            .connect(postgres::NoTls)
            .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {}", describe(&e)))
    };
    let mut client = connect()?;
    // Before anything is written there: a database with Afisha rows (or
    // any rows in its tables) is refused untouched.
    refuse_rows(&mut client)?;

    // Both sides at the newest schema version.
    let sqlite = crate::store::sqlite::Db::open(source)
        .with_context(|| format!("cannot open {}", source.display()))?;
    drop(crate::store::postgres::Db::open(url)?);

    let conn = sqlite.pool().get()?;
    let read = conn.unchecked_transaction()?;
    let mut tx = client.transaction().map_err(pg)?;

    let source_version: i64 =
        read.query_row(&format!("SELECT max(version) FROM {HISTORY}"), [], |r| {
            r.get(0)
        })?;
    let target_version: i64 = tx
        .query_one(&format!("SELECT max(version)::BIGINT FROM {HISTORY}"), &[])
        .map_err(pg)?
        .get(0);
    if source_version != target_version {
        bail!(
            "schema versions differ: SQLite is at {source_version}, PostgreSQL at {target_version}"
        );
    }

    let target = target_schema(&mut tx)?;
    let source_tables = source_schema(&read)?;
    compare(&source_tables, &target)?;
    let order = fk_order(&target)?;

    // Nobody else writes these tables until the commit (another instance
    // started against the target meanwhile waits), and they are still
    // empty under the lock.
    let all: Vec<String> = order.iter().map(|t| quoted(t)).collect();
    tx.batch_execute(&format!(
        "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
        all.join(", ")
    ))
    .map_err(pg)?;
    refuse_rows_in(&mut tx, &order)?;

    let mut tables = Vec::new();
    for table in &order {
        let columns = &target.tables[table];
        let rows = copy_table(&read, &mut tx, table, columns)?;
        tables.push(CopiedTable {
            table: table.clone(),
            rows,
        });
    }
    let sequences = restart_sequences(&mut tx, &target)?;
    tx.commit().map_err(pg)?;
    drop(read);
    Ok(CopyReport {
        schema_version: target_version,
        tables,
        sequences,
    })
}

fn pg(e: postgres::Error) -> anyhow::Error {
    anyhow::anyhow!("PostgreSQL: {}", describe(&e))
}

/// `"name"`, for SQLite and PostgreSQL alike.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// How a PostgreSQL column is filled from SQLite's dynamic values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int8,
    Int4,
    Int2,
    Bool,
    Float8,
    Float4,
    Text,
    Varchar,
    Bpchar,
    Bytea,
}

impl Kind {
    /// From `information_schema.columns.data_type`.
    fn of(data_type: &str) -> Option<Kind> {
        Some(match data_type {
            "bigint" => Kind::Int8,
            "integer" => Kind::Int4,
            "smallint" => Kind::Int2,
            "boolean" => Kind::Bool,
            "double precision" => Kind::Float8,
            "real" => Kind::Float4,
            "text" => Kind::Text,
            "character varying" => Kind::Varchar,
            "character" => Kind::Bpchar,
            "bytea" => Kind::Bytea,
            _ => return None,
        })
    }

    fn wire(self) -> Type {
        match self {
            Kind::Int8 => Type::INT8,
            Kind::Int4 => Type::INT4,
            Kind::Int2 => Type::INT2,
            Kind::Bool => Type::BOOL,
            Kind::Float8 => Type::FLOAT8,
            Kind::Float4 => Type::FLOAT4,
            Kind::Text => Type::TEXT,
            Kind::Varchar => Type::VARCHAR,
            Kind::Bpchar => Type::BPCHAR,
            Kind::Bytea => Type::BYTEA,
        }
    }
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
}

/// The target's tables (columns in their order) and foreign keys.
#[derive(Debug, Default)]
struct Schema {
    tables: BTreeMap<String, Vec<Column>>,
    /// (referencing table, referenced table).
    references: Vec<(String, String)>,
}

fn target_schema(tx: &mut postgres::Transaction) -> anyhow::Result<Schema> {
    let mut schema = Schema::default();
    let rows = tx
        .query(
            "SELECT c.table_name::TEXT, c.column_name::TEXT, c.data_type::TEXT
             FROM information_schema.columns c
             JOIN information_schema.tables t
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
               AND c.table_name <> $1
             ORDER BY c.table_name, c.ordinal_position",
            &[&HISTORY],
        )
        .map_err(pg)?;
    for row in rows {
        let (table, column, data_type): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        let Some(kind) = Kind::of(&data_type) else {
            bail!(
                "PostgreSQL column {table}.{column} is of type {data_type}, which afisha db copy cannot fill"
            );
        };
        schema
            .tables
            .entry(table)
            .or_default()
            .push(Column { name: column, kind });
    }
    let references = tx
        .query(
            "SELECT child.relname::TEXT, parent.relname::TEXT
             FROM pg_constraint k
             JOIN pg_class child ON child.oid = k.conrelid
             JOIN pg_class parent ON parent.oid = k.confrelid
             JOIN pg_namespace n ON n.oid = child.relnamespace
             WHERE k.contype = 'f' AND n.nspname = current_schema()",
            &[],
        )
        .map_err(pg)?;
    schema.references = references.iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(schema)
}

/// The SQLite file's tables and their columns.
fn source_schema(conn: &rusqlite::Connection) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let mut tables = BTreeMap::new();
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master
             WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?1",
        )?
        .query_map([HISTORY], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for name in names {
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?
            .query_map([&name], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        tables.insert(name, columns);
    }
    Ok(tables)
}

/// The same tables with the same columns on both sides, or why not.
fn compare(source: &BTreeMap<String, Vec<String>>, target: &Schema) -> anyhow::Result<()> {
    for (table, columns) in source {
        let Some(target_columns) = target.tables.get(table) else {
            bail!(
                "the SQLite database has a table {table} that the PostgreSQL schema lacks: \
                 afisha db copy does not know it (a migration missing from migrations/postgres?)"
            );
        };
        let want: BTreeSet<&str> = columns.iter().map(String::as_str).collect();
        let have: BTreeSet<&str> = target_columns.iter().map(|c| c.name.as_str()).collect();
        if let Some(column) = want.difference(&have).next() {
            bail!("the SQLite column {table}.{column} has no PostgreSQL counterpart");
        }
        if let Some(column) = have.difference(&want).next() {
            bail!("the PostgreSQL column {table}.{column} has no SQLite counterpart");
        }
    }
    if let Some(table) = target.tables.keys().find(|t| !source.contains_key(*t)) {
        bail!("the PostgreSQL schema has a table {table} that the SQLite database lacks");
    }
    Ok(())
}

/// Every table after the tables it references (ties by name); a cycle of
/// foreign keys is refused (none of Afisha's tables has one).
fn fk_order(schema: &Schema) -> anyhow::Result<Vec<String>> {
    let mut pending: BTreeMap<&str, BTreeSet<&str>> = schema
        .tables
        .keys()
        .map(|t| (t.as_str(), BTreeSet::new()))
        .collect();
    for (child, parent) in &schema.references {
        if child != parent
            && schema.tables.contains_key(parent)
            && let Some(parents) = pending.get_mut(child.as_str())
        {
            parents.insert(parent.as_str());
        }
    }
    let mut order: Vec<String> = Vec::new();
    while !pending.is_empty() {
        let Some(next) = pending
            .iter()
            .find(|(_, parents)| parents.is_empty())
            .map(|(t, _)| *t)
        else {
            let left: Vec<&str> = pending.keys().copied().collect();
            bail!("the foreign keys between {} form a cycle", left.join(", "));
        };
        pending.remove(next);
        for parents in pending.values_mut() {
            parents.remove(next);
        }
        order.push(next.to_string());
    }
    Ok(order)
}

/// Refuses a target whose tables (if it has any yet) hold rows.
fn refuse_rows(client: &mut postgres::Client) -> anyhow::Result<()> {
    let mut tx = client.transaction().map_err(pg)?;
    let tables: Vec<String> = tx
        .query(
            "SELECT table_name::TEXT FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
               AND table_name <> $1
             ORDER BY table_name",
            &[&HISTORY],
        )
        .map_err(pg)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    refuse_rows_in(&mut tx, &tables)
}

fn refuse_rows_in(tx: &mut postgres::Transaction, tables: &[String]) -> anyhow::Result<()> {
    for table in tables {
        let has: bool = tx
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(table)),
                &[],
            )
            .map_err(pg)?
            .get(0);
        if has {
            bail!(
                "the target database is not empty (table {table} has rows): \
                 afisha db copy only fills an empty database"
            );
        }
    }
    Ok(())
}

/// Copies one table; returns its row count, checked on both sides.
fn copy_table(
    read: &rusqlite::Connection,
    tx: &mut postgres::Transaction,
    table: &str,
    columns: &[Column],
) -> anyhow::Result<u64> {
    let names: Vec<String> = columns.iter().map(|c| quoted(&c.name)).collect();
    let types: Vec<Type> = columns.iter().map(|c| c.kind.wire()).collect();
    let expected: i64 = read.query_row(
        &format!("SELECT count(*) FROM {}", quoted(table)),
        [],
        |r| r.get(0),
    )?;
    let sink = tx
        .copy_in(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            quoted(table),
            names.join(", ")
        ))
        .map_err(pg)?;
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    let mut select = read.prepare(&format!(
        "SELECT {} FROM {}",
        names.join(", "),
        quoted(table)
    ))?;
    let mut rows = select.query([])?;
    let mut cells: Vec<Cell> = Vec::with_capacity(columns.len());
    while let Some(row) = rows.next()? {
        cells.clear();
        for (i, column) in columns.iter().enumerate() {
            let value = row.get_ref(i)?;
            cells
                .push(Cell::of(column.kind, value).map_err(|why| {
                    anyhow::anyhow!("cannot copy {table}.{}: {why}", column.name)
                })?);
        }
        let refs: Vec<&(dyn ToSql + Sync)> =
            cells.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
        writer
            .write(&refs)
            .map_err(|e| anyhow::anyhow!("copying {table}: {}", describe(&e)))?;
    }
    let written = writer
        .finish()
        .map_err(|e| anyhow::anyhow!("copying {table}: {}", describe(&e)))?;
    let counted: i64 = tx
        .query_one(&format!("SELECT count(*) FROM {}", quoted(table)), &[])
        .map_err(pg)?
        .get(0);
    if written != expected as u64 || counted != expected {
        bail!(
            "row counts of {table} differ: SQLite has {expected}, {written} were sent, PostgreSQL has {counted}"
        );
    }
    Ok(expected as u64)
}

/// Restarts every identity or serial sequence of the copied tables at
/// `max(column) + 1` (1 for an empty table); returns how many.
fn restart_sequences(tx: &mut postgres::Transaction, schema: &Schema) -> anyhow::Result<usize> {
    let mut restarted = 0;
    for (table, columns) in &schema.tables {
        for column in columns {
            let sequence: Option<String> = tx
                .query_one(
                    "SELECT pg_get_serial_sequence(quote_ident($1), $2)",
                    &[table, &column.name],
                )
                .map_err(pg)?
                .get(0);
            let Some(sequence) = sequence else { continue };
            tx.query_one(
                &format!(
                    "SELECT setval($1::TEXT::regclass, COALESCE(max({c}), 0) + 1, false) FROM {t}",
                    c = quoted(&column.name),
                    t = quoted(table)
                ),
                &[&sequence],
            )
            .map_err(pg)?;
            restarted += 1;
        }
    }
    Ok(restarted)
}

/// One SQLite value as the PostgreSQL column's type wants it.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int8(i64),
    Int4(i32),
    Int2(i16),
    Bool(bool),
    Float8(f64),
    Float4(f32),
    Text(String),
    Bytes(Vec<u8>),
}

impl Cell {
    fn of(kind: Kind, value: ValueRef<'_>) -> Result<Cell, String> {
        let mismatch = || {
            let held = match value {
                ValueRef::Null => "NULL".to_string(),
                ValueRef::Integer(n) => format!("the integer {n}"),
                ValueRef::Real(f) => format!("the real {f}"),
                ValueRef::Text(_) => "text".to_string(),
                ValueRef::Blob(b) => format!("a blob of {} bytes", b.len()),
            };
            format!(
                "SQLite holds {held}, which does not fit PostgreSQL's {}",
                kind.wire()
            )
        };
        Ok(match (kind, value) {
            (_, ValueRef::Null) => Cell::Null,
            (Kind::Int8, ValueRef::Integer(n)) => Cell::Int8(n),
            (Kind::Int4, ValueRef::Integer(n)) => {
                Cell::Int4(i32::try_from(n).map_err(|_| mismatch())?)
            }
            (Kind::Int2, ValueRef::Integer(n)) => {
                Cell::Int2(i16::try_from(n).map_err(|_| mismatch())?)
            }
            (Kind::Bool, ValueRef::Integer(0)) => Cell::Bool(false),
            (Kind::Bool, ValueRef::Integer(1)) => Cell::Bool(true),
            (Kind::Float8, ValueRef::Integer(n)) => Cell::Float8(n as f64),
            (Kind::Float8, ValueRef::Real(f)) => Cell::Float8(f),
            (Kind::Float4, ValueRef::Integer(n)) => Cell::Float4(n as f32),
            (Kind::Float4, ValueRef::Real(f)) => Cell::Float4(f as f32),
            (Kind::Text | Kind::Varchar | Kind::Bpchar, ValueRef::Text(t)) => Cell::Text(
                String::from_utf8(t.to_vec()).map_err(|_| "SQLite holds text that is not UTF-8")?,
            ),
            (Kind::Bytea, ValueRef::Blob(b) | ValueRef::Text(b)) => Cell::Bytes(b.to_vec()),
            _ => return Err(mismatch()),
        })
    }
}

impl ToSql for Cell {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Cell::Null => Ok(IsNull::Yes),
            Cell::Int8(v) => v.to_sql(ty, out),
            Cell::Int4(v) => v.to_sql(ty, out),
            Cell::Int2(v) => v.to_sql(ty, out),
            Cell::Bool(v) => v.to_sql(ty, out),
            Cell::Float8(v) => v.to_sql(ty, out),
            Cell::Float4(v) => v.to_sql(ty, out),
            Cell::Text(v) => v.to_sql(ty, out),
            Cell::Bytes(v) => v.to_sql(ty, out),
        }
    }

    /// The kind was chosen from the column's type, and the binary COPY
    /// writer checks each value against that type.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(tables: &[&str], references: &[(&str, &str)]) -> Schema {
        Schema {
            tables: tables.iter().map(|t| (t.to_string(), Vec::new())).collect(),
            references: references
                .iter()
                .map(|(c, p)| (c.to_string(), p.to_string()))
                .collect(),
        }
    }

    #[test]
    fn referenced_tables_come_first() {
        let s = schema(
            &["event", "event_participant", "job", "login_session", "user"],
            &[
                ("event_participant", "event"),
                ("event_participant", "user"),
                ("login_session", "user"),
                ("user", "user"),
            ],
        );
        let order = fk_order(&s).unwrap();
        let at = |t: &str| order.iter().position(|x| x == t).unwrap();
        assert!(at("user") < at("event_participant"));
        assert!(at("event") < at("event_participant"));
        assert!(at("user") < at("login_session"));
        assert_eq!(order.len(), 5);
    }

    #[test]
    fn a_cycle_of_foreign_keys_is_refused() {
        let s = schema(&["a", "b", "c"], &[("a", "b"), ("b", "a")]);
        let e = fk_order(&s).unwrap_err().to_string();
        assert!(e.contains("a, b"), "{e}");
    }

    #[test]
    fn a_table_or_column_on_one_side_only_stops_the_copy() {
        let mut target = schema(&["user"], &[]);
        target.tables.get_mut("user").unwrap().push(Column {
            name: "id".into(),
            kind: Kind::Int8,
        });
        let source = |tables: &[(&str, &[&str])]| -> BTreeMap<String, Vec<String>> {
            tables
                .iter()
                .map(|(t, cs)| (t.to_string(), cs.iter().map(|c| c.to_string()).collect()))
                .collect()
        };
        compare(&source(&[("user", &["id"])]), &target).unwrap();
        let e = compare(&source(&[("user", &["id"]), ("poll", &["id"])]), &target)
            .unwrap_err()
            .to_string();
        assert!(e.contains("table poll"), "{e}");
        let e = compare(&source(&[("user", &["id", "nick"])]), &target)
            .unwrap_err()
            .to_string();
        assert!(e.contains("user.nick"), "{e}");
        let e = compare(&source(&[]), &target).unwrap_err().to_string();
        assert!(e.contains("table user"), "{e}");
    }

    #[test]
    fn values_map_to_the_column_type_or_say_why_not() {
        assert_eq!(
            Cell::of(Kind::Int8, ValueRef::Integer(1 << 40)),
            Ok(Cell::Int8(1 << 40))
        );
        assert_eq!(
            Cell::of(Kind::Int4, ValueRef::Integer(7)),
            Ok(Cell::Int4(7))
        );
        assert!(Cell::of(Kind::Int4, ValueRef::Integer(1 << 40)).is_err());
        assert_eq!(
            Cell::of(Kind::Bool, ValueRef::Integer(1)),
            Ok(Cell::Bool(true))
        );
        assert!(Cell::of(Kind::Bool, ValueRef::Integer(2)).is_err());
        assert_eq!(
            Cell::of(Kind::Text, ValueRef::Text(b"\xd0\x90")),
            Ok(Cell::Text("А".into()))
        );
        assert_eq!(
            Cell::of(Kind::Bytea, ValueRef::Blob(&[0, 1])),
            Ok(Cell::Bytes(vec![0, 1]))
        );
        assert_eq!(Cell::of(Kind::Text, ValueRef::Null), Ok(Cell::Null));
        let e = Cell::of(Kind::Text, ValueRef::Integer(5)).unwrap_err();
        assert!(e.contains("the integer 5"), "{e}");
        assert!(Cell::of(Kind::Int8, ValueRef::Text(b"5")).is_err());
        assert_eq!(Kind::of("bigint"), Some(Kind::Int8));
        assert_eq!(Kind::of("jsonb"), None);
    }
}
