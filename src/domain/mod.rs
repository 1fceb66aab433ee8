//! The domain: types and rules of the product, no I/O and no HTTP.
//!
//! Everything here is plain data and pure functions: an [`event::Event`]
//! and the rules its changes keep, roles and statuses as enums, the
//! notices people receive, and the [`error::DomainError`] every service
//! returns.

pub mod account;
pub mod audit;
pub mod backup;
pub mod calendar;
pub mod category;
pub mod error;
pub mod error_code;
pub mod event;
pub mod limits;
pub mod notice;
pub mod organiser;
pub mod preferences;
pub mod series;
pub mod statistics;
pub mod time;
pub mod user;
pub mod webhook;
