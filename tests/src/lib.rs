//! Shared helpers for plait's test suite.
