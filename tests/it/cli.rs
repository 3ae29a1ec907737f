//! The `msp-portal` binary itself.

use std::process::Command;

#[test]
fn an_unreachable_database_ends_the_process_with_one_clear_sentence() {
    let stderr = crate::common::refused_start(
        Command::new(env!("CARGO_BIN_EXE_msp-portal"))
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/msp_portal")
            .env("BIND", "127.0.0.1:0")
            .env_remove("APP_DATABASE_URL"),
    );
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
fn a_repeat_longer_than_a_time_span_is_refused_before_the_database_is_reached() {
    let stderr = crate::common::refused_start(
        Command::new(env!("CARGO_BIN_EXE_msp-portal"))
            .args(["recompute", "--repeat-for", "18446744073709551615"])
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/msp_portal"),
    );
    assert!(stderr.contains("--repeat-for 18446744073709551615"), "{stderr}");
    assert!(!stderr.contains("cannot reach PostgreSQL"), "refused first: {stderr}");
}

#[test]
fn a_malformed_database_url_is_named_as_such() {
    let stderr = crate::common::refused_start(
        Command::new(env!("CARGO_BIN_EXE_msp-portal"))
            .arg("migrate")
            .env("DATABASE_URL", "mysql://nope"),
    );
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

/// SIGTERM while a request is still arriving: the server stops taking connections but answers
/// that request in full, then exits cleanly.
#[test]
fn a_terminated_server_finishes_the_request_in_flight() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    let name = format!("msp_test_{}", uuid::Uuid::new_v4().simple());
    let url = crate::common::database_url(&name);
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_msp-portal"))
        .env("DATABASE_URL", &url)
        .env_remove("APP_DATABASE_URL")
        .env("BIND", &address)
        .env("SEED_DEMO", "false")
        .env("ENGINE_TICK_SECONDS", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server starts");
    let started = Instant::now();
    let up = loop {
        if let Ok(mut probe) = TcpStream::connect(&address) {
            let _ = probe.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut answer = String::new();
            let _ = probe.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                break true;
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(up, "the server answers /healthz");

    // Half a login form (its CSRF token matches the cookie, so the body is read rather than the
    // request refused on its head): the server is waiting for the rest of the body. `Expect: 100-continue`
    // makes the server say so: hyper sends "100 Continue" only once something reads the body.
    // Waiting for it, not for a fixed while, is what makes the signal land mid-request: on a
    // loaded machine the connection could still sit in the listen backlog, unaccepted, and be
    // reset with the listener.
    let body = "username=someone&password=wrong&next=&csrf_token=x";
    let mut slow = TcpStream::connect(&address).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    write!(
        slow,
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nCookie: msp_login_csrf=x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len(),
    )
    .expect("the head");
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        slow.read_exact(&mut byte).expect("the interim answer");
        interim.push(byte[0]);
    }
    assert!(
        interim.starts_with(b"HTTP/1.1 100"),
        "the handler waits for the body: {:?}",
        String::from_utf8_lossy(&interim)
    );
    slow.write_all(&body.as_bytes()[..10]).expect("first half");
    std::thread::sleep(Duration::from_millis(100));
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let stopping = Instant::now();
    let refused = loop {
        if TcpStream::connect(&address).is_err() || server.try_wait().ok().flatten().is_some() {
            break true;
        }
        if stopping.elapsed() > Duration::from_secs(20) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(refused, "no new connections once stopping");
    slow.write_all(&body.as_bytes()[10..]).expect("second half");
    let mut answer = String::new();
    slow.read_to_string(&mut answer).expect("the answer arrives");
    // The login handler's own answer to a wrong password: the request went all the way through.
    assert!(answer.starts_with("HTTP/1.1 401"), "a whole HTTP answer: {answer:?}");
    let status = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = server.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    crate::common::drop_database(&name);
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "a clean exit after the last answer"
    );
}

/// `recompute --repeat-for` ticks back to back in one process (the benchmark's engine beside its
/// page loads) and says how many ticks ran; each ran every step.
#[tokio::test]
async fn recompute_repeats_ticks_for_the_seconds_given() {
    let app = crate::common::TestApp::demo().await;
    let url = crate::common::database_url(&app.name);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_msp-portal"))
            .args(["recompute", "--repeat-for", "1", "--at", crate::common::FIXED_NOW])
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "error")
            .output()
    })
    .await
    .expect("the task ends")
    .expect("recompute runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ticks: u64 = stdout
        .strip_suffix(" ticks in 1 s\n")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output: {stdout:?}"));
    assert!(ticks >= 1, "{ticks} ticks in a second on the demo");
    let ran: i64 =
        sqlx::query_scalar("SELECT count(*) FROM engine_steps WHERE last_success_at = $1 AND last_error = ''")
            .bind(crate::common::fixed_now())
            .fetch_one(&app.db)
            .await
            .expect("steps");
    assert!(ran >= 10, "every step succeeded at the instant given: {ran}");
}
