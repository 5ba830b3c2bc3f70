//! Integration tests of `joule-contracts`: one binary (see STYLE.md).

mod chain;
mod common;
mod lifecycle;
mod properties;
mod refusals;
