//! parley's Matrix adapter: translates Matrix events to `chat::Inbound` and `chat::Delivery` to Matrix calls.
