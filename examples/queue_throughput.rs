//! Job queue throughput: enqueue email jobs (default 10 000) in ONE
//! transaction through the outbox, then let the scheduler deliver them all
//! with the `file` backend into a temporary directory, and print the rates.
//!
//! `cargo run --release --example queue_throughput [JOBS] [CONCURRENCY] [BACKEND]`
//!
//! BACKEND is `file` (the default) or `console` (no subscriber is installed,
//! so it measures the queue without the file system).

use std::sync::Arc;
use std::time::{Duration, Instant};

use afisha::clock::SystemClock;
use afisha::config::{Config, EmailBackend};
use afisha::domain::notice::{Notice, To};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let jobs: i64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    if let Some(concurrency) = args.next() {
        config.jobs.concurrency = concurrency.parse()?;
    }
    config.email.backend = match args.next() {
        Some(name) => name.parse().map_err(anyhow::Error::msg)?,
        None => EmailBackend::File,
    };
    config.validate()?;
    let backend = config.email.backend;
    let concurrency = config.jobs.concurrency;
    let state = afisha::app::build(config, Arc::new(SystemClock)).await?;

    let started = Instant::now();
    let svc = state.svc.clone();
    state
        .svc
        .store
        .write(move |tx| {
            let to: Vec<To> = (0..jobs)
                .map(|i| To::Address {
                    email: format!("user{i}@example.com"),
                    name: format!("Пользователь {i}"),
                })
                .collect();
            afisha::service::outbox::notify(&svc, tx, &Notice::RegWelcome, &to)
        })
        .await?;
    let enqueued = started.elapsed();
    println!(
        "enqueued {jobs} email jobs (typed; rendered at delivery) in one transaction: {:.2?} ({:.0} jobs/s)",
        enqueued,
        jobs as f64 / enqueued.as_secs_f64()
    );

    let started = Instant::now();
    let shutdown = CancellationToken::new();
    let scheduler =
        afisha::jobs::scheduler::start(&state.svc, state.render.clone(), shutdown.clone());
    loop {
        let done: i64 = state
            .svc
            .store
            .sqlite()
            .expect("a SQLite store")
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM job WHERE done_at IS NOT NULL",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await?;
        if done == jobs {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {done} of {jobs} delivered after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = started.elapsed();
    shutdown.cancel();
    scheduler.await?;
    if backend == EmailBackend::File {
        let files = std::fs::read_dir(state.config.mail_dir())?
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
            .count();
        anyhow::ensure!(files as i64 == jobs, "{files} .eml files for {jobs} jobs");
    }
    println!(
        "delivered {jobs} jobs ({backend} backend, concurrency {concurrency}) in {:.2?}: {:.0} jobs/s",
        delivered,
        jobs as f64 / delivered.as_secs_f64()
    );
    Ok(())
}
