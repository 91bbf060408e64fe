//! The CLI across two OS processes: `otpscope serve` in one, `otpscope dump --attach` in
//! another; a wrong cookie and a node that went away are errors that say so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_support;

use std::process::{Command, Output, Stdio};

use serve_support::Service;

fn otpscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otpscope"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("OTPSCOPE_COOKIE")
        .output()
        .expect("the otpscope binary runs")
}

#[test]
fn dump_attach_prints_the_served_tree_and_refuses_a_wrong_cookie() {
    let service = Service::start("serve-dump", &[]);
    let output = otpscope(&[
        "dump",
        "--attach",
        &service.address,
        "--cookie-file",
        service.cookie(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "node otpscope (3 processes)\n\
         KV.Supervisor <0.1.0> supervisor one_for_all (3 in 5s)\n\
         ├─ KV.BucketSupervisor <0.2.0> dynamic_supervisor one_for_one permanent\n\
         └─ KV.Registry <0.3.0> server permanent\n"
    );
    let json = otpscope(&[
        "dump",
        "--json",
        "--attach",
        &service.address,
        "--cookie-file",
        service.cookie(),
    ]);
    let snapshot: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(snapshot["processes"].as_array().unwrap().len(), 3);

    let wrong = service.cookie.with_file_name("wrong");
    std::fs::write(&wrong, "not-the-cookie\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let refused = otpscope(&[
        "dump",
        "--attach",
        &service.address,
        "--cookie-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        format!(
            "error: cannot attach to {}: refused by the node: wrong cookie\n",
            service.address
        )
    );
}

#[test]
fn a_node_that_went_away_is_an_error_naming_it() {
    let mut service = Service::start("serve-gone", &[]);
    service.child.kill().unwrap();
    service.child.wait().unwrap();
    let output = otpscope(&[
        "dump",
        "--attach",
        &service.address,
        "--cookie-file",
        service.cookie(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: cannot attach to {}: connection: ",
            service.address
        )),
        "{stderr}"
    );
}

#[test]
fn serve_writes_a_private_cookie_and_a_missing_client_cookie_is_explained() {
    let service = Service::start("serve-cookie", &["--read-only"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&service.cookie)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let missing = service.cookie.with_file_name("absent");
    let output = otpscope(&[
        "dump",
        "--attach",
        &service.address,
        "--cookie-file",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cookie file"), "{stderr}");
    assert!(stderr.contains("absent"), "{stderr}");
}

#[test]
fn run_attach_kills_the_served_registry_and_sees_it_restarted() {
    let service = Service::start("serve-run", &[]);
    let script = service.cookie.with_file_name("script.txt");
    std::fs::write(
        &script,
        "create shopping\nkill KV.Registry\nsettle\nexpect restarted KV.Registry 1\n\
         expect exited KV.Registry killed\nexpect lookup shopping none\n",
    )
    .unwrap();
    let output = otpscope(&[
        "run",
        "--attach",
        &service.address,
        "--cookie-file",
        service.cookie(),
        script.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let head: Vec<&str> = stdout.lines().take(11).collect();
    assert_eq!(
        head,
        [
            "> create shopping",
            "  * KV.Bucket <0.4.0> spawned by KV.BucketSupervisor <0.2.0>",
            "> kill KV.Registry",
            "  sent kill to <0.3.0>",
            "  * KV.Registry <0.3.0> exited: killed",
            "  * KV.Bucket <0.4.0> exited: shutdown",
            "  * KV.BucketSupervisor <0.2.0> exited: shutdown",
            "  * KV.Supervisor <0.1.0> restarted KV.BucketSupervisor: <0.2.0> -> <0.5.0>",
            "  * KV.Supervisor <0.1.0> restarted KV.Registry: <0.3.0> -> <0.6.0>",
            "> settle",
            "> expect restarted KV.Registry 1",
        ]
    );
    assert!(
        stdout.ends_with("== 6 commands, 3 expectations passed, 0 failed\n"),
        "{stdout}"
    );
}

#[test]
fn run_attach_reports_a_node_that_goes_away_and_fails() {
    let mut service = Service::start("serve-lost", &[]);
    let script = service.cookie.with_file_name("script.txt");
    std::fs::write(&script, "sleep 1500\nexpect alive KV.Registry\n").unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_otpscope"))
        .args([
            "run",
            "--attach",
            &service.address,
            "--cookie-file",
            service.cookie(),
        ])
        .arg(&script)
        .env_remove("OTPSCOPE_COOKIE")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    service.child.kill().unwrap();
    service.child.wait().unwrap();
    let output = run.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("> expect alive KV.Registry\n  FAILED (line 2): the node is gone: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("== 2 commands, 0 expectations passed, 1 failed"),
        "{stdout}"
    );
}

#[test]
fn serve_with_tls_is_reached_with_its_certificate_and_only_so() {
    let folder = std::env::temp_dir().join(format!("otpscope-cli-tls-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let (cert, key) = (folder.join("cert.pem"), folder.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let service = Service::start(
        "serve-tls",
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let output = otpscope(&[
        "dump",
        "--attach",
        &service.address,
        "--cookie-file",
        service.cookie(),
        "--tls-ca",
        cert.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("node otpscope (3 processes)\n"));
    let plain = otpscope(&[
        "dump",
        "--attach",
        &service.address,
        "--cookie-file",
        service.cookie(),
    ]);
    assert_eq!(plain.status.code(), Some(2));
    std::fs::remove_dir_all(&folder).ok();
}
