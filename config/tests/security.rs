//! Session security keys of a member: `password`, `password_file`, `ttl_security`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::{edit, line_of, only_error};

const M2: &str = "    passive: true\n";

fn with_member_lines(lines: &str) -> String {
    edit(M2, &format!("    passive: true\n{lines}"))
}

fn key_file(name: &str, body: &str, mode: u32) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fox-config-sec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

fn m2_neighbors(text: &str) -> Vec<fox_config::Neighbor> {
    let c = fox_config::parse(text, "test.yaml").unwrap_or_else(|e| panic!("{e}"));
    c.neighbors("rs2")
        .into_iter()
        .filter(|n| n.member == "M2")
        .collect()
}

#[test]
fn inline_password_and_gtsm_reach_every_session() {
    let text = with_member_lines("    password: \"s3cret key\"\n    ttl_security: true\n");
    let ns = m2_neighbors(&text);
    assert_eq!(ns.len(), 2);
    let want = fox_config::Password::new("s3cret key").unwrap();
    for n in &ns {
        assert_eq!(n.password.as_ref(), Some(&want));
        assert!(n.ttl_security);
        // The key never shows in debug output (logs).
        assert!(!format!("{n:?}").contains("s3cret"));
    }
    // Defaults: no key, no GTSM.
    let c = fox_config::parse(common::BASE, "test.yaml").unwrap();
    assert!(c
        .neighbors("rs1")
        .iter()
        .all(|n| n.password.is_none() && !n.ttl_security));
}

#[test]
fn password_file_is_read_and_one_newline_dropped() {
    let f = key_file("ok.key", "from-file\n", 0o600);
    let text = with_member_lines(&format!("    password_file: \"{}\"\n", f.display()));
    let ns = m2_neighbors(&text);
    assert_eq!(
        ns[0].password,
        Some(fox_config::Password::new("from-file").unwrap())
    );
}

#[test]
fn password_errors_name_the_line() {
    let f = key_file("open.key", "k\n", 0o644);
    let cases = [
        (
            format!(
                "    password: x  # HERE\n    password_file: \"{}\"  # THERE\n",
                f.display()
            ),
            "# THERE",
            "not both",
        ),
        (
            format!("    password: \"{}\"  # HERE\n", "x".repeat(81)),
            "# HERE",
            "at most 80",
        ),
        (
            format!("    password_file: \"{}\"  # HERE\n", f.display()),
            "# HERE",
            "chmod 600",
        ),
        (
            "    password_file: /nonexistent/fox.key  # HERE\n".to_owned(),
            "# HERE",
            "cannot read",
        ),
        (
            format!(
                "    password_file: \"{}\"  # HERE\n",
                key_file("empty.key", "\n", 0o600).display()
            ),
            "# HERE",
            "is empty",
        ),
        (
            "    ttl_security: yes  # HERE\n".to_owned(),
            "# HERE",
            "true or false",
        ),
    ];
    for (lines, marker, fragment) in cases {
        let text = with_member_lines(&lines);
        only_error(&text, line_of(&text, marker), fragment);
    }
}
