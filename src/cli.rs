//! The command line: `afisha serve`, `migrate`, `user …`, `db copy`, ….

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use crate::clock::SystemClock;
use crate::config::{Config, EmailBackend, Overrides, StorageBackend};
use crate::domain::user::Role;
use crate::domain::user::UserStatus;
use crate::http::error::AppError;
use crate::store::users::UserFilter;

#[derive(Parser, Debug)]
#[command(
    name = "afisha",
    version,
    about = "Afisha: a self-hosted corporate event board in one binary"
)]
pub struct Cli {
    /// Configuration file (default: ./afisha.toml when present).
    #[arg(long, global = true, env = "AFISHA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (database, images, mail); overrides `data_dir`.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database: empty = SQLite in the data dir, or a postgres://… URL;
    /// overrides `database.url`.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "AFISHA_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply migrations, then serve HTTP and run the job scheduler.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Seed a demo data dir (a fresh temporary one unless --data-dir is
    /// given) with users, events and covers, print the logins, then serve.
    Demo(ServeArgs),
    /// Copy the database consistently while the server runs.
    Backup {
        /// Where to write the copy.
        file: PathBuf,
    },
    /// Replace the database of a stopped data dir with a backup.
    Restore {
        /// The backup to restore.
        file: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
    /// Inspect and retry background jobs (email delivery).
    #[command(subcommand)]
    Jobs(crate::jobs::cli::JobsCommand),
    /// Check email delivery.
    #[command(subcommand)]
    Email(EmailCommand),
    /// Move images between storage back-ends.
    #[command(subcommand)]
    Storage(StorageCommand),
    /// Move the data between database back-ends.
    #[command(subcommand)]
    Db(DbCommand),
    /// Print the OpenAPI document this configuration serves at
    /// /api/openapi.json (the web UI's typed client is generated from it).
    Openapi,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Copy this data dir's SQLite database into an empty PostgreSQL
    /// database, in one transaction: every table, ids kept, sequences
    /// restarted after the highest id, row counts checked. Stop the server
    /// first (it holds the data dir); the SQLite file is kept (only migrated,
    /// as `serve` would).
    Copy {
        /// The target database: postgres://user:password@host:5432/dbname
        /// (empty; its schema is created if missing).
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum EmailCommand {
    /// Send a test message through the configured backend now and say how
    /// it went (the SMTP server's reply on failure; exit code 1).
    Test {
        /// The recipient.
        #[arg(long, value_name = "ADDR")]
        to: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum StorageCommand {
    /// Copy every image from the `fs` root (storage.root) into the S3 bucket
    /// of `[storage.s3]`, skipping those already there, and check the
    /// bucket holds them all. Run it again right before switching
    /// `storage.backend` to `s3` to pick up images uploaded meanwhile.
    Copy,
}

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long)]
    pub bind: Option<String>,
    /// Public base URL for links, e.g. https://events.example.com.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Enable the /api/debug routes (loopback only).
    #[arg(long)]
    pub debug: bool,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user (the way to bootstrap the first administrator).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role.
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// List users.
    List,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
#[value(rename_all = "UPPERCASE")]
pub enum RoleArg {
    Administrator,
    User,
}

/// A failure with the exit code to leave with.
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
    fn runtime(message: impl std::fmt::Display) -> Self {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }
}

impl From<crate::config::ConfigError> for Failure {
    fn from(e: crate::config::ConfigError) -> Self {
        Failure::usage(e.to_string())
    }
}

impl From<crate::http::error::AppError> for Failure {
    fn from(e: crate::http::error::AppError) -> Self {
        match e {
            crate::http::error::AppError::Http { message, .. } => Failure::runtime(message),
            other => Failure::runtime(other),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::runtime(format!("{e:#}"))
    }
}

fn overrides(cli: &Cli, serve: Option<&ServeArgs>) -> Overrides {
    Overrides {
        config_file: cli.config.clone(),
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        bind: serve.and_then(|s| s.bind.clone()),
        public_url: serve.and_then(|s| s.public_url.clone()),
        debug: serve.is_some_and(|s| s.debug),
    }
}

/// Logs go to stderr: text (coloured only when stderr is a terminal and
/// `NO_COLOR` is unset) or one JSON object per line. `AFISHA_LOG` takes
/// filter directives (`warn`, `afisha::access=off`, …); without a bare
/// level among them, everything else stays at `info`.
pub fn init_logging(format: LogFormat) {
    let filter = log_filter(std::env::var("AFISHA_LOG").ok().as_deref());
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

/// The PostgreSQL driver logs every statement's parameters (session token
/// digests, sealed codes, password hashes) at `debug`: it never logs below
/// `info`, whatever `AFISHA_LOG` asks.
const DRIVER_CAP: &str = "tokio_postgres=info";

fn log_filter(directives: Option<&str>) -> tracing_subscriber::EnvFilter {
    let mut parts: Vec<&str> = directives
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty() && !d.starts_with("tokio_postgres"))
        .collect();
    if !parts.iter().any(|d| !d.contains('=')) {
        parts.insert(0, "info");
    }
    parts.push(DRIVER_CAP);
    tracing_subscriber::EnvFilter::try_new(parts.join(",")).unwrap_or_else(|e| {
        eprintln!("afisha: AFISHA_LOG is not a valid filter ({e}); logging at info");
        tracing_subscriber::EnvFilter::new(format!("info,{DRIVER_CAP}"))
    })
}

/// What `serve` prints once at start-up: where it runs, where its data is,
/// and what is not configured. Lines of `name: value`.
pub fn startup_summary(config: &Config) -> Vec<(&'static str, String)> {
    let mut lines = vec![
        ("data dir", config.data_dir.display().to_string()),
        ("database", database_name(config)),
    ];
    lines.push((
        "storage",
        match config.storage.backend {
            StorageBackend::S3 => format!(
                "s3 bucket {} ({})",
                config.storage.s3.bucket.as_deref().unwrap_or_default(),
                match &config.storage.s3.endpoint {
                    Some(endpoint) => endpoint.clone(),
                    None => format!("AWS, {}", config.storage.s3.region),
                }
            ),
            StorageBackend::Fs => format!("fs, images in {}", config.media_root().display()),
        },
    ));
    lines.push((
        "mail",
        match config.email.backend {
            EmailBackend::Smtp => format!(
                "smtp {}:{} ({})",
                config.email.smtp.host, config.email.smtp.port, config.email.smtp.tls
            ),
            EmailBackend::File => format!(
                "file backend — emails are written to {}, not sent (email.backend)",
                config.mail_dir().display()
            ),
            EmailBackend::Console => {
                "console backend — emails are printed to the log, not sent (email.backend)"
                    .to_string()
            }
        },
    ));
    if config.server.public_url.is_none() {
        lines.push((
            "public url",
            format!(
                "not set — links in emails use {} (server.public_url)",
                config.public_url()
            ),
        ));
    }
    lines.push((
        "backups",
        match &config.backup.schedule {
            None => "not scheduled (backup.schedule)".to_string(),
            Some(schedule) => format!(
                "{} {} into {}, keeping {}",
                schedule.trim(),
                config.ui.display_timezone,
                config.backup_dir().display(),
                config.backup.keep
            ),
        },
    ));
    lines.push((
        "metrics",
        if config.metrics.enabled {
            "/metrics".to_string()
        } else {
            "off (metrics.enabled)".to_string()
        },
    ));
    if config.server.debug {
        lines.push((
            "debug",
            "the /api/debug routes are on (loopback only)".into(),
        ));
    }
    lines
}

fn log_startup(config: &Config, log_format: LogFormat) {
    let url = config.public_url();
    let version = env!("CARGO_PKG_VERSION");
    let summary = startup_summary(config);
    match log_format {
        LogFormat::Json => {
            let get = |name: &str| {
                summary
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("")
            };
            tracing::info!(
                url = %url,
                version,
                data_dir = get("data dir"),
                database = get("database"),
                storage = get("storage"),
                mail = get("mail"),
                public_url = get("public url"),
                backups = get("backups"),
                metrics = get("metrics"),
                debug = get("debug"),
                "Afisha listening on {url}/"
            );
        }
        LogFormat::Text => {
            let width = summary.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
            let mut block = format!("Afisha {version} listening on {url}/");
            for (name, value) in &summary {
                block.push_str(&format!("\n  {:<width$} {value}", format!("{name}:")));
            }
            tracing::info!("{block}");
        }
    }
}

pub fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Serve(args) => {
            let config = Config::load(&overrides(&cli, Some(args)))?;
            init_logging(cli.log_format);
            serve(config, cli.log_format)
        }
        Command::Demo(args) => {
            let mut o = overrides(&cli, Some(args));
            if o.data_dir.is_none() {
                let dir = std::env::temp_dir()
                    .join(format!("afisha-demo-{}", uuid::Uuid::new_v4().simple()));
                o.data_dir = Some(dir);
            }
            let mut config = Config::load(&o)?;
            config.email.backend = EmailBackend::File;
            init_logging(cli.log_format);
            demo(config, cli.log_format)
        }
        Command::Openapi => {
            let config = Config::load(&overrides(&cli, None))?;
            let (_, doc) = crate::http::api(&config);
            println!("{}", doc.to_pretty_json().map_err(anyhow::Error::from)?);
            Ok(())
        }
        Command::Migrate => {
            let config = Config::load(&overrides(&cli, None))?;
            crate::store::Store::open(&config)?;
            println!("database {} is up to date", database_name(&config));
            Ok(())
        }
        Command::User(cmd) => {
            let config = Config::load(&overrides(&cli, None))?;
            user_command(&config, cmd)
        }
        Command::Backup { file } => {
            let config = Config::load(&overrides(&cli, None))?;
            refuse_on_postgres(&config)?;
            let bytes = crate::store::sqlite::backup_file::backup(&config.database_path(), file)?;
            println!(
                "backed up {} to {} ({bytes} bytes, integrity ok)",
                config.database_path().display(),
                file.display()
            );
            if config.storage.backend == StorageBackend::Fs {
                println!(
                    "images are not in the database: copy {} as well (e.g. rsync -a)",
                    config.media_root().display()
                );
            }
            Ok(())
        }
        Command::Restore { file, force } => {
            let config = Config::load(&overrides(&cli, None))?;
            refuse_on_postgres(&config)?;
            crate::store::sqlite::backup_file::restore(
                file,
                &config.data_dir,
                &config.database_path(),
                *force,
            )?;
            println!(
                "restored {} into {}",
                file.display(),
                config.database_path().display()
            );
            if config.storage.backend == StorageBackend::Fs {
                println!(
                    "restore the images too: copy your media backup into {}",
                    config.media_root().display()
                );
            }
            Ok(())
        }
        Command::Storage(StorageCommand::Copy) => {
            let config = Config::load(&overrides(&cli, None))?;
            if config.storage.s3.bucket.is_none() {
                return Err(Failure::usage(
                    "storage copy: set the target bucket first (storage.s3.bucket)",
                ));
            }
            runtime()?.block_on(async {
                let from = crate::storage::Storage::open_fs(&config)
                    .await
                    .map_err(Failure::runtime)?;
                let to = crate::storage::Storage::open_s3(&config)
                    .await
                    .map_err(Failure::runtime)?;
                let report = from.copy_to(&to).await.map_err(Failure::runtime)?;
                println!(
                    "{} images in {}: {} copied ({} bytes), {} already in the bucket; all {} checked",
                    report.images,
                    config.media_root().display(),
                    report.copied,
                    report.bytes,
                    report.images - report.copied,
                    report.images,
                );
                println!(
                    "next: stop the server, run `afisha storage copy` again for images uploaded meanwhile, \
                     set storage.backend = \"s3\" (AFISHA_STORAGE__BACKEND=s3) and start it; \
                     keep {} until you have checked the site",
                    config.media_root().display()
                );
                Ok(())
            })
        }
        Command::Email(EmailCommand::Test { to }) => {
            let config = Config::load(&overrides(&cli, None))?;
            let to = to.trim();
            if let Err(why) = crate::http::extract::validate_email(to) {
                return Err(Failure::usage(format!(
                    "email test: --to is not a valid email address: {why}"
                )));
            }
            let outcome = runtime()?.block_on(crate::service::mail::send_test(&config, to));
            match outcome.error {
                None => {
                    println!(
                        "test message to {to} accepted by the {} backend",
                        outcome.backend
                    );
                    Ok(())
                }
                Some(error) => Err(Failure::runtime(format!(
                    "test message to {to} not sent ({} backend): {error}",
                    outcome.backend
                ))),
            }
        }
        Command::Jobs(cmd) => {
            let config = Config::load(&overrides(&cli, None))?;
            Ok(crate::jobs::cli::run(&config, cmd)?)
        }
        Command::Db(DbCommand::Copy { to }) => {
            let config = Config::load(&overrides(&cli, None))?;
            db_copy(&config, to.trim())
        }
    }
}

/// `afisha db copy --to URL`: refuses (one line, nothing written) a target
/// that is not a PostgreSQL URL, a data dir a server is using, a missing
/// SQLite file and a target with rows; otherwise copies and prints the
/// counts and what to do next.
fn db_copy(config: &Config, to: &str) -> Result<(), Failure> {
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err(Failure::usage(
            "db copy: --to must be the target PostgreSQL database as a postgres://… URL",
        ));
    }
    let source = config.database_path();
    if !source.exists() {
        return Err(Failure::runtime(format!(
            "db copy: no SQLite database at {} (is --data-dir right?)",
            source.display()
        )));
    }
    // Held until the copy is done: no server starts on the data dir meanwhile.
    let _lock = crate::store::sqlite::backup_file::DataDirLock::acquire(&config.data_dir)
        .map_err(|e| Failure::runtime(format!("db copy: {e}; stop the server first")))?;
    let target = redacted(to);
    let report = crate::store::copy::sqlite_to_postgres(&source, to)
        .map_err(|e| Failure::runtime(format!("db copy: {e:#}; nothing was copied")))?;
    println!(
        "Copied {} into {target} (schema version {}) in one transaction; row counts match:",
        source.display(),
        report.schema_version
    );
    let width = report
        .tables
        .iter()
        .map(|t| t.table.len())
        .max()
        .unwrap_or(0)
        .max("TABLE".len());
    println!("  {:<width$}  {:>10}", "TABLE", "ROWS");
    for t in &report.tables {
        println!("  {:<width$}  {:>10}", t.table, t.rows);
    }
    let total: u64 = report.tables.iter().map(|t| t.rows).sum();
    println!("  {:<width$}  {:>10}", "total", total);
    println!(
        "  ({} id sequences restart after the highest copied id)",
        report.sequences
    );
    for (n, step) in db_copy_next_steps(config, &target).iter().enumerate() {
        if n == 0 {
            println!("Next steps:");
        }
        println!("  {}. {step}", n + 1);
    }
    Ok(())
}

/// What to do after `db copy`, in order.
fn db_copy_next_steps(config: &Config, target: &str) -> Vec<String> {
    let password = if target.contains(":***@") {
        " (with the real password)"
    } else {
        ""
    };
    let mut steps = vec![format!(
        "Point Afisha at PostgreSQL: database.url = \"{target}\"{password} in afisha.toml, \
         or AFISHA_DATABASE__URL, or --database-url; on every instance."
    )];
    steps.push(format!(
        "Keep {}: it stays in the data dir and is still needed (sessions and the sealed \
         codes of queued emails are checked with it); every instance needs the same file.",
        config.data_dir.join("secret.key").display()
    ));
    steps.push(match config.storage.backend {
        StorageBackend::Fs => format!(
            "Images stay in {} (storage.backend = \"fs\"): fine for one instance; for several, \
             move them to S3 with `afisha storage copy` and set storage.backend = \"s3\".",
            config.media_root().display()
        ),
        StorageBackend::S3 => {
            "Images are already in S3 (storage.backend = \"s3\"): nothing to move.".into()
        }
    });
    if config.backup.schedule.is_some() {
        steps.push(
            "Clear backup.schedule (scheduled backups copy the SQLite file) and back up \
             PostgreSQL with pg_dump or your provider's backups."
                .into(),
        );
    }
    steps.push(format!(
        "Start the server: afisha serve --database-url {target} (or with database.url set)."
    ));
    steps.push(format!(
        "Keep {} until the site checks out: starting without database.url goes back to it \
         (writes made on PostgreSQL meanwhile stay there).",
        config.database_path().display()
    ));
    steps
}

/// The database as a person would name it: the SQLite file, or the
/// PostgreSQL URL without its password.
fn database_name(config: &Config) -> String {
    match config.postgres_url() {
        None => config.database_path().display().to_string(),
        Some(url) => redacted(url),
    }
}

/// A PostgreSQL URL with its password (if any) replaced by `***`.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "PostgreSQL (database.url)".into(),
    }
}

/// `backup` and `restore` work on the SQLite file only.
fn refuse_on_postgres(config: &Config) -> Result<(), Failure> {
    match config.postgres_url() {
        Some(_) => Err(Failure::runtime(crate::store::USE_PG_DUMP)),
        None => Ok(()),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // SQLite and Argon2 run here; more threads than this only add
        // memory, since the database pool and the hashing semaphore are
        // the real limits.
        .max_blocking_threads(32)
        .build()
        .map_err(Failure::runtime)
}

fn serve(config: Config, log_format: LogFormat) -> Result<(), Failure> {
    let addr = config.bind_addr()?;
    let _lock = crate::store::sqlite::backup_file::DataDirLock::acquire(&config.data_dir)?;
    runtime()?.block_on(async move {
        let state = crate::app::build(config, Arc::new(SystemClock)).await?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Failure::runtime(format!("cannot listen on {addr}: {e}")))?;
        let shutdown = CancellationToken::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            crate::app::shutdown_signal().await;
            tracing::info!("shutting down");
            trigger.cancel();
        });
        // First run: the one-time link that creates the first administrator.
        let link = crate::service::setup::prepare(&state.svc)
            .await
            .map_err(anyhow::Error::from)?;
        if let Some(link) = link {
            match log_format {
                LogFormat::Json => {
                    tracing::info!(setup_url = %link, "no administrator yet: open the setup link")
                }
                LogFormat::Text => eprintln!(
                    "No administrator yet. Open this one-time link to create the first one:\n  {link}"
                ),
            }
        }
        log_startup(&state.config, log_format);
        // Checked in the background: an SMTP server that does not answer
        // delays nothing; mail waits in the outbox.
        let config = state.config.clone();
        tokio::spawn(async move {
            if let Some(warning) = crate::service::mail::startup_check(&config).await {
                tracing::warn!("{warning}");
            }
        });
        crate::app::serve(state, listener, shutdown).await?;
        Ok(())
    })
}

fn demo(config: Config, log_format: LogFormat) -> Result<(), Failure> {
    let runtime = runtime()?;
    let seeded = runtime.block_on(async {
        let state = crate::app::build(config.clone(), Arc::new(SystemClock)).await?;
        let seeded = crate::demo::seed(&state).await?;
        anyhow::Ok(seeded)
    })?;
    drop(runtime);
    println!(
        "Demo data dir: {} ({})\nSign in with:\n{}Emails are written to {}",
        config.data_dir.display(),
        if seeded {
            "freshly seeded"
        } else {
            "already had data; not seeded again"
        },
        crate::demo::credentials(),
        config.mail_dir().display()
    );
    serve(config, log_format)
}

fn read_password() -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(Failure::runtime)?;
        let again = rpassword::prompt_password("Repeat password: ").map_err(Failure::runtime)?;
        if first != again {
            return Err(Failure::usage("the passwords do not match"));
        }
        Ok(first)
    } else {
        Err(Failure::usage(
            "standard input is not a terminal: pass --password-stdin and write the password to standard input",
        ))
    }
}

/// The services over a data dir, for commands that run without the server
/// (no scheduler), on `runtime`.
fn services(
    runtime: &tokio::runtime::Runtime,
    config: &Config,
) -> anyhow::Result<crate::service::Services> {
    let clock: crate::clock::SharedClock = Arc::new(SystemClock);
    runtime.block_on(crate::service::Services::open(
        Arc::new(config.clone()),
        clock,
    ))
}

fn user_command(config: &Config, cmd: &UserCommand) -> Result<(), Failure> {
    match cmd {
        UserCommand::Create {
            email,
            name,
            admin,
            password_stdin,
        } => {
            let password = if *password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(Failure::runtime)?;
                line.trim_end_matches(['\r', '\n']).to_string()
            } else {
                read_password()?
            };
            let mut email = email.clone();
            let mut name = name.clone();
            let mut checks = crate::http::extract::Checks::new("body", config);
            checks.email("email", &mut email);
            checks.text("full_name", &mut name, 1, 200);
            checks.password("password", &password);
            if let Err(crate::http::error::AppError::Domain(
                crate::domain::error::DomainError::Invalid(errors),
            )) = checks.into_result()
            {
                let lines: Vec<String> = errors
                    .iter()
                    .map(|e| {
                        let field = e.loc.last().and_then(|v| v.as_str()).unwrap_or("input");
                        format!("{field}: {}", e.msg)
                    })
                    .collect();
                return Err(Failure::usage(lines.join("; ")));
            }
            let role = if *admin {
                Role::Administrator
            } else {
                Role::User
            };
            let runtime = runtime()?;
            let svc = services(&runtime, config)?;
            let user = runtime
                .block_on(crate::service::accounts::create_user(
                    &svc, email, name, password, role,
                ))
                .map_err(anyhow::Error::from)?;
            println!(
                "created user {} <{}> with role {}",
                user.id,
                user.email,
                user.role.as_str()
            );
            Ok(())
        }
        UserCommand::SetRole { email, role } => {
            let role = match role {
                RoleArg::Administrator => Role::Administrator,
                RoleArg::User => Role::User,
            };
            let runtime = runtime()?;
            let svc = services(&runtime, config)?;
            let user = runtime
                .block_on(crate::service::users::set_role(
                    &svc,
                    &crate::domain::audit::Actor::tool("cli"),
                    email,
                    role,
                ))
                .map_err(AppError::from)?;
            println!("{} is now {}", user.email, role.as_str());
            Ok(())
        }
        UserCommand::List => {
            let runtime = runtime()?;
            let svc = services(&runtime, config)?;
            let list = runtime
                .block_on(crate::service::users::list_users(
                    &svc,
                    UserFilter::default(),
                ))
                .map_err(AppError::from)?;
            println!(
                "{:>6}  {:<14} {:<8} {:<32} NAME",
                "ID", "ROLE", "STATUS", "EMAIL"
            );
            for u in list {
                let status = match u.status() {
                    UserStatus::Active => "ACTIVE",
                    UserStatus::Deleted => "DELETED",
                };
                println!(
                    "{:>6}  {:<14} {:<8} {:<32} {}",
                    u.id,
                    u.role.as_str(),
                    status,
                    u.email,
                    u.full_name
                );
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod log_tests {
    use super::log_filter;

    /// The directives of a filter, sorted.
    fn directives(given: Option<&str>) -> Vec<String> {
        let mut d: Vec<String> = log_filter(given)
            .to_string()
            .split(',')
            .map(String::from)
            .collect();
        d.sort();
        d
    }

    #[test]
    fn afisha_log_keeps_info_unless_it_names_a_level() {
        assert_eq!(directives(None), ["info", "tokio_postgres=info"]);
        assert_eq!(
            directives(Some("afisha::access=off")),
            ["afisha::access=off", "info", "tokio_postgres=info"]
        );
        assert_eq!(directives(Some("warn")), ["tokio_postgres=info", "warn"]);
        assert_eq!(
            directives(Some("not a = filter")),
            ["info", "tokio_postgres=info"]
        );
    }

    #[test]
    fn the_database_driver_never_logs_statement_parameters() {
        assert_eq!(directives(Some("debug")), ["debug", "tokio_postgres=info"]);
        assert_eq!(
            directives(Some("trace,tokio_postgres=trace")),
            ["tokio_postgres=info", "trace"]
        );
    }
}
