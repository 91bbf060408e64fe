//! The KV app.
