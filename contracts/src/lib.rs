//! placeholder crate root; see the README architecture section.
