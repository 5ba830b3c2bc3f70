//! joule node

pub mod job;
