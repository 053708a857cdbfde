//! The layering the code relies on, checked on every run: only `store/` speaks SQL (names sqlx)
//! and only `web/` speaks HTTP (names axum). A new `use sqlx` in a handler or `use axum` in the
//! operations layer fails here, not in review.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of code (comments and string contents aside) that name `krate` as a path.
fn uses(file: &Path, krate: &str) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .map(str::trim_start)
        .filter(|l| !l.starts_with("//"))
        .filter(|l| {
            let code = l.split('"').step_by(2).collect::<String>();
            code.contains(&format!("{krate}::")) || code.contains(&format!("use {krate}"))
        })
        .map(|l| format!("{}: {l}", file.display()))
        .collect()
}

fn offenders(krate: &str, allowed: &str) -> Vec<String> {
    let src = crate::support::repo_root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.iter().filter(|f| !f.strip_prefix(&src).unwrap().starts_with(allowed)).flat_map(|f| uses(f, krate)).collect()
}

#[test]
fn only_the_store_names_sqlx() {
    let found = offenders("sqlx", "store");
    assert!(found.is_empty(), "sqlx outside src/store:\n{}", found.join("\n"));
}

#[test]
fn only_the_web_layer_names_axum() {
    let found = offenders("axum", "web");
    assert!(found.is_empty(), "axum outside src/web:\n{}", found.join("\n"));
}
