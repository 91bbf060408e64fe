//! Lessons: the shipped chapter checks step by step; a step whose expectation does not hold,
//! or whose `fails` command succeeds, fails the check with the lesson file's line; a
//! malformed lesson is an error naming the file and line, before anything runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use otpscope::lesson::{Lesson, check};

fn otpscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otpscope"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// A lesson file in a scratch directory, removed at the end of the test.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str, text: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("otpscope-lesson-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lesson.toml"), text).unwrap();
        Self(dir)
    }

    fn file(&self) -> String {
        self.0.join("lesson.toml").display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chapter_lesson_checks_every_step() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/lessons/dynamic-supervisors.toml");
    let lesson = Lesson::load(&path).unwrap();
    let mut out = Vec::new();
    let outcomes = check::check(&lesson, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "== lesson: Dynamic supervisors (7 steps)\n\
         [ok] 1. Linked buckets: a bucket crash takes the registry down: 4 expectations held\n\
         [ok] 2. Linked buckets: the failing test \"removes bucket on crash\": 3 expectations held\n\
         [ok] 3. Permanent buckets: a leak: 5 expectations held\n\
         [ok] 4. Temporary buckets and the ordering flaw: 4 expectations held\n\
         [ok] 5. one_for_one: the registry dies, the buckets are orphans: 4 expectations held\n\
         [ok] 6. The final design: one_for_all, the bucket supervisor first: 4 expectations held\n\
         [ok] 7. The final design: the registry dies and takes its buckets along: 6 expectations held\n\
         == 7 steps: 7 passed, 0 failed\n"
    );
    assert!(outcomes.iter().all(|outcome| outcome.is_passed()));
}

const WRONG: &str = r#"title = "Wrong"

[[steps]]
title = "The final design, misread"
stage = "final"
setup = "create shopping"
action = "Kill the registry"
run = """
kill KV.Registry
fails create pantry
settle
"""
expect = """
restarted KV.Registry 1
lookup shopping some
"""

[[steps]]
title = "Still on the same node"
expect = "restarted KV.Registry 1"
"#;

#[test]
fn a_failed_step_names_its_lines_and_the_check_exits_1() {
    let scratch = Scratch::new("wrong", WRONG);
    let output = otpscope(&["lesson", &scratch.file(), "--check"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "== lesson: Wrong (2 steps)\n\
         [FAILED] 1. The final design, misread\n\
         \x20 line 10: `create pantry` was expected to fail, and succeeded\n\
         \x20 line 15: `expect lookup shopping some`: expected lookup shopping some, found none\n\
         [ok] 2. Still on the same node: 1 expectation held\n\
         == 2 steps: 1 passed, 1 failed\n"
    );
}

#[test]
fn a_malformed_lesson_is_an_error_with_its_file_and_line() {
    let broken = WRONG.replace("lookup shopping some", "lookup shopping maybe");
    let scratch = Scratch::new("broken", &broken);
    let output = otpscope(&["lesson", &scratch.file(), "--check"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: {}, line 15: expected `none` or `some`, found `maybe`\n",
            scratch.file()
        )
    );
    assert!(output.stdout.is_empty());
}
