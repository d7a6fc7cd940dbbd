//! parley core
