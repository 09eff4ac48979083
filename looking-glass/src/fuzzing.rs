//! Entry point of the `lg_query` fuzz target (`fuzz/`) and of its stable
//! smoke test: a query string as a browser sends it, parsed the way the
//! route listing and lookup handlers parse theirs.

use axum::extract::Query;
use axum::http::{StatusCode, Uri};

use crate::api::LookupParams;
use crate::data::{parse_mode, parse_prefix, route_query, RouteParams, MAX_PAGE_SIZE};

/// Parses `data` as the query of a route listing and of a lookup. What is
/// accepted must become a route-server query that cannot smuggle another
/// parameter in; what is refused must be a 400 with a short message.
/// Returns how many of the two parses were accepted.
pub fn query(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let Ok(uri) = format!("/?{text}").parse::<Uri>() else {
        return 0;
    };
    let mut ok = 0;
    if let Ok(Query(p)) = Query::<RouteParams>::try_from_uri(&uri) {
        match route_query(&p) {
            Ok(q) => {
                ok += 1;
                assert!((1..=1_000_000).contains(&q.page), "page {}", q.page);
                assert!((1..=MAX_PAGE_SIZE).contains(&q.page_size));
                for f in &q.filters {
                    let (k, v) = f.split_once('=').unwrap_or_else(|| panic!("filter {f:?}"));
                    assert!(!k.is_empty() && !v.is_empty(), "filter {f:?}");
                    assert!(
                        !v.contains(['=', '&', '#', '?', '/', ' ']) && v.is_ascii(),
                        "unescaped value in {f:?}"
                    );
                }
            }
            Err(e) => check_refusal(e.status, &e.message),
        }
    }
    if let Ok(Query(p)) = Query::<LookupParams>::try_from_uri(&uri) {
        let prefix = p.prefix.as_deref().map(parse_prefix);
        let mode = parse_mode(p.mode.as_deref());
        match (prefix, mode) {
            (Some(Ok(_)), Ok(_)) => ok += 1,
            (Some(Err(e)), _) | (_, Err(e)) => check_refusal(e.status, &e.message),
            (None, Ok(_)) => {}
        }
    }
    ok
}

fn check_refusal(status: StatusCode, message: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
    assert!(message.chars().count() < 300, "long message: {message}");
    assert!(
        !message.chars().any(char::is_control),
        "control character in {message:?}"
    );
}
