//! Shared helpers for the cross-crate and end-to-end tests in this directory.
