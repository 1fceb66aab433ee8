//! Use cases of the events area.
