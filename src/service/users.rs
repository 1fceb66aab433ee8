//! Use cases of the users area.
