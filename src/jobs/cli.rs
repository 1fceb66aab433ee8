//! `afisha jobs list [--failed]` and `afisha jobs retry <ID> | --all-failed`.
//!
//! They call `service::jobs` on the data dir, also while the server runs; a
//! running scheduler picks retried jobs up at its next wake (within a
//! minute). A revived job whose secret was dropped when it failed fails
//! again with a clear error instead of sending an empty code or link.

use clap::{ArgGroup, Subcommand};

use crate::config::Config;
use crate::service::jobs::{self, JobState};

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List {
        /// Only failed jobs (those `retry` can revive).
        #[arg(long)]
        failed: bool,
        /// Show at most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Put failed jobs back in the queue; their attempts start again.
    #[command(group(ArgGroup::new("which").required(true).args(["id", "all_failed"])))]
    Retry {
        /// The job's id (see `afisha jobs list --failed`).
        id: Option<i64>,
        /// Every failed job.
        #[arg(long)]
        all_failed: bool,
    },
}

pub fn run(config: &Config, cmd: &JobsCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let clock: crate::clock::SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
    let svc = runtime.block_on(crate::service::Services::open(
        std::sync::Arc::new(config.clone()),
        clock,
    ))?;
    match cmd {
        JobsCommand::List { failed, limit } => {
            let rows = jobs::list_blocking(&svc, *failed, *limit)?;
            if rows.is_empty() {
                println!("no {}jobs", if *failed { "failed " } else { "" });
                return Ok(());
            }
            println!(
                "{:>8}  {:<6} {:<8} {:>8}  {:<27} WHAT",
                "ID", "KIND", "STATE", "ATTEMPTS", "RUN AT / FINISHED"
            );
            for job in rows {
                println!(
                    "{:>8}  {:<6} {:<8} {:>8}  {:<27} {}",
                    job.id,
                    job.kind,
                    job.state.as_str(),
                    format!("{}/{}", job.attempts, job.max_attempts),
                    job.finished_at.unwrap_or(job.run_at).to_string(),
                    job.summary
                );
                if let Some(error) = job.last_error.filter(|_| job.state != JobState::Done) {
                    println!("{:>8}  last error: {error}", "");
                }
            }
            Ok(())
        }
        JobsCommand::Retry { id: Some(id), .. } => {
            let id = *id;
            jobs::retry_blocking(&svc, id)?;
            println!("job {id} is queued again");
            Ok(())
        }
        JobsCommand::Retry { id: None, .. } => {
            let n = jobs::retry_all_failed_blocking(&svc)?;
            println!("{n} failed job(s) queued again");
            Ok(())
        }
    }
}
