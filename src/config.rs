//! Configuration: built-in defaults < TOML file < `AFISHA_SECTION__KEY`
//! environment variables < command-line flags.
//!
//! Every key has a default that works on a laptop. Optional text settings use
//! the empty string for "not set", so that every key appears in the defaults
//! and the environment layer can find its type there.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A configuration problem: which key (or file) and why. Printed as one line.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub server: ServerConfig,
    pub auth: AuthConfig,
    pub email: EmailConfig,
    pub storage: StorageConfig,
    pub ui: UiConfig,
    pub jobs: JobsConfig,
    pub metrics: MetricsConfig,
    pub backup: BackupConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    /// Absolute base URL for links and image URLs; empty = `http://<bind>`.
    pub public_url: String,
    pub debug: bool,
    pub max_body_bytes: usize,
    pub cors_allowed_origins: Vec<String>,
    /// Whole-request deadline for API handlers, in seconds.
    pub request_timeout_secs: u64,
    /// How long graceful shutdown waits for in-flight requests and jobs.
    pub shutdown_grace_secs: u64,
    /// Open connections at most; more are refused at accept.
    pub max_connections: usize,
    /// A client must send a request's headers within this time (also closes
    /// idle keep-alive connections).
    pub header_read_timeout_secs: u64,
    /// Reverse proxies (IPs or CIDRs) whose `X-Forwarded-For` names the
    /// client; empty = the socket's peer is the client.
    pub trusted_proxies: Vec<String>,
    /// Open connections from one client address at most (also HTTP/2).
    pub max_connections_per_ip: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub min_password_length: usize,
    pub session_ttl_days: i64,
    /// A session is invalid this many days after login, however often used.
    pub session_max_days: i64,
    /// Password checks that may wait beyond one per core before more are
    /// refused with 429.
    pub hash_queue: usize,
    /// Password checks in flight per client address (IPv6: per /64).
    pub hash_per_client: usize,
    /// `POST /register` calls per client address per hour (each answer,
    /// "Email already exists" included, counts).
    pub registrations_per_client_per_hour: u32,
    pub argon2: Argon2Config,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// `console` | `file` | `smtp`.
    pub backend: String,
    pub from: String,
    /// For `file`; empty = `<data_dir>/mail`.
    pub file_dir: String,
    pub smtp: SmtpConfig,
    /// An administrator gets at most one participation email per (event,
    /// user, joined/left) in this many minutes; 0 = every change.
    pub admin_notice_coalesce_minutes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    /// `starttls` | `tls` | `none`.
    pub tls: String,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `fs` | `s3`.
    pub backend: String,
    /// For `fs`; empty = `<data_dir>/media`.
    pub root: String,
    pub max_upload_bytes: usize,
    /// Bytes of images one user may have stored (uploads not yet cleaned up).
    pub user_quota_bytes: u64,
    /// Uploads one user may make per hour.
    pub uploads_per_hour: u32,
    /// Uploads no event references are deleted after this many hours.
    pub orphan_grace_hours: u64,
    /// An upload into the data dir's filesystem is refused when less than
    /// this would remain free (the database's reserve).
    pub min_free_bytes: u64,
    pub s3: S3Config,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    pub region: String,
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub public_base_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    pub brand_name: String,
    pub display_timezone: String,
    /// `ru` | `en`.
    pub default_locale: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    pub max_attempts: u32,
    /// Jobs run at the same time at most.
    pub concurrency: usize,
    /// How long a claimed job stays locked before another worker may take it.
    pub lock_secs: u64,
    /// Done jobs older than this are deleted by the hourly clean-up.
    pub retention_days: i64,
    /// First retry delay; each further retry doubles it (plus jitter).
    pub retry_base_secs: u64,
    /// Longest delay between two attempts.
    pub retry_max_secs: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub enabled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            database: DatabaseConfig::default(),
            server: ServerConfig::default(),
            auth: AuthConfig::default(),
            email: EmailConfig::default(),
            storage: StorageConfig::default(),
            ui: UiConfig::default(),
            jobs: JobsConfig::default(),
            metrics: MetricsConfig::default(),
            backup: BackupConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: String::new(),
            debug: false,
            max_body_bytes: 1024 * 1024,
            cors_allowed_origins: Vec::new(),
            request_timeout_secs: 30,
            shutdown_grace_secs: 10,
            max_connections: 1024,
            header_read_timeout_secs: 10,
            trusted_proxies: Vec::new(),
            max_connections_per_ip: 64,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            min_password_length: 8,
            session_ttl_days: 30,
            session_max_days: 30,
            hash_queue: 32,
            hash_per_client: 8,
            registrations_per_client_per_hour: 300,
            argon2: Argon2Config::default(),
        }
    }
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            backend: "console".into(),
            from: "Афиша <afisha@localhost>".into(),
            file_dir: String::new(),
            smtp: SmtpConfig::default(),
            admin_notice_coalesce_minutes: 10,
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 587,
            username: String::new(),
            password: String::new(),
            tls: "starttls".into(),
            timeout_secs: 10,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            backend: "fs".into(),
            root: String::new(),
            max_upload_bytes: 10 * 1024 * 1024,
            user_quota_bytes: 50 * 1024 * 1024,
            uploads_per_hour: 60,
            orphan_grace_hours: 24,
            min_free_bytes: 256 * 1024 * 1024,
            s3: S3Config::default(),
        }
    }
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            region: "us-east-1".into(),
            endpoint: String::new(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            public_base_url: String::new(),
        }
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            brand_name: "Афиша".into(),
            display_timezone: "UTC".into(),
            default_locale: "ru".into(),
        }
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            concurrency: 4,
            lock_secs: 300,
            retention_days: 7,
            retry_base_secs: 30,
            retry_max_secs: 3600,
        }
    }
}

// ---------------------------------------------------------------- database

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Empty = SQLite at `<data_dir>/afisha.db`; `postgres://…` = PostgreSQL.
    pub url: String,
}

impl Config {
    /// The PostgreSQL URL, or `None` for the SQLite file in the data dir.
    pub fn postgres_url(&self) -> Option<&str> {
        let url = self.database.url.trim();
        (!url.is_empty()).then_some(url)
    }

    fn validate_database(&self) -> Result<(), ConfigError> {
        let Some(url) = self.postgres_url() else {
            return Ok(());
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::new(
                "database.url",
                "must be empty (SQLite in the data dir) or a postgres://… URL",
            ));
        }
        if !self.backup.schedule.trim().is_empty() {
            return Err(ConfigError::new(
                "backup.schedule",
                "scheduled backups copy the SQLite file; with database.url on PostgreSQL leave it empty and back up with pg_dump",
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- backups

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Empty = no scheduled backups; `daily HH:MM` or a cron expression,
    /// in `ui.display_timezone`.
    pub schedule: String,
    /// Where scheduled backups go; empty = `<data_dir>/backups`.
    pub dir: String,
    /// Scheduled backups kept; older ones are deleted.
    pub keep: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            schedule: String::new(),
            dir: String::new(),
            keep: 7,
        }
    }
}

impl Config {
    /// Where scheduled backups go.
    pub fn backup_dir(&self) -> PathBuf {
        or_under(&self.backup.dir, &self.data_dir, "backups")
    }

    fn validate_backup(&self) -> Result<(), ConfigError> {
        crate::domain::backup::Schedule::parse(&self.backup.schedule)
            .map_err(|reason| ConfigError::new("backup.schedule", reason))?;
        positive("backup.keep", self.backup.keep as u64)
    }
}

/// Values given on the command line; `None` leaves the lower layers alone.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub public_url: Option<String>,
    pub debug: bool,
}

/// The default config file name looked up in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "afisha.toml";
const ENV_PREFIX: &str = "AFISHA_";

impl Config {
    /// Loads every layer from the real process environment.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_from(overrides, std::env::vars())
    }

    /// Loads every layer, taking environment variables from `env`.
    pub fn load_from(
        overrides: &Overrides,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let defaults = toml::Table::try_from(Config::default())
            .map_err(|e| ConfigError::new("defaults", e.to_string()))?;
        let mut merged = defaults.clone();

        let file = match &overrides.config_file {
            Some(path) => Some(path.clone()),
            None => {
                let p = PathBuf::from(DEFAULT_CONFIG_FILE);
                p.exists().then_some(p)
            }
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError::new(path.display().to_string(), e.to_string()))?;
            let table: toml::Table = toml::from_str(&text).map_err(|e| {
                ConfigError::new(
                    path.display().to_string(),
                    e.message().trim().to_string() + &line_of(&text, e.span()),
                )
            })?;
            merge(&mut merged, table);
        }

        let mut env: Vec<(String, String)> = env.into_iter().collect();
        env.sort();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            // Only names that map onto a known key are configuration; other
            // AFISHA_* variables (for example the contract suite's AFISHA_API)
            // are not ours to reject.
            let Some(default) = lookup(&defaults, &path) else {
                continue;
            };
            let key = path.join(".");
            let parsed = env_value(default, &value).map_err(|reason| {
                ConfigError::new(&key, format!("{reason} (from environment variable {name})"))
            })?;
            set(&mut merged, &path, parsed);
        }

        let mut flag = |path: &[&str], value: toml::Value| {
            let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
            set(&mut merged, &path, value);
        };
        if let Some(dir) = &overrides.data_dir {
            flag(
                &["data_dir"],
                toml::Value::String(dir.display().to_string()),
            );
        }
        if let Some(url) = &overrides.database_url {
            flag(&["database", "url"], toml::Value::String(url.clone()));
        }
        if let Some(bind) = &overrides.bind {
            flag(&["server", "bind"], toml::Value::String(bind.clone()));
        }
        if let Some(url) = &overrides.public_url {
            flag(&["server", "public_url"], toml::Value::String(url.clone()));
        }
        if overrides.debug {
            flag(&["server", "debug"], toml::Value::Boolean(true));
        }

        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
                let key = e.path().to_string();
                let reason = e.into_inner().message().trim().to_string();
                ConfigError::new(if key == "." { "config".into() } else { key }, reason)
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bind = self.bind_addr()?;
        if self.server.debug && !bind.ip().is_loopback() {
            return Err(ConfigError::new(
                "server.bind",
                format!(
                    "debug routes are on (server.debug = true), so the server only binds to a loopback address, not {bind}"
                ),
            ));
        }
        if !self.server.public_url.is_empty() {
            let url = url::Url::parse(&self.server.public_url)
                .map_err(|e| ConfigError::new("server.public_url", e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(ConfigError::new(
                    "server.public_url",
                    "must be an absolute http:// or https:// URL",
                ));
            }
        }
        for origin in &self.server.cors_allowed_origins {
            if origin == "*" || url::Url::parse(origin).is_err() {
                return Err(ConfigError::new(
                    "server.cors_allowed_origins",
                    format!("'{origin}' is not an origin like https://example.com"),
                ));
            }
        }
        positive("server.max_body_bytes", self.server.max_body_bytes as u64)?;
        positive("server.max_connections", self.server.max_connections as u64)?;
        positive(
            "server.max_connections_per_ip",
            self.server.max_connections_per_ip as u64,
        )?;
        positive(
            "server.header_read_timeout_secs",
            self.server.header_read_timeout_secs,
        )?;
        positive(
            "server.request_timeout_secs",
            self.server.request_timeout_secs,
        )?;
        positive(
            "auth.min_password_length",
            self.auth.min_password_length as u64,
        )?;
        if self.auth.min_password_length > 1024 {
            return Err(ConfigError::new(
                "auth.min_password_length",
                "must be at most 1024 (the longest password accepted)",
            ));
        }
        positive(
            "auth.session_ttl_days",
            self.auth.session_ttl_days.max(0) as u64,
        )?;
        positive(
            "auth.session_max_days",
            self.auth.session_max_days.max(0) as u64,
        )?;
        positive("auth.hash_per_client", self.auth.hash_per_client as u64)?;
        for p in &self.server.trusted_proxies {
            crate::auth::ratelimit::IpNet::parse(p).ok_or_else(|| {
                ConfigError::new(
                    "server.trusted_proxies",
                    format!("not an IP address or CIDR: {p}"),
                )
            })?;
        }
        let a = self.auth.argon2;
        argon2::Params::new(a.memory_kib, a.iterations, a.parallelism, None)
            .map_err(|e| ConfigError::new("auth.argon2", e.to_string()))?;
        one_of(
            "email.backend",
            &self.email.backend,
            &["console", "file", "smtp"],
        )?;
        self.email
            .from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| ConfigError::new("email.from", format!("not a valid mailbox: {e}")))?;
        one_of(
            "email.smtp.tls",
            &self.email.smtp.tls,
            &["starttls", "tls", "none"],
        )?;
        if self.email.backend == "smtp" && self.email.smtp.host.trim().is_empty() {
            return Err(ConfigError::new(
                "email.smtp.host",
                "required when email.backend = \"smtp\"",
            ));
        }
        positive("email.smtp.timeout_secs", self.email.smtp.timeout_secs)?;
        one_of("storage.backend", &self.storage.backend, &["fs", "s3"])?;
        positive(
            "storage.max_upload_bytes",
            self.storage.max_upload_bytes as u64,
        )?;
        if self.storage.backend == "s3" {
            if self.storage.s3.bucket.trim().is_empty() {
                return Err(ConfigError::new(
                    "storage.s3.bucket",
                    "required when storage.backend = \"s3\"",
                ));
            }
            let s3 = &self.storage.s3;
            if s3.access_key_id.is_empty() != s3.secret_access_key.is_empty() {
                return Err(ConfigError::new(
                    "storage.s3.secret_access_key",
                    "storage.s3.access_key_id and storage.s3.secret_access_key are set together \
                     (both empty = the AWS credential chain: environment, profile, instance role)",
                ));
            }
            for (key, value) in [
                ("storage.s3.endpoint", &self.storage.s3.endpoint),
                (
                    "storage.s3.public_base_url",
                    &self.storage.s3.public_base_url,
                ),
            ] {
                if !value.is_empty() && url::Url::parse(value).is_err() {
                    return Err(ConfigError::new(
                        key,
                        format!("'{value}' is not an absolute URL"),
                    ));
                }
            }
        }
        self.ui
            .display_timezone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| {
                ConfigError::new(
                    "ui.display_timezone",
                    format!(
                        "'{}' is not an IANA time zone name",
                        self.ui.display_timezone
                    ),
                )
            })?;
        one_of("ui.default_locale", &self.ui.default_locale, &["ru", "en"])?;
        positive("jobs.max_attempts", self.jobs.max_attempts as u64)?;
        positive("jobs.concurrency", self.jobs.concurrency as u64)?;
        positive("jobs.lock_secs", self.jobs.lock_secs)?;
        positive(
            "jobs.retention_days",
            self.jobs.retention_days.max(0) as u64,
        )?;
        positive("jobs.retry_base_secs", self.jobs.retry_base_secs)?;
        if self.jobs.retry_max_secs < self.jobs.retry_base_secs {
            return Err(ConfigError::new(
                "jobs.retry_max_secs",
                "must be at least jobs.retry_base_secs",
            ));
        }
        self.validate_backup()?;
        self.validate_database()?;
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.bind.parse().map_err(|_| {
            ConfigError::new(
                "server.bind",
                format!(
                    "'{}' is not an address like 127.0.0.1:8080 or [::1]:8080",
                    self.server.bind
                ),
            )
        })
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        if self.server.public_url.is_empty() {
            format!("http://{}", self.server.bind)
        } else {
            self.server.public_url.trim_end_matches('/').to_string()
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("afisha.db")
    }

    pub fn mail_dir(&self) -> PathBuf {
        or_under(&self.email.file_dir, &self.data_dir, "mail")
    }

    pub fn media_root(&self) -> PathBuf {
        or_under(&self.storage.root, &self.data_dir, "media")
    }

    pub fn timezone(&self) -> chrono_tz::Tz {
        self.ui.display_timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}

fn or_under(value: &str, dir: &Path, name: &str) -> PathBuf {
    if value.is_empty() {
        dir.join(name)
    } else {
        PathBuf::from(value)
    }
}

fn positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        Err(ConfigError::new(key, "must be greater than 0"))
    } else {
        Ok(())
    }
}

fn one_of(key: &str, value: &str, allowed: &[&str]) -> Result<(), ConfigError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::new(
            key,
            format!("'{value}' is not one of: {}", allowed.join(", ")),
        ))
    }
}

fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

fn lookup<'a>(table: &'a toml::Table, path: &[String]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let value = table.get(first)?;
    if rest.is_empty() {
        // A whole section is not a key.
        (!value.is_table()).then_some(value)
    } else {
        lookup(value.as_table()?, rest)
    }
}

fn set(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let (first, rest) = path.split_first().expect("non-empty key path");
    if rest.is_empty() {
        table.insert(first.clone(), value);
    } else {
        let entry = table
            .entry(first.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        set(entry.as_table_mut().expect("table"), rest, value);
    }
}

/// Environment values are text; the default of the same key says which type
/// the text should be read as.
fn env_value(default: &toml::Value, raw: &str) -> Result<toml::Value, String> {
    let raw = raw.trim();
    match default {
        toml::Value::Integer(_) => raw
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("'{raw}' is not a whole number")),
        toml::Value::Boolean(_) => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("'{raw}' is not true or false")),
        },
        toml::Value::Float(_) => raw
            .parse::<f64>()
            .map(toml::Value::Float)
            .map_err(|_| format!("'{raw}' is not a number")),
        toml::Value::Array(_) => Ok(toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        )),
        _ => Ok(toml::Value::String(raw.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn no_file() -> Overrides {
        Overrides {
            config_file: Some(PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/config.example.toml"
            ))),
            ..Default::default()
        }
    }

    #[test]
    fn example_file_parses_and_equals_the_defaults() {
        let from_file = Config::load_from(&no_file(), Vec::new()).unwrap();
        let defaults = Config::default();
        assert_eq!(
            toml::to_string(&from_file).unwrap(),
            toml::to_string(&defaults).unwrap(),
            "config.example.toml must document every key with its default value"
        );
        // And it names every key: deleting any line would change nothing above,
        // so check the key set explicitly.
        let text = std::fs::read_to_string(no_file().config_file.unwrap()).unwrap();
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        let all = toml::Table::try_from(defaults).unwrap();
        assert_eq!(keys(&parsed, ""), keys(&all, ""));
    }

    fn keys(t: &toml::Table, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in t {
            let name = format!("{prefix}{k}");
            match v {
                toml::Value::Table(inner) => out.extend(keys(inner, &format!("{name}."))),
                _ => out.push(name),
            }
        }
        out.sort();
        out
    }

    #[test]
    fn environment_beats_file_and_flags_beat_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.toml");
        std::fs::write(
            &file,
            "[server]\nbind = \"127.0.0.1:1111\"\nmax_body_bytes = 10\n[jobs]\nmax_attempts = 2\n",
        )
        .unwrap();
        let overrides = Overrides {
            config_file: Some(file),
            bind: Some("127.0.0.1:3333".into()),
            ..Default::default()
        };
        let c = Config::load_from(
            &overrides,
            env(&[
                ("AFISHA_SERVER__BIND", "127.0.0.1:2222"),
                ("AFISHA_JOBS__MAX_ATTEMPTS", "9"),
                (
                    "AFISHA_SERVER__CORS_ALLOWED_ORIGINS",
                    "https://a.example, https://b.example",
                ),
                ("AFISHA_API", "http://unrelated"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.bind, "127.0.0.1:3333");
        assert_eq!(c.server.max_body_bytes, 10);
        assert_eq!(c.jobs.max_attempts, 9);
        assert_eq!(
            c.server.cors_allowed_origins,
            vec!["https://a.example", "https://b.example"]
        );
    }

    #[test]
    fn errors_name_the_key() {
        let err =
            Config::load_from(&no_file(), env(&[("AFISHA_SERVER__BIND", "nonsense")])).unwrap_err();
        assert_eq!(err.key, "server.bind");
        assert!(err.to_string().contains("nonsense"));

        let err = Config::load_from(&no_file(), env(&[("AFISHA_JOBS__MAX_ATTEMPTS", "many")]))
            .unwrap_err();
        assert_eq!(err.key, "jobs.max_attempts");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.toml");
        std::fs::write(&file, "[server]\nbnid = \"x\"\n").unwrap();
        let err = Config::load_from(
            &Overrides {
                config_file: Some(file.clone()),
                ..Default::default()
            },
            Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("bnid"), "{err}");

        std::fs::write(&file, "[email]\nbackend = \"pigeon\"\n").unwrap();
        let err = Config::load_from(
            &Overrides {
                config_file: Some(file.clone()),
                ..Default::default()
            },
            Vec::new(),
        )
        .unwrap_err();
        assert_eq!(err.key, "email.backend");

        std::fs::write(&file, "[ui]\ndisplay_timezone = \"Mars/Olympus\"\n").unwrap();
        let err = Config::load_from(
            &Overrides {
                config_file: Some(file.clone()),
                ..Default::default()
            },
            Vec::new(),
        )
        .unwrap_err();
        assert_eq!(err.key, "ui.display_timezone");

        let err = Config::load_from(
            &Overrides {
                config_file: Some(dir.path().join("missing.toml")),
                ..Default::default()
            },
            Vec::new(),
        )
        .unwrap_err();
        assert!(err.key.ends_with("missing.toml"));
    }

    #[test]
    fn database_url_is_empty_or_postgres() {
        let url = |value: &str| {
            Config::load_from(&no_file(), env(&[("AFISHA_DATABASE__URL", value)]))
                .map_err(|e| e.key)
        };
        assert_eq!(url("").unwrap().postgres_url(), None);
        assert_eq!(
            url("postgres://afisha@db/afisha").unwrap().postgres_url(),
            Some("postgres://afisha@db/afisha")
        );
        assert!(url("postgresql://db/afisha").is_ok());
        assert_eq!(url("mysql://db/afisha").unwrap_err(), "database.url");
        assert_eq!(url("/srv/afisha.db").unwrap_err(), "database.url");
        let flag = Config::load_from(
            &Overrides {
                database_url: Some("postgres://flag/afisha".into()),
                ..no_file()
            },
            env(&[("AFISHA_DATABASE__URL", "postgres://env/afisha")]),
        )
        .unwrap();
        assert_eq!(flag.postgres_url(), Some("postgres://flag/afisha"));
    }

    #[test]
    fn s3_needs_a_bucket_and_both_keys() {
        let s3 = |pairs: &[(&str, &str)]| {
            let mut all = vec![("AFISHA_STORAGE__BACKEND", "s3")];
            all.extend_from_slice(pairs);
            Config::load_from(&no_file(), env(&all)).map_err(|e| e.key)
        };
        assert_eq!(s3(&[]).unwrap_err(), "storage.s3.bucket");
        let bucket = ("AFISHA_STORAGE__S3__BUCKET", "images");
        assert!(s3(&[bucket]).is_ok());
        assert_eq!(
            s3(&[bucket, ("AFISHA_STORAGE__S3__ACCESS_KEY_ID", "AKIA")]).unwrap_err(),
            "storage.s3.secret_access_key"
        );
        assert!(
            s3(&[
                bucket,
                ("AFISHA_STORAGE__S3__ACCESS_KEY_ID", "AKIA"),
                ("AFISHA_STORAGE__S3__SECRET_ACCESS_KEY", "secret"),
            ])
            .is_ok()
        );
        assert_eq!(
            s3(&[bucket, ("AFISHA_STORAGE__S3__ENDPOINT", "not a url")]).unwrap_err(),
            "storage.s3.endpoint"
        );
    }

    #[test]
    fn debug_refuses_a_public_bind() {
        let err = Config::load_from(
            &Overrides {
                bind: Some("0.0.0.0:8080".into()),
                debug: true,
                ..no_file()
            },
            Vec::new(),
        )
        .unwrap_err();
        assert_eq!(err.key, "server.bind");
        assert!(err.reason.contains("loopback"));
    }

    #[test]
    fn derived_paths_follow_the_data_dir() {
        let c = Config::load_from(
            &Overrides {
                data_dir: Some("/srv/afisha".into()),
                ..no_file()
            },
            Vec::new(),
        )
        .unwrap();
        assert_eq!(c.database_path(), PathBuf::from("/srv/afisha/afisha.db"));
        assert_eq!(c.mail_dir(), PathBuf::from("/srv/afisha/mail"));
        assert_eq!(c.media_root(), PathBuf::from("/srv/afisha/media"));
        assert_eq!(c.public_url(), "http://127.0.0.1:8080");
    }
}
