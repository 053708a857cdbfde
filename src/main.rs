use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    limit_retained_heap();
    let cli = spconnect::cli::Cli::parse();
    init_logging();
    match spconnect::cli::run(cli).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Log to standard error: `SPCONNECT_LOG` filters (default `info,sqlx=warn`);
/// `SPCONNECT_LOG_FORMAT=json` writes one JSON object per line (fields at the top level, the
/// spans around the event, among them `request` with its `request_id`, under `spans`), anything else the text format.
fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SPCONNECT_LOG").unwrap_or_else(|_| "info,sqlx=warn".into());
    let json = std::env::var("SPCONNECT_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        // JSON escapes every control character itself; call sites still clip attacker text.
        builder.json().flatten_event(true).with_current_span(false).with_span_list(true).init();
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            // Every field and message is escaped and bounded, whatever the call site did.
            .fmt_fields(spconnect::logsafe::escaping_fields())
            .init();
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
