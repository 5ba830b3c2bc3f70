//! Integration tests of joule-ledger (one binary, see STYLE.md).

mod crash;
