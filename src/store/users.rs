//! Queries of the users area.

/// The users queries a transaction offers (implemented per backend).
pub trait UserStore {}
