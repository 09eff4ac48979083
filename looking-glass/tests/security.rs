//! Abuse and access cases beyond the basic ones: request size, query limits, security
//! headers on every HTML answer, token guessing against the rate limit, and a sweep over
//! every route of the router proving that member A never sees member B's filtered routes
//! or traffic, birdwatcher endpoints included.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use fox_looking_glass::client::{self, HttpResponse};
use fox_looking_glass::data::{LOOKUP_LIMIT, MAX_PAGE_SIZE};
use fox_looking_glass::server::{MAX_BODY, MAX_QUERY};

/// GSN's filtered route (only GSN and the NOC may see it).
const GSN_FILTERED: &str = "192.168.0.0";
/// Text only GSN's traffic answer from the collector carries.
const GSN_TRAFFIC: &str = "GSN-TOP-PEER-MARKER";
/// The probe towards GSN's router.
const GSN_PROBE: &str = "hsinchu-gsn";

async fn send(
    lg: &Lg,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> HttpResponse {
    client::request(
        method,
        &format!("{}{path}", lg.base),
        headers,
        body,
        Duration::from_secs(10),
    )
    .await
    .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

async fn login_post(lg: &Lg, body: &str) -> HttpResponse {
    send(
        lg,
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        body.as_bytes().to_vec(),
    )
    .await
}

#[tokio::test]
async fn request_bodies_and_urls_have_size_limits() {
    let lg = start_lg("").await;
    // A login form far larger than any token: refused before it is parsed.
    let big = format!("token={}", "a".repeat(MAX_BODY + 100));
    let r = login_post(&lg, &big).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains(&MAX_BODY.to_string()), "{}", r.text());
    assert!(r.header("set-cookie").is_none());
    // Just under the limit is read (and the token is wrong).
    let ok = format!("token={}", "a".repeat(MAX_BODY - 100));
    assert_eq!(login_post(&lg, &ok).await.status, 401);
    // A body on an API GET is not read, and the answer is unchanged.
    let r = send(&lg, "GET", "/api/v1/whoami", &[], vec![b'x'; MAX_BODY * 4]).await;
    assert!(r.status == 200 || r.status == 413, "{}", r.status);
    // URLs: query and path beyond MAX_QUERY are 414, in JSON for the API, HTML for pages.
    let q = "9".repeat(MAX_QUERY + 1);
    let r = lg.get(&format!("/api/v1/lookup?prefix={q}"), None).await;
    assert_eq!(r.status, 414);
    assert!(r.text().contains("longer than"));
    let r = lg.get(&format!("/lookup?prefix={q}"), None).await;
    assert_eq!(r.status, 414);
    assert!(r.text().contains("<!DOCTYPE html>") && r.text().contains("longer than"));
    let r = lg
        .get(&format!("/members/{}", "x".repeat(MAX_QUERY + 1)), None)
        .await;
    assert_eq!(r.status, 414);
}

#[tokio::test]
async fn query_limits_and_bad_parameters_answer_4xx_with_a_message() {
    let lg = start_lg("").await;
    let base = format!("/api/v1/routeservers/rs1/neighbors/{TANET_ADDR}/routes/received");
    let (s, v) = lg
        .json(
            &format!("{base}?page_size={MAX_PAGE_SIZE}"),
            Some(NOC_TOKEN),
        )
        .await;
    assert_eq!(
        (s, v["page_size"].as_u64()),
        (200, Some(MAX_PAGE_SIZE as u64))
    );
    assert!(
        lg.seen
            .all()
            .iter()
            .any(|q| q.contains(&format!("limit={MAX_PAGE_SIZE}"))),
        "the cap is what the route server is asked for"
    );
    let (s, v) = lg
        .json(
            &format!("{base}?page_size={}", MAX_PAGE_SIZE + 1),
            Some(NOC_TOKEN),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("between 1 and {MAX_PAGE_SIZE}")),
        "{v}"
    );
    // The whole table as "more-specifics of 0.0.0.0/0" is bounded at the route server.
    let (s, _) = lg
        .json("/api/v1/lookup?prefix=0.0.0.0/0&mode=more-specific", None)
        .await;
    assert_eq!(s, 200);
    assert!(
        lg.seen
            .all()
            .iter()
            .any(|q| q.contains("mode=more-specific")
                && q.contains(&format!("limit={LOOKUP_LIMIT}"))),
        "{:?}",
        lg.seen.all()
    );
    // Bad parameters: JSON errors on the API, HTML pages that say what was wrong on the UI.
    let cases: [(&str, u16, &str); 9] = [
        ("/api/v1/lookup?prefix=10.0.0.0/33", 400, "10.0.0.0/33"),
        (
            "/api/v1/lookup?prefix=10.0.0.0/8&prefix=11.0.0.0/8",
            400,
            "prefix",
        ),
        (
            "/api/v1/lookup?prefix=10.0.0.0/8&limit=999999",
            400,
            "limit",
        ),
        ("/api/v1/lookup?prefix=%ff%fe", 400, "prefix"),
        (
            "/api/v1/routeservers/rs1/neighbors/10.9.0.3/routes/accepted?page=-1",
            400,
            "page",
        ),
        (
            "/api/v1/routeservers/rs1/neighbors/10.9.0.3/routes/accepted?page=99999999999",
            400,
            "page",
        ),
        ("/lookup?prefix=300.1.2.3", 400, "300.1.2.3"),
        ("/lookup?prefix=10.0.0.0/8&mode=all", 400, "mode"),
        (
            "/routeservers/rs1/neighbors/10.9.0.3/routes/accepted?page_size=100000",
            400,
            "page_size",
        ),
    ];
    for (path, status, frag) in cases {
        let r = lg.get(path, Some(NOC_TOKEN)).await;
        assert_eq!(r.status, status, "{path}: {}", r.text());
        let text = r.text();
        assert!(text.contains(frag), "{path}: `{frag}` not in {text}");
        if path.starts_with("/api/") {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            assert!(
                v["error"].is_string(),
                "{path}: JSON error expected: {text}"
            );
        } else {
            assert!(text.contains("<!DOCTYPE html>"), "{path}: HTML expected");
        }
    }
}

fn assert_security_headers(what: &str, r: &HttpResponse) {
    let h = |n: &str| r.header(n).unwrap_or_default().to_owned();
    assert!(
        h("content-type").starts_with("text/html"),
        "{what}: {}",
        h("content-type")
    );
    let csp = h("content-security-policy");
    for part in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{what}: CSP `{csp}` lacks {part}");
    }
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
    assert_eq!(h("referrer-policy"), "same-origin", "{what}");
    assert!(
        h("cache-control").contains("no-store"),
        "{what}: {}",
        h("cache-control")
    );
}

#[tokio::test]
async fn every_html_answer_carries_the_security_headers() {
    let lg = start_lg("  rate_limit: { per_minute: 60, burst: 20 }\n").await;
    let cookie = format!("fox_lg={TANET_TOKEN}");
    let pages: [(&str, Option<&str>, u16); 10] = [
        ("/", None, 200),
        ("/lookup?prefix=140.112.0.0/16", None, 200),
        ("/lookup?prefix=bad", None, 400),
        ("/reasons", None, 200),
        ("/login", None, 200),
        ("/members/TANet", None, 401),
        ("/members/TANet", Some(cookie.as_str()), 200),
        ("/members/GSN", Some(cookie.as_str()), 403),
        ("/routeservers/rs1", Some(cookie.as_str()), 200),
        ("/no/such/page", None, 404),
    ];
    for (path, cookie, status) in pages {
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", *c)).collect();
        let r = send(&lg, "GET", path, &headers, Vec::new()).await;
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert_security_headers(path, &r);
    }
    let r = login_post(&lg, "token=wrong").await;
    assert_eq!(r.status, 401);
    assert_security_headers("POST /login (wrong token)", &r);
    let r = login_post(&lg, &format!("token={TANET_TOKEN}")).await;
    assert_eq!(r.status, 303);
    let c = r.header("set-cookie").unwrap_or_default().to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(c.contains(flag), "cookie `{c}` lacks {flag}");
    }
    // The rate-limit page is HTML with the same headers.
    let lg = start_lg("  rate_limit: { per_minute: 1, burst: 1 }\n").await;
    assert_eq!(lg.get("/", None).await.status, 200);
    let r = lg.get("/", None).await;
    assert_eq!(r.status, 429);
    assert_security_headers("429 page", &r);
}

#[tokio::test]
async fn guessing_tokens_runs_into_the_rate_limit() {
    let lg = start_lg("  rate_limit: { per_minute: 6, burst: 3 }\n").await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = lg
            .get("/api/v1/whoami", Some(&format!("guess-{i:04}")))
            .await;
        statuses.push(r.status);
        if r.status == 429 {
            let wait: u64 = r
                .header("retry-after")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            assert!(wait >= 1, "Retry-After on 429");
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429, 429, 429]);
    // Once limited, even the right token waits: guesses cannot go on between real requests.
    assert_eq!(
        lg.get("/api/v1/whoami", Some(TANET_TOKEN)).await.status,
        429
    );

    // The same through the login form.
    let lg = start_lg("  rate_limit: { per_minute: 6, burst: 3 }\n").await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(login_post(&lg, &format!("token=guess-{i}")).await.status);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
    let r = login_post(&lg, &format!("token={GSN_TOKEN}")).await;
    assert_eq!(r.status, 429);
    assert!(
        r.header("set-cookie").is_none(),
        "no login while rate limited"
    );
}

/// Every route template the router registers (API, birdwatcher, pages).
fn all_routes_of_the_router() -> BTreeSet<String> {
    let src = std::fs::read_to_string(crate_file("src/server.rs")).expect("read server.rs");
    src.match_indices(".route(")
        .filter_map(|(i, _)| {
            let rest = &src[i..];
            let start = rest.find('"')? + 1;
            let end = start + rest[start..].find('"')?;
            Some(rest[start..end].to_owned())
        })
        .collect()
}

/// The concrete URLs of a template, aimed at GSN's data.
fn aimed_at_gsn(template: &str) -> Vec<String> {
    let kinds: &[&str] = if template.contains("{kind}") {
        &["received", "accepted", "filtered", "advertised"]
    } else {
        &["-"]
    };
    let tables: &[&str] = if template.contains("{table}") {
        &["master", "master4"]
    } else {
        &["-"]
    };
    let mut out = Vec::new();
    for kind in kinds {
        for table in tables {
            let p = template
                .replace("{rs}", "rs1")
                .replace("{addr}", GSN_ADDR)
                .replace("{peer}", GSN_ADDR)
                .replace("{kind}", kind)
                .replace("{name}", "GSN")
                .replace("{id}", "AS4782_10_9_0_4")
                .replace("{table}", table);
            out.push(p.clone());
            out.push(format!("{p}?prefix=192.168.0.0/16"));
            out.push(format!("{p}?prefix=0.0.0.0/0&mode=more-specific"));
            out.push(format!("{p}?reason=3"));
        }
    }
    out
}

#[tokio::test]
async fn member_a_never_sees_member_b_filtered_routes_or_traffic_anywhere() {
    let c = fake_collector().await;
    let lg = start_lg(&format!(
        "  rate_limit: {{ per_minute: 1000000, burst: 1000000 }}\n  birdwatcher_allow: [192.0.2.0/24]\n  collectors:\n    - {{ name: c1, url: \"http://{c}\" }}\n"
    ))
    .await;
    let templates = all_routes_of_the_router();
    assert!(templates.len() >= 30, "router routes: {templates:?}");
    for must in [
        "/birdwatcher/{rs}/routes/table/{table}/filtered",
        "/birdwatcher/{rs}/routes/filtered/{id}",
        "/api/v1/members/{name}",
        "/members/{name}",
        "/routeservers/{rs}/neighbors/{addr}/routes/{kind}",
    ] {
        assert!(templates.contains(must), "{must} not found in server.rs");
    }
    let secrets = [GSN_FILTERED, GSN_TRAFFIC, GSN_PROBE];
    let tanet_cookie = format!("fox_lg={TANET_TOKEN}");
    let tanet_bearer = format!("Bearer {TANET_TOKEN}");
    let noc_bearer = format!("Bearer {NOC_TOKEN}");
    let mut urls = 0;
    let mut noc_saw = BTreeSet::new();
    for t in &templates {
        for url in aimed_at_gsn(t) {
            urls += 1;
            for (who, headers) in [
                (
                    "TANet bearer",
                    vec![("authorization", tanet_bearer.as_str())],
                ),
                ("TANet cookie", vec![("cookie", tanet_cookie.as_str())]),
                ("anonymous", vec![]),
            ] {
                let r = send(&lg, "GET", &url, &headers, Vec::new()).await;
                let body = r.text();
                let origin = GSN_FILTERED_ORIGIN.to_string();
                for s in secrets.iter().copied().chain([origin.as_str()]) {
                    if url.contains(s) {
                        // The query itself is echoed (search box, `query`); the origin
                        // AS proves no route data leaked.
                        continue;
                    }
                    assert!(
                        !body.contains(s),
                        "{who} GET {url} ({}) shows GSN's `{s}`: {body}",
                        r.status
                    );
                }
                if url.starts_with("/birdwatcher/") && !url.contains("/version") {
                    assert_eq!(r.status, 403, "{who} GET {url}: {body}");
                }
            }
            // Positive control: the NOC does see them, so the sweep reaches the data.
            let r = send(
                &lg,
                "GET",
                &url,
                &[("authorization", noc_bearer.as_str())],
                Vec::new(),
            )
            .await;
            let origin = GSN_FILTERED_ORIGIN.to_string();
            for s in [GSN_TRAFFIC, GSN_PROBE, origin.as_str()] {
                if r.text().contains(s) {
                    noc_saw.insert((s.to_owned(), t.clone()));
                }
            }
        }
    }
    assert!(urls >= 150, "{urls} URLs swept");
    let seen_secret = |s: &str, t: &str| noc_saw.contains(&(s.to_owned(), t.to_owned()));
    let gsn_route = GSN_FILTERED_ORIGIN.to_string();
    for (s, t) in [
        (
            gsn_route.as_str(),
            "/api/v1/routeservers/{rs}/neighbors/{addr}/routes/{kind}",
        ),
        (
            gsn_route.as_str(),
            "/routeservers/{rs}/neighbors/{addr}/routes/{kind}",
        ),
        (gsn_route.as_str(), "/api/v1/lookup"),
        (gsn_route.as_str(), "/birdwatcher/{rs}/routes/filtered/{id}"),
        (
            gsn_route.as_str(),
            "/birdwatcher/{rs}/routes/table/{table}/filtered",
        ),
        (GSN_TRAFFIC, "/api/v1/members/{name}"),
        (GSN_PROBE, "/api/v1/members/{name}"),
        (gsn_route.as_str(), "/lookup"),
        (GSN_PROBE, "/members/{name}"),
    ] {
        assert!(
            seen_secret(s, t),
            "the NOC should see `{s}` on {t}: {noc_saw:?}"
        );
    }
    // And GSN itself sees its own filtered route and traffic.
    let (s, v) = lg.json("/api/v1/members/GSN", Some(GSN_TOKEN)).await;
    assert_eq!(s, 200);
    assert!(v.to_string().contains(GSN_TRAFFIC), "{v}");
}
