//! The `msp-portal` binary itself.

use std::process::Command;

#[test]
fn an_unreachable_database_ends_the_process_with_one_clear_sentence() {
    let output = Command::new(env!("CARGO_BIN_EXE_msp-portal"))
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/msp_portal")
        .env("BIND", "127.0.0.1:0")
        .env_remove("APP_DATABASE_URL")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot reach PostgreSQL at postgres://postgres@127.0.0.1:1/msp_portal"),
        "{stderr}"
    );
    assert!(stderr.contains("DATABASE_URL"), "says how to change it: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_database_url_is_named_as_such() {
    let output = Command::new(env!("CARGO_BIN_EXE_msp-portal"))
        .arg("migrate")
        .env("DATABASE_URL", "mysql://nope")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_password_in_the_url_is_not_printed() {
    let output = Command::new(env!("CARGO_BIN_EXE_msp-portal"))
        .arg("migrate")
        .env(
            "DATABASE_URL",
            "postgres://someone:hunter2-secret@127.0.0.1:1/msp_portal",
        )
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");
    assert!(stderr.contains("someone:***@"), "{stderr}");
}
