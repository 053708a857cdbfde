//! Settings of `spconnect serve` beyond where it listens and what it is called: how it is
//! observed and how it stops.

/// Operations settings of `serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct OperationArgs {
    /// Serve /metrics on this address (plain HTTP) instead of the main listener. Without it,
    /// the main listener answers /metrics to loopback clients only (see docs/operations.md).
    #[arg(long, env = "SPCONNECT_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Seconds requests in flight may take to finish after SIGTERM or SIGINT.
    #[arg(long, env = "SPCONNECT_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
}
