//! Afisha: a self-hosted corporate event board in one binary.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod email;
pub mod error;
pub mod events;
pub mod http;
pub mod jobs;
pub mod notify;
pub mod routes;
pub mod state;
pub mod time;
pub mod users;
