//! joule node
