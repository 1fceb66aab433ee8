//! Use cases of the accounts area.
