//! What the platform's operators watch: servingd's heartbeats (the SQL of `servingd_heartbeats`).

pub mod heartbeats;
