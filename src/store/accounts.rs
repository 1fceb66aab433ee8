//! Queries of the accounts area.

/// The accounts queries a transaction offers (implemented per backend).
pub trait AccountStore {}
