//! SQLite queries of the accounts area.

use super::SqliteTx;
use crate::store::AccountStore;

impl AccountStore for SqliteTx<'_> {}
