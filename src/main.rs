use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    limit_retained_heap();
    let cli = spconnect::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SPCONNECT_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // Every field and message is escaped and bounded, whatever the call site did.
        .fmt_fields(spconnect::logsafe::escaping_fields())
        .init();
    match spconnect::cli::run(cli).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// glibc raises its mmap threshold after large blocks are freed, so the ~19 MiB argon2id buffers
/// of admin sign-ins end up kept in per-thread arenas (one per blocking thread: 100+ MB after a
/// sign-in flood). A fixed threshold keeps blocks of 1 MiB and more on mmap, returned when freed.
fn limit_retained_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes process-wide allocator tuning (it takes the arena lock itself).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
