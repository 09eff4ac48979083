//! `parse` must never panic, whatever it is given, and its errors must point into the text.

mod common;

use proptest::prelude::*;

/// Every error is inside the text (or at line 0 for whole-file problems), in file order.
fn check(text: &str) {
    if let Err(errs) = fox_config::parse(text, "g.yaml") {
        assert!(!errs.is_empty());
        let lines = text.lines().count() + 1;
        for e in &errs {
            assert!(e.line <= lines, "line {} beyond the text: {e}", e.line);
            assert!(!e.message.is_empty());
            assert!(!e.message.contains('\n'), "one line per error: {e:?}");
        }
        let order: Vec<usize> = errs.iter().map(|e| e.line).collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(order, sorted, "errors in file order");
    }
}

fn fox_yaml() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/fox.yaml");
    std::fs::read_to_string(path).expect("configs/fox.yaml is in the repository")
}

#[test]
fn every_single_line_deletion_of_fox_yaml() {
    let text = fox_yaml();
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let mutated: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| *l)
            .collect();
        check(&mutated.join("\n"));
    }
}

#[test]
fn every_prefix_of_base() {
    let text = common::BASE;
    for end in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
        check(&text[..end]);
    }
}

#[test]
fn hostile_documents_fail_cleanly() {
    let deep = format!("a: {}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_block: String = (0..200)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..12 {
        let prev = if i == 0 {
            "a".to_owned()
        } else {
            format!("l{}", i - 1)
        };
        let refs = vec![format!("*{prev}"); 10].join(", ");
        laughs.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
    }
    let many_docs = "---\na: 1\n".repeat(50);
    for text in [
        deep,
        deep_block,
        laughs,
        many_docs,
        "\u{feff}\0\u{7}".to_owned(),
    ] {
        let errs = match fox_config::parse(&text, "h.yaml") {
            Ok(_) => panic!("hostile document accepted"),
            Err(e) => e,
        };
        assert!(!errs.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(text in "([a-z_]{1,8}: ?|- |  |\\[|\\]|\\{|\\}|, |&a |\\*a |\"|'|#|[0-9.:/]{1,12}|\n){0,80}") {
        check(&text);
    }

    #[test]
    fn mutated_fox_yaml_never_panics(
        pos in 0usize..10_000,
        len in 0usize..40,
        insert in "[ -~\n\t]{0,12}",
    ) {
        let text = fox_yaml();
        let mut bytes = text.into_bytes();
        let start = pos % bytes.len();
        let end = (start + len).min(bytes.len());
        bytes.splice(start..end, insert.bytes());
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        check(&mutated);
    }
}
