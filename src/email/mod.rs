//! Email: message texts (embedded templates) and delivery backends.

pub mod mailer;
pub mod templates;
