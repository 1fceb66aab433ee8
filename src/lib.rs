//! Afisha: a self-hosted corporate event board in one binary.

pub mod app;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod email;
pub mod error;
pub mod events;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod notify;
pub mod routes;
pub mod snapshot;
pub mod state;
pub mod storage;
pub mod time;
pub mod users;
