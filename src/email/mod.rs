//! Email: message rendering and delivery backends.

pub mod templates;
