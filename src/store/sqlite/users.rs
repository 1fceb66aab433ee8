//! SQLite queries of the users area.

use super::SqliteTx;
use crate::store::UserStore;

impl UserStore for SqliteTx<'_> {}
