//! A member's TCP-AO keys (`tcp_ao:`): decoding, the rules, and errors with their lines.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::{edit, line_of, only_error};
use fox_config::{AoAlgorithm, AoSecret};

const M2: &str = "    passive: true\n";

fn with_member_lines(lines: &str) -> String {
    edit(M2, &format!("    passive: true\n{lines}"))
}

fn key_file(name: &str, body: &str, mode: u32) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fox-config-ao-{}", std::process::id()));
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
fn keys_reach_every_session_of_the_member() {
    let f = key_file("new.key", "next-secret\n", 0o600);
    let text = with_member_lines(&format!(
        "    tcp_ao:\n      current: 2\n      keys:\n\
         \x20       - {{ id: 1, recv_id: 11, algorithm: hmac(sha1), secret: \"old secret\" }}\n\
         \x20       - {{ id: 2, recv_id: 12, algorithm: cmac(aes128), secret_file: \"{}\" }}\n",
        f.display()
    ));
    let ns = m2_neighbors(&text);
    assert_eq!(ns.len(), 2);
    for n in &ns {
        let ao = n.tcp_ao.as_ref().expect("tcp_ao on the neighbour");
        assert!(n.password.is_none());
        assert_eq!(ao.current, 2);
        assert_eq!(ao.keys.len(), 2);
        assert_eq!(
            (ao.keys[0].id, ao.keys[0].recv_id, ao.keys[0].algorithm),
            (1, 11, AoAlgorithm::HmacSha1)
        );
        assert_eq!(ao.keys[0].secret, AoSecret::new("old secret").unwrap());
        assert_eq!(ao.keys[1].secret.as_bytes(), b"next-secret");
        assert_eq!(ao.keys[1].algorithm, AoAlgorithm::CmacAes128);
        assert_eq!(ao.current_key().map(|k| k.recv_id), Some(12));
        // Secrets never show in debug output (logs).
        let dbg = format!("{n:?}");
        assert!(!dbg.contains("old secret") && !dbg.contains("next-secret"));
    }
    // One key: it is the current one without `current`.
    let text = with_member_lines(
        "    tcp_ao: { keys: [ { id: 5, recv_id: 6, algorithm: hmac(sha256), secret: s } ] }\n",
    );
    let ns = m2_neighbors(&text);
    assert_eq!(ns[0].tcp_ao.as_ref().map(|a| a.current), Some(5));
    // Members without it have none.
    let c = fox_config::parse(common::BASE, "test.yaml").unwrap();
    assert!(c.neighbors("rs1").iter().all(|n| n.tcp_ao.is_none()));
}

#[test]
fn tcp_ao_errors_name_the_line() {
    let open = key_file("open.key", "k\n", 0o644);
    let k = |id: u8, recv: u8| {
        format!("{{ id: {id}, recv_id: {recv}, algorithm: hmac(sha1), secret: s }}")
    };
    let cases = [
        (
            format!("    password: x\n    tcp_ao: {{ keys: [{}] }}  # HERE\n", k(1, 1)),
            "not both",
        ),
        (
            format!("    tcp_ao: {{ keys: [{}, {}] }}  # HERE\n", k(1, 1), k(2, 2)),
            "`tcp_ao.current` is required",
        ),
        (
            format!("    tcp_ao: {{ current: 3, keys: [{}] }}  # HERE\n", k(1, 1)),
            "no key has that `id`",
        ),
        (
            format!("    tcp_ao: {{ current: 1, keys: [{}, {}] }}  # HERE\n", k(1, 1), k(1, 2)),
            "two keys with id 1",
        ),
        (
            format!("    tcp_ao: {{ current: 1, keys: [{}, {}] }}  # HERE\n", k(1, 1), k(2, 1)),
            "two keys with recv_id 1",
        ),
        (
            "    tcp_ao: { keys: [] }  # HERE\n".to_owned(),
            "at least one key",
        ),
        (
            "    tcp_ao: { keys: [ { id: 1, recv_id: 1, algorithm: hmac(md5), secret: s } ] }  # HERE\n"
                .to_owned(),
            "not a TCP-AO algorithm",
        ),
        (
            "    tcp_ao: { keys: [ { id: 256, recv_id: 1, algorithm: hmac(sha1), secret: s } ] }  # HERE\n"
                .to_owned(),
            "between 0 and 255",
        ),
        (
            "    tcp_ao: { keys: [ { id: 1, recv_id: 1, algorithm: hmac(sha1) } ] }  # HERE\n"
                .to_owned(),
            "needs `secret` or `secret_file`",
        ),
        (
            format!(
                "    tcp_ao: {{ keys: [ {{ id: 1, recv_id: 1, algorithm: hmac(sha1), secret: \"{}\" }} ] }}  # HERE\n",
                "x".repeat(81)
            ),
            "at most 80",
        ),
        (
            format!(
                "    tcp_ao: {{ keys: [ {{ id: 1, recv_id: 1, algorithm: hmac(sha1), secret_file: \"{}\" }} ] }}  # HERE\n",
                open.display()
            ),
            "chmod 600",
        ),
        (
            "    tcp_ao: { keys: [ { id: 1, recv_id: 1, algorithm: hmac(sha1), secret: s, recv_idd: 2 } ] }  # HERE\n"
                .to_owned(),
            "did you mean `recv_id`",
        ),
    ];
    for (lines, fragment) in cases {
        let text = with_member_lines(&lines);
        only_error(&text, line_of(&text, "# HERE"), fragment);
    }
}
