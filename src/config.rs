//! Configuration: built-in defaults < TOML file < `AFISHA_SECTION__KEY`
//! environment variables < command-line flags, layered by `figment`.
//!
//! Every key has a default that works on a laptop. Optional keys are
//! `Option`s (`None` = not set); for configurations written when they were
//! plain text, an empty value still means "not set". Keys with a fixed set
//! of values are enums.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use figment::providers::{Env, Serialized};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Deserializer, Serialize};

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

/// A key with a fixed set of values: a serde enum whose spellings are the
/// ones written in files and the environment, and `as_str` for messages.
macro_rules! config_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(format!("'{text}' is not one of: {}", [$($text),+].join(", "))),
                }
            }
        }
    };
}

config_enum! {
    /// `email.backend`.
    EmailBackend {
        /// Log each message.
        Console = "console",
        /// One `.eml` file per message in `email.file_dir`.
        File = "file",
        Smtp = "smtp",
    }
}

config_enum! {
    /// `email.smtp.tls`.
    SmtpTls {
        Starttls = "starttls",
        /// Implicit TLS (usually port 465).
        Tls = "tls",
        /// Plain text.
        None = "none",
    }
}

config_enum! {
    /// `storage.backend`.
    StorageBackend {
        Fs = "fs",
        S3 = "s3",
    }
}

config_enum! {
    /// `ui.default_locale`: the language of emails and the UI's default.
    Language {
        Ru = "ru",
        En = "en",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub access_log: AccessLogConfig,
    pub calendar: CalendarConfig,
    pub events: EventsConfig,
    pub audit: AuditConfig,
    pub webhooks: WebhooksConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    /// Absolute base URL for links and image URLs; `None` = `http://<bind>`.
    #[serde(deserialize_with = "unset_if_empty")]
    pub public_url: Option<String>,
    pub debug: bool,
    pub max_body_bytes: usize,
    #[serde(deserialize_with = "list")]
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
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<String>,
    /// Open connections from one client address at most (also HTTP/2).
    pub max_connections_per_ip: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// `false`: registration, password recovery and password sign-in are
    /// closed (403 "Password sign-in is disabled") — people sign in through
    /// the directory or the identity provider. Administrators keep their
    /// local password as a way in when the directory is down.
    pub password_login: bool,
    pub argon2: Argon2Config,
    pub ldap: LdapConfig,
    pub oidc: OidcConfig,
}

/// Sign-in with the company's OpenID Provider (`GET /api/auth/oidc/login`
/// when `issuer` is set): authorization code flow with PKCE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer URL; its `/.well-known/openid-configuration` is read at
    /// every sign-in. `None` = no OpenID Connect sign-in.
    #[serde(deserialize_with = "unset_if_empty")]
    pub issuer: Option<String>,
    #[serde(deserialize_with = "unset_if_empty")]
    pub client_id: Option<String>,
    #[serde(deserialize_with = "unset_if_empty")]
    pub client_secret: Option<String>,
    /// Requested scopes; `openid` is always added.
    pub scopes: Vec<String>,
    /// The button says "Sign in with <display_name>".
    pub display_name: String,
    /// Email domains that may sign in (`example.com`); empty = any.
    pub allowed_domains: Vec<String>,
    /// Refuse an ID token whose `email_verified` is not `true`. Only for a
    /// provider that never sends the claim and manages every address itself
    /// (Microsoft Entra ID): there `false`, with `allowed_domains` set.
    pub require_verified_email: bool,
    /// A value of the `groups_claim` claim whose holders are administrators,
    /// set at every sign-in; `None` = roles are managed in Afisha.
    #[serde(deserialize_with = "unset_if_empty")]
    pub admin_group: Option<String>,
    /// The ID token claim listing the person's groups.
    pub groups_claim: String,
    /// Each request to the provider (discovery, keys, token).
    pub timeout_secs: u64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            client_id: None,
            client_secret: None,
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            display_name: "single sign-on".into(),
            allowed_domains: Vec::new(),
            require_verified_email: true,
            admin_group: None,
            groups_claim: "groups".into(),
            timeout_secs: 10,
        }
    }
}

impl OidcConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let Some(issuer) = &self.issuer else {
            return Ok(());
        };
        let url = url::Url::parse(issuer)
            .map_err(|e| ConfigError::new("auth.oidc.issuer", e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::new(
                "auth.oidc.issuer",
                "must be an https:// URL (http:// only for a provider on this machine)",
            ));
        }
        if self.client_id.is_none() {
            return Err(ConfigError::new(
                "auth.oidc.client_id",
                "must be set when auth.oidc.issuer is",
            ));
        }
        if self.client_secret.is_none() {
            return Err(ConfigError::new(
                "auth.oidc.client_secret",
                "must be set when auth.oidc.issuer is (Afisha is a confidential client)",
            ));
        }
        if self.groups_claim.trim().is_empty() {
            return Err(ConfigError::new(
                "auth.oidc.groups_claim",
                "must not be empty",
            ));
        }
        if self.timeout_secs == 0 {
            return Err(ConfigError::new(
                "auth.oidc.timeout_secs",
                "must be at least 1",
            ));
        }
        for domain in &self.allowed_domains {
            if domain.is_empty() || domain.contains('@') {
                return Err(ConfigError::new(
                    "auth.oidc.allowed_domains",
                    format!("'{domain}' is not a domain like example.com"),
                ));
            }
        }
        Ok(())
    }
}

/// Sign-in against the company's directory (`POST /api/login` asks it
/// first when `url` is set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://host:389` or `ldaps://host:636`; `None` = no directory.
    #[serde(deserialize_with = "unset_if_empty")]
    pub url: Option<String>,
    /// Upgrade an `ldap://` connection with StartTLS.
    pub starttls: bool,
    /// PEM file of the certificate authorities to trust for LDAPS/StartTLS;
    /// `None` = the system's.
    #[serde(deserialize_with = "unset_if_empty")]
    pub ca_file: Option<PathBuf>,
    /// The service account that searches for users; `None` = anonymous.
    #[serde(deserialize_with = "unset_if_empty")]
    pub bind_dn: Option<String>,
    #[serde(deserialize_with = "unset_if_empty")]
    pub bind_password: Option<String>,
    /// Where users are searched (whole subtree); required with `url`.
    #[serde(deserialize_with = "unset_if_empty")]
    pub base_dn: Option<String>,
    /// `{email}` is the address typed at sign-in, `{login}` the part before
    /// `@` (for `sAMAccountName`); both escaped.
    pub user_filter: String,
    pub email_attribute: String,
    pub name_attribute: String,
    /// DN of a group (`member` holds user DNs, as in `groupOfNames` and
    /// Active Directory groups) whose members are administrators, checked at
    /// every sign-in; `None` = roles are managed in Afisha.
    #[serde(deserialize_with = "unset_if_empty")]
    pub admin_group: Option<String>,
    /// Connecting and each operation.
    pub timeout_secs: u64,
}

impl LdapConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let Some(url) = &self.url else {
            return Ok(());
        };
        let parsed =
            url::Url::parse(url).map_err(|e| ConfigError::new("auth.ldap.url", e.to_string()))?;
        match parsed.scheme() {
            "ldap" => {}
            "ldaps" if self.starttls => {
                return Err(ConfigError::new(
                    "auth.ldap.starttls",
                    "StartTLS is for ldap:// URLs; ldaps:// is TLS from the start",
                ));
            }
            "ldaps" => {}
            _ => {
                return Err(ConfigError::new(
                    "auth.ldap.url",
                    "must be an ldap:// or ldaps:// URL",
                ));
            }
        }
        if self.base_dn.is_none() {
            return Err(ConfigError::new(
                "auth.ldap.base_dn",
                "must be set when auth.ldap.url is (where users are searched)",
            ));
        }
        let filter = &self.user_filter;
        if !(filter.starts_with('(') && filter.ends_with(')'))
            || !(filter.contains("{email}") || filter.contains("{login}"))
        {
            return Err(ConfigError::new(
                "auth.ldap.user_filter",
                "must be a parenthesised LDAP filter containing {email} or {login}",
            ));
        }
        if self.bind_dn.is_some() != self.bind_password.is_some() {
            return Err(ConfigError::new(
                "auth.ldap.bind_password",
                "bind_dn and bind_password are set together (or neither, for an anonymous search)",
            ));
        }
        Ok(())
    }
}

impl Default for LdapConfig {
    fn default() -> Self {
        Self {
            url: None,
            starttls: false,
            ca_file: None,
            bind_dn: None,
            bind_password: None,
            base_dn: None,
            user_filter: "(mail={email})".into(),
            email_attribute: "mail".into(),
            name_attribute: "cn".into(),
            admin_group: None,
            timeout_secs: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    pub backend: EmailBackend,
    pub from: String,
    /// For `file`; `None` = `<data_dir>/mail`.
    #[serde(deserialize_with = "unset_if_empty")]
    pub file_dir: Option<PathBuf>,
    pub smtp: SmtpConfig,
    /// An administrator gets at most one participation email per (event,
    /// user, joined/left) in this many minutes; 0 = every change.
    pub admin_notice_coalesce_minutes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `None` = no authentication.
    #[serde(deserialize_with = "unset_if_empty")]
    pub username: Option<String>,
    #[serde(deserialize_with = "unset_if_empty")]
    pub password: Option<String>,
    pub tls: SmtpTls,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    pub backend: StorageBackend,
    /// For `fs`; `None` = `<data_dir>/media`.
    #[serde(deserialize_with = "unset_if_empty")]
    pub root: Option<PathBuf>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// Required when `storage.backend = "s3"`.
    #[serde(deserialize_with = "unset_if_empty")]
    pub bucket: Option<String>,
    pub region: String,
    /// `None` = AWS.
    #[serde(deserialize_with = "unset_if_empty")]
    pub endpoint: Option<String>,
    /// Set together with `secret_access_key`; both `None` = the AWS
    /// credential chain.
    #[serde(deserialize_with = "unset_if_empty")]
    pub access_key_id: Option<String>,
    #[serde(deserialize_with = "unset_if_empty")]
    pub secret_access_key: Option<String>,
    /// `None` = `<endpoint>/<bucket>`.
    #[serde(deserialize_with = "unset_if_empty")]
    pub public_base_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    pub brand_name: String,
    pub display_timezone: String,
    pub default_locale: Language,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarConfig {
    /// `GET /api/calendar/all.ics`: every upcoming event, without a session.
    pub public_feed: bool,
}

/// Outgoing webhooks (`/api/admin/webhooks`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// `false`: a delivery whose host resolves to a loopback, private,
    /// link-local or otherwise non-public address is refused (checked
    /// after DNS resolution, on every attempt).
    pub allow_private_networks: bool,
    /// The whole request (connect, send, response headers and body).
    pub timeout_secs: u64,
    /// Attempts of one delivery before it fails (spaced by the job
    /// queue's backoff, `jobs.retry_base_secs` … `jobs.retry_max_secs`).
    pub max_attempts: u32,
    /// An endpoint whose attempts have all failed for this long is
    /// disabled and the administrators are told.
    pub disable_after_hours: u64,
    /// Finished deliveries (delivered or failed) and their attempts are
    /// deleted by the hourly clean-up this many days after they were
    /// queued.
    pub log_retention_days: i64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            timeout_secs: 10,
            max_attempts: 30,
            disable_after_hours: 24,
            log_retention_days: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Check-in opens this many minutes before an event starts (it closes
    /// 24 hours after the event ends).
    pub checkin_opens_minutes: u32,
    /// How many days ahead the occurrences of a recurring series exist.
    pub series_horizon_days: u32,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            checkin_opens_minutes: 60,
            series_horizon_days: 90,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Audit entries older than this are deleted by the hourly clean-up.
    pub retention_days: i64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention_days: 365,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// `None` = no scheduled backups; `daily HH:MM` or a cron expression,
    /// in `ui.display_timezone`.
    #[serde(deserialize_with = "unset_if_empty")]
    pub schedule: Option<String>,
    /// Where scheduled backups go; `None` = `<data_dir>/backups`.
    #[serde(deserialize_with = "unset_if_empty")]
    pub dir: Option<PathBuf>,
    /// Scheduled backups kept; older ones are deleted.
    pub keep: usize,
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
            calendar: CalendarConfig::default(),
            audit: AuditConfig::default(),
            webhooks: WebhooksConfig::default(),
            backup: BackupConfig::default(),
            access_log: AccessLogConfig::default(),
            events: EventsConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
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
            password_login: true,
            argon2: Argon2Config::default(),
            ldap: LdapConfig::default(),
            oidc: OidcConfig::default(),
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
            backend: EmailBackend::Console,
            from: "Афиша <afisha@localhost>".into(),
            file_dir: None,
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
            username: None,
            password: None,
            tls: SmtpTls::Starttls,
            timeout_secs: 10,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Fs,
            root: None,
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
            bucket: None,
            region: "us-east-1".into(),
            endpoint: None,
            access_key_id: None,
            secret_access_key: None,
            public_base_url: None,
        }
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            brand_name: "Афиша".into(),
            display_timezone: "UTC".into(),
            default_locale: Language::Ru,
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `None` = SQLite at `<data_dir>/afisha.db`; `postgres://…` =
    /// PostgreSQL.
    #[serde(deserialize_with = "unset_if_empty")]
    pub url: Option<String>,
}

impl Config {
    /// The PostgreSQL URL, or `None` for the SQLite file in the data dir.
    pub fn postgres_url(&self) -> Option<&str> {
        self.database.url.as_deref().map(str::trim)
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
        if self.backup.schedule.is_some() {
            return Err(ConfigError::new(
                "backup.schedule",
                "scheduled backups copy the SQLite file; with database.url on PostgreSQL leave it empty and back up with pg_dump",
            ));
        }
        Ok(())
    }
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            schedule: None,
            dir: None,
            keep: 7,
        }
    }
}

// ------------------------------------------------------------- access log

/// Request lines (target `afisha::access`) under load. The section is not
/// called `log`: `AFISHA_LOG` is the log filter, and as a configuration
/// name it would mean that section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessLogConfig {
    /// Lines for fast non-5xx requests per second at most; the others are
    /// counted in a summary line. 0 = a line for every request.
    pub lines_per_second: u32,
    /// Requests at least this slow always get their line.
    pub slow_ms: u64,
    /// How often the summary of requests without a line is written (only
    /// when there were some).
    pub summary_secs: u64,
}

impl Default for AccessLogConfig {
    fn default() -> Self {
        Self {
            lines_per_second: 50,
            slow_ms: 500,
            summary_secs: 60,
        }
    }
}

/// An optional key: absent, or an empty (blank) value, is `None` — empty
/// text meant "not set" before these keys were optional, and an
/// environment variable cannot be unset from a service file's override.
fn unset_if_empty<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    let text = Option::<String>::deserialize(d)?;
    Ok(text.filter(|t| !t.trim().is_empty()).map(T::from))
}

/// A list of text: a TOML array, or (from the environment) one text with
/// comma-separated items.
fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Items;
    impl<'de> serde::de::Visitor<'de> for Items {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of text, or comma-separated text")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Vec<String>, E> {
            Ok(text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect())
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<String>, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                items.push(item);
            }
            Ok(items)
        }
    }
    d.deserialize_any(Items)
}

impl Config {
    /// Where scheduled backups go.
    pub fn backup_dir(&self) -> PathBuf {
        self.backup
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }

    fn validate_backup(&self) -> Result<(), ConfigError> {
        crate::domain::backup::Schedule::parse(self.backup.schedule.as_deref().unwrap_or(""))
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
/// The name of the environment layer in figment's metadata; errors from it
/// say which variable held the value.
const ENV_SOURCE: &str = "environment variable";

impl Config {
    /// Loads every layer (the environment from the process) and validates.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let defaults = Serialized::defaults(Config::default());
        let known = leaf_keys(&defaults.data().map_err(from_figment)?);
        let mut figment = Figment::from(defaults);

        let file = match &overrides.config_file {
            Some(path) => Some(path.clone()),
            None => {
                let p = PathBuf::from(DEFAULT_CONFIG_FILE);
                p.exists().then_some(p)
            }
        };
        if let Some(path) = file {
            figment = figment.merge(TomlFile::read(path)?);
        }

        // Only names that map onto a known key are configuration; other
        // AFISHA_* variables (for example the contract suite's AFISHA_API or
        // the log settings) are not ours to reject.
        figment = figment.merge(EnvText(
            Env::prefixed(ENV_PREFIX)
                .split("__")
                .filter(move |key| known.iter().any(|k| key == k.as_str())),
        ));

        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("data_dir", dir.display().to_string()));
        }
        if let Some(url) = &overrides.database_url {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        if let Some(bind) = &overrides.bind {
            figment = figment.merge(Serialized::default("server.bind", bind));
        }
        if let Some(url) = &overrides.public_url {
            figment = figment.merge(Serialized::default("server.public_url", url));
        }
        if overrides.debug {
            figment = figment.merge(Serialized::default("server.debug", true));
        }

        // Lossy: numbers and booleans may come as text (the environment's
        // values always do); `true`/`yes`/`on`/`1` and their opposites.
        let config: Config = figment.extract_lossy().map_err(from_figment)?;
        config.validate()?;
        Ok(config)
    }

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
        if let Some(url) = &self.server.public_url {
            let url = url::Url::parse(url)
                .map_err(|e| ConfigError::new("server.public_url", e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(ConfigError::new(
                    "server.public_url",
                    "must be an absolute http:// or https:// URL",
                ));
            }
        }
        self.auth.ldap.validate()?;
        self.auth.oidc.validate()?;
        for origin in &self.server.cors_allowed_origins {
            if origin == "*" || url::Url::parse(origin).is_err() {
                return Err(ConfigError::new(
                    "server.cors_allowed_origins",
                    format!("'{origin}' is not an origin like https://example.com"),
                ));
            }
        }
        positive(
            "events.series_horizon_days",
            self.events.series_horizon_days as u64,
        )?;
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
        positive("access_log.summary_secs", self.access_log.summary_secs)?;
        positive("webhooks.timeout_secs", self.webhooks.timeout_secs)?;
        positive("webhooks.max_attempts", self.webhooks.max_attempts as u64)?;
        positive(
            "webhooks.disable_after_hours",
            self.webhooks.disable_after_hours,
        )?;
        positive(
            "webhooks.log_retention_days",
            self.webhooks.log_retention_days.max(0) as u64,
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
        self.email
            .from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| ConfigError::new("email.from", format!("not a valid mailbox: {e}")))?;
        if self.email.backend == EmailBackend::Smtp && self.email.smtp.host.trim().is_empty() {
            return Err(ConfigError::new(
                "email.smtp.host",
                "required when email.backend = \"smtp\"",
            ));
        }
        positive("email.smtp.timeout_secs", self.email.smtp.timeout_secs)?;
        positive(
            "storage.max_upload_bytes",
            self.storage.max_upload_bytes as u64,
        )?;
        if self.storage.backend == StorageBackend::S3 {
            if self.storage.s3.bucket.is_none() {
                return Err(ConfigError::new(
                    "storage.s3.bucket",
                    "required when storage.backend = \"s3\"",
                ));
            }
            let s3 = &self.storage.s3;
            if s3.access_key_id.is_some() != s3.secret_access_key.is_some() {
                return Err(ConfigError::new(
                    "storage.s3.secret_access_key",
                    "storage.s3.access_key_id and storage.s3.secret_access_key are set together \
                     (both unset = the AWS credential chain: environment, profile, instance role)",
                ));
            }
            for (key, value) in [
                ("storage.s3.endpoint", &self.storage.s3.endpoint),
                (
                    "storage.s3.public_base_url",
                    &self.storage.s3.public_base_url,
                ),
            ] {
                if let Some(value) = value
                    && url::Url::parse(value).is_err()
                {
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
        positive("jobs.max_attempts", self.jobs.max_attempts as u64)?;
        positive("jobs.concurrency", self.jobs.concurrency as u64)?;
        positive("jobs.lock_secs", self.jobs.lock_secs)?;
        positive(
            "jobs.retention_days",
            self.jobs.retention_days.max(0) as u64,
        )?;
        positive("jobs.retry_base_secs", self.jobs.retry_base_secs)?;
        positive(
            "audit.retention_days",
            self.audit.retention_days.max(0) as u64,
        )?;
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
        match &self.server.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.server.bind),
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("afisha.db")
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.email
            .file_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("mail"))
    }

    pub fn media_root(&self) -> PathBuf {
        self.storage
            .root
            .clone()
            .unwrap_or_else(|| self.data_dir.join("media"))
    }

    pub fn timezone(&self) -> chrono_tz::Tz {
        self.ui.display_timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}

fn positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        Err(ConfigError::new(key, "must be greater than 0"))
    } else {
        Ok(())
    }
}

/// The TOML file, parsed with the project's `toml` crate (figment's own
/// provider brings an older `toml` major version into the build) so that a
/// syntax error stays one line with its line number.
struct TomlFile {
    path: PathBuf,
    table: toml::Table,
}

impl TomlFile {
    fn read(path: PathBuf) -> Result<TomlFile, ConfigError> {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError::new(path.display().to_string(), e.to_string()))?;
        let table = toml::from_str(&text).map_err(|e| {
            ConfigError::new(
                path.display().to_string(),
                e.message().trim().to_string() + &line_of(&text, e.span()),
            )
        })?;
        Ok(TomlFile { path, table })
    }
}

impl Provider for TomlFile {
    fn metadata(&self) -> Metadata {
        Metadata::from("TOML file", self.path.as_path())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::defaults(&self.table).data()
    }
}

/// figment's `Env` (prefix, `__` between sections, the filter) with every
/// value kept as text: the key's type decides how the text is read, so a
/// password of digits stays text and a list stays comma-separated text.
/// Values are trimmed.
struct EnvText(Env);

impl Provider for EnvText {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_SOURCE).interpolater(|_: &Profile, keys: &[&str]| {
            format!("{ENV_PREFIX}{}", keys.join("__").to_ascii_uppercase())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        fn insert(dict: &mut Dict, path: &[&str], value: Value) {
            match path {
                [] => {}
                [key] => {
                    dict.insert(key.to_string(), value);
                }
                [section, rest @ ..] => {
                    let entry = dict
                        .entry(section.to_string())
                        .or_insert_with(|| Dict::new().into());
                    if let Value::Dict(_, inner) = entry {
                        insert(inner, rest, value);
                    }
                }
            }
        }
        let mut vars: Vec<(String, String)> = self
            .0
            .iter()
            .map(|(key, value)| (key.into_string(), value.trim().to_string()))
            .collect();
        vars.sort();
        let mut dict = Dict::new();
        for (key, value) in vars {
            let path: Vec<&str> = key.split('.').collect();
            insert(&mut dict, &path, value.into());
        }
        Ok(Map::from([(Profile::Default, dict)]))
    }
}

/// Every key path (`server.bind`) of a layer, optional keys included.
fn leaf_keys(data: &Map<Profile, Dict>) -> Vec<String> {
    fn walk(dict: &Dict, prefix: &str, out: &mut Vec<String>) {
        for (key, value) in dict {
            let path = format!("{prefix}{key}");
            match value {
                Value::Dict(_, inner) => walk(inner, &format!("{path}."), out),
                _ => out.push(path),
            }
        }
    }
    let mut out = Vec::new();
    for dict in data.values() {
        walk(dict, "", &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// figment's error as one line naming the key, in the words the hand-written
/// loader used (and tests and people may rely on).
fn from_figment(error: figment::Error) -> ConfigError {
    use figment::error::{Actual, Kind};
    let error = error
        .into_iter()
        .next()
        .expect("an error holds at least itself");
    let path = &error.path;
    let reason = match &error.kind {
        Kind::UnknownField(field, expected) => {
            format!(
                "unknown field `{field}`, expected one of {}",
                quoted(expected)
            )
        }
        Kind::UnknownVariant(found, expected) => {
            format!("'{found}' is not one of: {}", expected.join(", "))
        }
        Kind::InvalidType(Actual::Str(text), expected) if is_integer(expected) => {
            format!("'{text}' is not a whole number")
        }
        Kind::InvalidType(Actual::Str(text), expected) if expected == "a boolean" => {
            format!("'{text}' is not true or false")
        }
        Kind::InvalidType(actual, expected) => {
            format!("invalid type: {actual}, expected {expected}")
        }
        Kind::InvalidValue(actual, expected) => {
            format!("invalid value: {actual}, expected {expected}")
        }
        kind => kind.to_string(),
    };
    let reason = match &error.metadata {
        Some(source) if source.name == ENV_SOURCE && !path.is_empty() => format!(
            "{reason} (from environment variable {})",
            source.interpolate(&Profile::Default, path)
        ),
        _ => reason,
    };
    let key = if path.is_empty() {
        "config".to_string()
    } else {
        path.join(".")
    };
    ConfigError::new(key, reason.replace('\n', " "))
}

fn is_integer(expected: &str) -> bool {
    matches!(
        expected,
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize"
    )
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
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

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Jail;

    /// `Config::load` with exactly these environment variables (figment's
    /// jail: the process environment and working directory are restored
    /// afterwards, and jails run one at a time).
    #[allow(clippy::result_large_err)] // the closure's type is figment's
    fn load_with(env: &[(&str, &str)], overrides: Overrides) -> Result<Config, ConfigError> {
        let mut result = None;
        Jail::expect_with(|jail| {
            jail.clear_env();
            for (name, value) in env {
                jail.set_env(name, value);
            }
            result = Some(Config::load(&overrides));
            Ok(())
        });
        result.expect("the jail ran")
    }

    fn example_file() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
    }

    fn no_file() -> Overrides {
        Overrides {
            config_file: Some(example_file()),
            ..Default::default()
        }
    }

    fn with_file(text: &str) -> (tempfile::TempDir, Overrides) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("afisha.toml");
        std::fs::write(&file, text).unwrap();
        let overrides = Overrides {
            config_file: Some(file),
            ..Default::default()
        };
        (dir, overrides)
    }

    fn all_keys(config: Config) -> Vec<String> {
        leaf_keys(&Serialized::defaults(config).data().unwrap())
    }

    fn file_keys(table: &toml::Table, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in table {
            let name = format!("{prefix}{k}");
            match v {
                toml::Value::Table(inner) => out.extend(file_keys(inner, &format!("{name}."))),
                _ => out.push(name),
            }
        }
        out.sort();
        out
    }

    /// Optional keys appear in config.example.toml commented out as
    /// `#key = example`; this turns them on.
    fn uncomment_optional_keys(text: &str) -> String {
        text.lines()
            .map(|line| match line.strip_prefix('#') {
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(key, _)| {
                        key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
                {
                    rest
                }
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn example_file_parses_and_equals_the_defaults() {
        let from_file = load_with(&[], no_file()).unwrap();
        assert_eq!(
            from_file,
            Config::default(),
            "config.example.toml must document every key with its default value"
        );

        // And it names every key: deleting any line would change nothing
        // above, so check the key set explicitly. Keys without a default
        // (the optional ones) are there commented out, with an example.
        let text = std::fs::read_to_string(example_file()).unwrap();
        let set: toml::Table = toml::from_str(&text).unwrap();
        let uncommented = uncomment_optional_keys(&text);
        let all: toml::Table = toml::from_str(&uncommented).unwrap();
        assert_eq!(file_keys(&all, ""), all_keys(Config::default()));
        let optional: Vec<String> = file_keys(&all, "")
            .into_iter()
            .filter(|k| !file_keys(&set, "").contains(k))
            .collect();
        assert_eq!(
            optional,
            [
                "auth.ldap.admin_group",
                "auth.ldap.base_dn",
                "auth.ldap.bind_dn",
                "auth.ldap.bind_password",
                "auth.ldap.ca_file",
                "auth.ldap.url",
                "auth.oidc.admin_group",
                "auth.oidc.client_id",
                "auth.oidc.client_secret",
                "auth.oidc.issuer",
                "backup.dir",
                "backup.schedule",
                "email.file_dir",
                "email.smtp.password",
                "email.smtp.username",
                "server.public_url",
                "storage.root",
                "storage.s3.access_key_id",
                "storage.s3.bucket",
                "storage.s3.endpoint",
                "storage.s3.public_base_url",
                "storage.s3.secret_access_key",
            ]
        );

        // The examples are valid values: with all of them set, the
        // configuration loads and every optional key is set.
        let (_dir, overrides) = with_file(&uncommented);
        let c = load_with(&[], overrides).unwrap();
        assert!(c.server.public_url.is_some() && c.backup.schedule.is_some());
        assert!(c.storage.s3.bucket.is_some() && c.storage.s3.public_base_url.is_some());
        assert!(c.email.smtp.username.is_some() && c.storage.root.is_some());
    }

    #[test]
    fn environment_beats_file_and_flags_beat_environment() {
        let (_dir, file) = with_file(
            "[server]\nbind = \"127.0.0.1:1111\"\nmax_body_bytes = 10\n\
             public_url = \"https://file.example\"\n[jobs]\nmax_attempts = 2\nconcurrency = 3\n",
        );
        let overrides = Overrides {
            bind: Some("127.0.0.1:3333".into()),
            ..file
        };
        let c = load_with(
            &[
                ("AFISHA_SERVER__BIND", "127.0.0.1:2222"),
                ("AFISHA_SERVER__PUBLIC_URL", "https://env.example"),
                ("AFISHA_JOBS__MAX_ATTEMPTS", " 9 "),
                (
                    "AFISHA_SERVER__CORS_ALLOWED_ORIGINS",
                    "https://a.example, https://b.example",
                ),
                ("AFISHA_SERVER__DEBUG", "yes"),
                ("AFISHA_API", "http://unrelated"),
                ("AFISHA_LOG_FORMAT", "json"),
                ("AFISHA_SERVER", "a whole section is not a key"),
            ],
            overrides.clone(),
        )
        .unwrap();
        // flag > environment > file > default
        assert_eq!(c.server.bind, "127.0.0.1:3333");
        assert_eq!(c.server.public_url.as_deref(), Some("https://env.example"));
        assert_eq!(c.jobs.max_attempts, 9);
        assert_eq!(c.jobs.concurrency, 3);
        assert_eq!(c.server.max_body_bytes, 10);
        assert_eq!(c.server.max_connections, 1024);
        assert!(c.server.debug);
        assert_eq!(
            c.server.cors_allowed_origins,
            vec!["https://a.example", "https://b.example"]
        );

        // Without the environment the file's values stand.
        let c = load_with(&[], overrides).unwrap();
        assert_eq!(c.server.bind, "127.0.0.1:3333");
        assert_eq!(c.server.public_url.as_deref(), Some("https://file.example"));
        assert_eq!(c.jobs.max_attempts, 2);
        assert!(!c.server.debug);
    }

    #[test]
    fn optional_keys_left_unset_or_empty_are_none() {
        let c = load_with(&[], Overrides::default()).unwrap();
        assert_eq!(c.server.public_url, None);
        assert_eq!(c.email.smtp.username, None);
        assert_eq!(c.backup.schedule, None);
        assert_eq!(c.public_url(), "http://127.0.0.1:8080");

        // Empty text meant "not set" before these keys were optional: an old
        // afisha.toml or an emptied environment variable still says so.
        let (_dir, overrides) = with_file(
            "[server]\npublic_url = \"\"\n[backup]\nschedule = \"\"\ndir = \"\"\n\
             [email]\nfile_dir = \"\"\n[email.smtp]\nusername = \"\"\npassword = \"\"\n",
        );
        let c = load_with(
            &[
                ("AFISHA_STORAGE__S3__ENDPOINT", ""),
                ("AFISHA_STORAGE__ROOT", "  "),
            ],
            overrides,
        )
        .unwrap();
        assert_eq!(c, Config::default());

        // Set, they are text as given: digits stay text.
        let c = load_with(
            &[
                ("AFISHA_EMAIL__SMTP__USERNAME", "mailer"),
                ("AFISHA_EMAIL__SMTP__PASSWORD", "007"),
                ("AFISHA_EMAIL__FROM", "Афиша <a@b.example>"),
            ],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.email.smtp.username.as_deref(), Some("mailer"));
        assert_eq!(c.email.smtp.password.as_deref(), Some("007"));
    }

    #[test]
    fn an_unknown_enum_value_names_the_key_and_the_allowed_values() {
        let err = load_with(&[("AFISHA_EMAIL__BACKEND", "pigeon")], no_file()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration error: email.backend: 'pigeon' is not one of: console, file, smtp \
             (from environment variable AFISHA_EMAIL__BACKEND)"
        );

        let (_dir, overrides) = with_file("[email.smtp]\ntls = \"ssl\"\n");
        let err = load_with(&[], overrides).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration error: email.smtp.tls: 'ssl' is not one of: starttls, tls, none"
        );

        let err = load_with(&[("AFISHA_UI__DEFAULT_LOCALE", "de")], no_file()).unwrap_err();
        assert_eq!(err.key, "ui.default_locale");
        assert!(
            err.reason.starts_with("'de' is not one of: ru, en"),
            "{err}"
        );

        let c = load_with(
            &[
                ("AFISHA_STORAGE__BACKEND", "s3"),
                ("AFISHA_STORAGE__S3__BUCKET", "images"),
                ("AFISHA_UI__DEFAULT_LOCALE", "en"),
                ("AFISHA_EMAIL__SMTP__TLS", "none"),
            ],
            no_file(),
        )
        .unwrap();
        assert_eq!(c.storage.backend, StorageBackend::S3);
        assert_eq!(c.ui.default_locale, Language::En);
        assert_eq!(c.email.smtp.tls, SmtpTls::None);
    }

    #[test]
    fn errors_name_the_key() {
        let err = load_with(&[("AFISHA_SERVER__BIND", "nonsense")], no_file()).unwrap_err();
        assert_eq!(err.key, "server.bind");
        assert!(err.to_string().contains("nonsense"));

        let err = load_with(&[("AFISHA_JOBS__MAX_ATTEMPTS", "many")], no_file()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration error: jobs.max_attempts: 'many' is not a whole number \
             (from environment variable AFISHA_JOBS__MAX_ATTEMPTS)"
        );

        let err = load_with(&[("AFISHA_SERVER__DEBUG", "maybe")], no_file()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration error: server.debug: 'maybe' is not true or false \
             (from environment variable AFISHA_SERVER__DEBUG)"
        );

        let (_dir, overrides) = with_file("[server]\nbnid = \"x\"\n");
        let err = load_with(&[], overrides).unwrap_err();
        assert_eq!(err.key, "server.bnid");
        assert!(err.to_string().contains("unknown field `bnid`"), "{err}");

        let (_dir, overrides) = with_file("[server]\nmax_connections = \"x\"\n");
        let err = load_with(&[], overrides).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration error: server.max_connections: 'x' is not a whole number"
        );

        let (_dir, overrides) = with_file("[email]\nbackend = \"pigeon\"\n");
        let err = load_with(&[], overrides).unwrap_err();
        assert_eq!(err.key, "email.backend");

        for (toml, key) in [
            ("url = \"http://ldap\"\nbase_dn = \"dc=x\"", "auth.ldap.url"),
            ("url = \"ldap://ldap\"", "auth.ldap.base_dn"),
            (
                "url = \"ldaps://ldap\"\nstarttls = true\nbase_dn = \"dc=x\"",
                "auth.ldap.starttls",
            ),
            (
                "url = \"ldap://ldap\"\nbase_dn = \"dc=x\"\nuser_filter = \"(uid=alice)\"",
                "auth.ldap.user_filter",
            ),
            (
                "url = \"ldap://ldap\"\nbase_dn = \"dc=x\"\nbind_dn = \"cn=r\"",
                "auth.ldap.bind_password",
            ),
        ] {
            let (_dir, overrides) = with_file(&format!("[auth.ldap]\n{toml}\n"));
            let err = load_with(&[], overrides).unwrap_err();
            assert_eq!(err.key, key, "{toml}");
        }

        let (_dir, overrides) = with_file("[ui]\ndisplay_timezone = \"Mars/Olympus\"\n");
        let err = load_with(&[], overrides).unwrap_err();
        assert_eq!(err.key, "ui.display_timezone");

        let (_dir, overrides) = with_file("[server\n");
        let err = load_with(&[], overrides).unwrap_err();
        assert!(err.key.ends_with("afisha.toml"), "{err}");
        assert!(err.reason.ends_with("(line 1)"), "{err}");
        assert_eq!(err.to_string().lines().count(), 1, "{err}");

        let err = load_with(
            &[],
            Overrides {
                config_file: Some(PathBuf::from("/no/such/missing.toml")),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.key.ends_with("missing.toml"));
    }

    #[test]
    fn database_url_is_empty_or_postgres() {
        let url = |value: &str| {
            load_with(&[("AFISHA_DATABASE__URL", value)], no_file()).map_err(|e| e.key)
        };
        assert_eq!(url("").unwrap().postgres_url(), None);
        assert_eq!(
            url("postgres://afisha@db/afisha").unwrap().postgres_url(),
            Some("postgres://afisha@db/afisha")
        );
        assert!(url("postgresql://db/afisha").is_ok());
        assert_eq!(url("mysql://db/afisha").unwrap_err(), "database.url");
        assert_eq!(url("/srv/afisha.db").unwrap_err(), "database.url");
        let flag = load_with(
            &[("AFISHA_DATABASE__URL", "postgres://env/afisha")],
            Overrides {
                database_url: Some("postgres://flag/afisha".into()),
                ..no_file()
            },
        )
        .unwrap();
        assert_eq!(flag.postgres_url(), Some("postgres://flag/afisha"));
        let scheduled = load_with(
            &[
                ("AFISHA_DATABASE__URL", "postgres://env/afisha"),
                ("AFISHA_BACKUP__SCHEDULE", "daily 03:00"),
            ],
            no_file(),
        );
        assert_eq!(scheduled.unwrap_err().key, "backup.schedule");
    }

    #[test]
    fn s3_needs_a_bucket_and_both_keys() {
        let s3 = |pairs: &[(&str, &str)]| {
            let mut all = vec![("AFISHA_STORAGE__BACKEND", "s3")];
            all.extend_from_slice(pairs);
            load_with(&all, no_file()).map_err(|e| e.key)
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
        let err = load_with(
            &[],
            Overrides {
                bind: Some("0.0.0.0:8080".into()),
                debug: true,
                ..no_file()
            },
        )
        .unwrap_err();
        assert_eq!(err.key, "server.bind");
        assert!(err.reason.contains("loopback"));
    }

    #[test]
    fn derived_paths_follow_the_data_dir() {
        let c = load_with(
            &[],
            Overrides {
                data_dir: Some("/srv/afisha".into()),
                ..no_file()
            },
        )
        .unwrap();
        assert_eq!(c.database_path(), PathBuf::from("/srv/afisha/afisha.db"));
        assert_eq!(c.mail_dir(), PathBuf::from("/srv/afisha/mail"));
        assert_eq!(c.media_root(), PathBuf::from("/srv/afisha/media"));
        assert_eq!(c.backup_dir(), PathBuf::from("/srv/afisha/backups"));
        assert_eq!(c.public_url(), "http://127.0.0.1:8080");
    }
}
