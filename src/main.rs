use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use spconnect::cli::settings::{self, LogFormat};

#[tokio::main]
async fn main() -> ExitCode {
    limit_retained_heap();
    let matches = spconnect::cli::Cli::command().get_matches();
    let cli = spconnect::cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // `serve` reads its configuration file before anything is logged: it may set the log format.
    let serve = match settings::resolve(&cli, &matches) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    match &serve {
        Some(s) => init_logging(s.log_format, &s.log_filter),
        None => {
            let json = std::env::var("SPCONNECT_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
            let filter = std::env::var("SPCONNECT_LOG").unwrap_or_else(|_| settings::DEFAULT_LOG_FILTER.into());
            init_logging(if json { LogFormat::Json } else { LogFormat::Text }, &filter);
        }
    }
    match spconnect::cli::run(cli, serve).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Log to standard error. JSON: one object per line, the event's fields at the top level and the
/// spans around it (among them `request`, with its `request_id`) under `spans`. Text: every field
/// and message escaped and clipped. A filter that does not parse falls back to the default.
fn init_logging(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|e| {
        eprintln!("warning: log filter {filter:?} ignored ({e}); using {}", settings::DEFAULT_LOG_FILTER);
        settings::DEFAULT_LOG_FILTER.into()
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        // JSON escapes every control character itself; call sites still clip attacker text.
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).with_span_list(true).init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            // Every field and message is escaped and bounded, whatever the call site did.
            .fmt_fields(spconnect::logsafe::escaping_fields())
            .init(),
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
