//! Afisha: a self-hosted corporate event board in one binary.
//!
//! Layers, arrows pointing one way: `http` → `service` → `store` →
//! `domain`. See README "Architecture".

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod deadline;
pub mod demo;
pub mod directory;
pub mod domain;
pub mod email;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod oidc;
pub mod outbound;
pub mod routes;
pub mod secrets;
pub mod service;
pub mod state;
pub mod storage;
pub mod store;
pub mod webhook_sender;
