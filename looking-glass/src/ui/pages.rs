//! The pages: overview, route-server neighbours, routes of a neighbour, member page,
//! prefix search, filter reasons, login. Each is a URL; each renders what `data` returns.

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;
use serde_json::Value;

use super::{esc, failure, page, val};
use crate::access::Role;
use crate::api::LookupParams;
use crate::data::{self, enc, RouteParams, ROUTE_KINDS};
use crate::server::COOKIE;
use crate::state::{AppState, Failure};

type Rejection = axum::extract::rejection::QueryRejection;

fn afi(v: &Value) -> String {
    format!("{} / {}", val(&v["ipv4"]), val(&v["ipv6"]))
}

fn state_cell(state: &Value) -> String {
    let s = state.as_str().unwrap_or("unknown");
    let class = if s == "Established" { "up" } else { "down" };
    format!(r#"<span class="{class}">{}</span>"#, esc(s))
}

fn uptime(secs: u64) -> String {
    match secs {
        0 => "–".into(),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}

fn search_form(prefix: &str, mode: &str) -> String {
    let opt = |m: &str| {
        let sel = if m == mode { " selected" } else { "" };
        format!(r#"<option value="{m}"{sel}>{m}</option>"#)
    };
    format!(
        r#"<form class="search" method="get" action="/lookup"><input name="prefix" placeholder="192.0.2.0/24 or 2001:db8::1" value="{}" required>
<select name="mode">{}{}{}</select><button>Search</button></form>"#,
        esc(prefix),
        opt("longest"),
        opt("exact"),
        opt("more-specific")
    )
}

/// `GET /`: the exchange at a glance and the prefix search.
pub async fn overview(State(st): State<AppState>, Extension(role): Extension<Role>) -> Response {
    let s = data::summary(&st).await;
    let mut b = format!(
        "<p>{} members. {}</p>",
        val(&s["members"]),
        if let Role::Member(m) = &role {
            format!(r#"<a href="/members/{}">Your member page</a>"#, enc(m))
        } else {
            String::new()
        }
    );
    b.push_str(&search_form("", "longest"));
    b.push_str(r#"<div class="cards">"#);
    for rs in s["route_servers"].as_array().into_iter().flatten() {
        let name = rs["name"].as_str().unwrap_or_default();
        let title = if role == Role::Public {
            esc(name)
        } else {
            format!(
                r#"<a href="/routeservers/{0}">{1}</a>"#,
                enc(name),
                esc(name)
            )
        };
        b.push_str(&format!(r#"<div class="card"><h2>{title}</h2>"#));
        if rs["up"] != true {
            b.push_str(&format!(
                r#"<p class="down">unreachable</p><p class="note">{}</p></div>"#,
                val(&rs["error"])
            ));
            continue;
        }
        let rpki = &rs["rpki"]["counts"];
        b.push_str(&format!(
            r#"<p class="up">up</p><table>
<tr><th>Sessions up / down</th><td>{} / {}</td></tr>
<tr><th>Accepted prefixes (IPv4 / IPv6)</th><td>{}</td></tr>
<tr><th>Filtered prefixes (IPv4 / IPv6)</th><td>{}</td></tr>
<tr><th>RPKI valid / invalid / not found / not checked</th><td>{} / {} / {} / {}{}</td></tr>
<tr><th>Version</th><td>{}</td></tr></table></div>"#,
            val(&rs["sessions"]["established"]),
            val(&rs["sessions"]["down"]),
            afi(&rs["prefixes"]["accepted"]),
            afi(&rs["prefixes"]["filtered"]),
            val(&rpki["valid"]),
            val(&rpki["invalid"]),
            val(&rpki["not-found"]),
            val(&rpki["not-checked"]),
            if rs["rpki"]["complete"] == false {
                " (partial count)"
            } else {
                ""
            },
            val(&rs["version"]),
        ));
    }
    b.push_str("</div>");
    page(
        &role,
        StatusCode::OK,
        &format!("{} route servers", val(&s["exchange"])),
        &b,
    )
}

fn counts_link(rs: &str, n: &Value, kind: &str) -> String {
    let c = &n["routes"][kind];
    format!(
        r#"<a href="/routeservers/{}/neighbors/{}/routes/{kind}">{}</a>"#,
        enc(rs),
        enc(n["address"].as_str().unwrap_or_default()),
        afi(c)
    )
}

/// `GET /routeservers/{rs}`: neighbours (NOC: all, member: its own).
pub async fn neighbors(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Path(rs): Path<String>,
) -> Response {
    let v = match data::neighbors(&st, &role, &rs).await {
        Ok(v) => v,
        Err(f) => return failure(&role, f),
    };
    let mut b = String::from(
        r#"<div class="scroll"><table><tr><th>Member</th><th>ASN</th><th>Address</th><th>State</th><th>Uptime</th><th>Received</th><th>Accepted</th><th>Filtered</th><th>Advertised</th></tr>"#,
    );
    for n in v["neighbors"].as_array().into_iter().flatten() {
        let member = n["member"].as_str().unwrap_or_default();
        b.push_str(&format!(
            r#"<tr><td><a href="/members/{}">{}</a></td><td>AS{}</td><td class="code">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            enc(member),
            esc(member),
            val(&n["asn"]),
            val(&n["address"]),
            state_cell(&n["state"]),
            uptime(n["uptime_seconds"].as_u64().unwrap_or(0)),
            counts_link(&rs, n, "received"),
            counts_link(&rs, n, "accepted"),
            counts_link(&rs, n, "filtered"),
            counts_link(&rs, n, "advertised"),
        ));
    }
    b.push_str("</table></div><p class=\"note\">Route counts are IPv4 / IPv6.</p>");
    page(&role, StatusCode::OK, &format!("Neighbours of {rs}"), &b)
}

fn reasons_cell(r: &Value) -> String {
    let list = r["reasons"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return if r["accepted"] == true {
            "accepted".into()
        } else {
            String::new()
        };
    }
    list.iter()
        .map(|x| {
            format!(
                r#"<span class="reason">{} <span class="code">(code {}, {})</span></span>"#,
                val(&x["description"]),
                val(&x["code"]),
                val(&x["community"])
            )
        })
        .collect()
}

fn list(v: &Value) -> String {
    v.as_array()
        .map(|l| l.iter().map(val).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `GET /routeservers/{rs}/neighbors/{addr}/routes/{kind}`: the route table with filters.
pub async fn routes(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Path((rs, addr, kind)): Path<(String, String, String)>,
    q: Result<Query<RouteParams>, Rejection>,
) -> Response {
    let p = match crate::api::query(q) {
        Ok(p) => p,
        Err(f) => return failure(&role, f),
    };
    let v = match data::routes(&st, &role, &rs, &addr, &kind, &p).await {
        Ok(v) => v,
        Err(f) => return failure(&role, f),
    };
    let base = format!("/routeservers/{}/neighbors/{}/routes", enc(&rs), enc(&addr));
    let mut b = String::from(r#"<p class="tabs">"#);
    for k in ROUTE_KINDS {
        let class = if k == kind { r#" class="active""# } else { "" };
        b.push_str(&format!(r#"<a{class} href="{base}/{k}">{k}</a>"#));
    }
    b.push_str("</p>");
    let field = |name: &str, value: &Option<String>, hint: &str| {
        format!(
            r#"<input name="{name}" placeholder="{hint}" value="{}">"#,
            esc(value.as_deref().unwrap_or_default())
        )
    };
    b.push_str(&format!(
        r#"<form class="filters" method="get" action="{base}/{}">{}{}{}{}<button>Filter</button></form>"#,
        esc(&kind),
        field("prefix", &p.prefix, "prefix"),
        field("origin", &p.origin, "origin ASN"),
        field("community", &p.community, "community a:b or a:b:c"),
        field("reason", &p.reason, "reason code"),
    ));
    b.push_str(&format!(
        "<p>{} routes, page {} of {}.</p>",
        val(&v["total"]),
        val(&v["page"]),
        val(&v["pages"])
    ));
    b.push_str(r#"<div class="scroll"><table><tr><th>Prefix</th><th>Next hop</th><th>AS path</th><th>Communities</th><th>RPKI</th><th>Best</th><th>Filter result</th></tr>"#);
    for r in v["routes"].as_array().into_iter().flatten() {
        b.push_str(&format!(
            r#"<tr><td class="code"><a href="/lookup?prefix={}&amp;mode=exact">{}</a></td><td class="code">{}</td><td>{}</td><td class="code">{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            enc(r["prefix"].as_str().unwrap_or_default()),
            val(&r["prefix"]),
            val(&r["next_hop"]),
            val(&r["as_path_text"]),
            list(&r["communities"]),
            list(&r["large_communities"]),
            val(&r["rpki"]),
            if r["best"] == true { "yes" } else { "" },
            reasons_cell(r),
        ));
    }
    b.push_str("</table></div>");
    let page_no = v["page"].as_u64().unwrap_or(1);
    let pages = v["pages"].as_u64().unwrap_or(1);
    let mut keep = String::new();
    for (k, val) in [
        ("prefix", &p.prefix),
        ("origin", &p.origin),
        ("community", &p.community),
        ("reason", &p.reason),
        ("page_size", &p.page_size),
    ] {
        if let Some(x) = val.as_deref().filter(|x| !x.is_empty()) {
            keep.push_str(&format!("&amp;{k}={}", enc(x)));
        }
    }
    if page_no > 1 {
        b.push_str(&format!(
            r#"<a href="{base}/{}?page={}{keep}">previous</a> "#,
            esc(&kind),
            page_no - 1
        ));
    }
    if page_no < pages {
        b.push_str(&format!(
            r#"<a href="{base}/{}?page={}{keep}">next</a>"#,
            esc(&kind),
            page_no + 1
        ));
    }
    let title = format!(
        "{} routes of {} ({}) on {rs}",
        kind,
        v["neighbor"]["member"].as_str().unwrap_or_default(),
        addr
    );
    page(&role, StatusCode::OK, &title, &b)
}

/// `GET /members/{name}`: the member's sessions on every route server.
pub async fn member(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    Path(name): Path<String>,
) -> Response {
    let v = match data::member(&st, &role, &name).await {
        Ok(v) => v,
        Err(f) => return failure(&role, f),
    };
    let mut b = format!(
        r#"<p>AS{} · <a href="/members/{}/history">traffic history</a></p>"#,
        val(&v["asn"]),
        enc(v["member"].as_str().unwrap_or_default())
    );
    for rs in v["route_servers"].as_array().into_iter().flatten() {
        let rsn = rs["name"].as_str().unwrap_or_default();
        b.push_str(&format!("<h2>{}</h2>", esc(rsn)));
        if rs["error"] != Value::Null {
            b.push_str(&format!(
                r#"<p class="down">unreachable: {}</p>"#,
                val(&rs["error"])
            ));
            continue;
        }
        b.push_str(r#"<div class="scroll"><table><tr><th>Address</th><th>State</th><th>Uptime</th><th>Last error</th><th>Received</th><th>Accepted</th><th>Filtered</th><th>Advertised</th></tr>"#);
        for n in rs["sessions"].as_array().into_iter().flatten() {
            b.push_str(&format!(
                r#"<tr><td class="code">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                val(&n["address"]),
                state_cell(&n["state"]),
                uptime(n["uptime_seconds"].as_u64().unwrap_or(0)),
                val(&n["last_error"]),
                counts_link(rsn, n, "received"),
                counts_link(rsn, n, "accepted"),
                counts_link(rsn, n, "filtered"),
                counts_link(rsn, n, "advertised"),
            ));
        }
        b.push_str("</table></div>");
    }
    b.push_str(&format!(
        "<h2>Traffic</h2><p class=\"note\">{}</p><h2>Round-trip time</h2><p class=\"note\">{}</p>",
        val(&v["traffic"]["note"]),
        val(&v["rtt"]["note"])
    ));
    page(
        &role,
        StatusCode::OK,
        &format!("Member {}", v["member"].as_str().unwrap_or_default()),
        &b,
    )
}

/// `GET /lookup?prefix=&mode=`: prefix search across all route servers.
pub async fn lookup(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    q: Result<Query<LookupParams>, Rejection>,
) -> Response {
    let p = match crate::api::query(q) {
        Ok(p) => p,
        Err(f) => return failure(&role, f),
    };
    let prefix = p.prefix.clone().unwrap_or_default();
    let mode = p.mode.clone().unwrap_or_else(|| "longest".into());
    let mut b = search_form(&prefix, &mode);
    if prefix.trim().is_empty() {
        b.push_str("<p class=\"note\">Enter a prefix or an address. <b>longest</b>: the most specific route covering it; <b>exact</b>: only that prefix; <b>more-specific</b>: it and everything inside it.</p>");
        return page(&role, StatusCode::OK, "Prefix search", &b);
    }
    let v = match data::lookup(&st, &role, Some(&prefix), Some(&mode)).await {
        Ok(v) => v,
        Err(f) => {
            let status = f.status;
            b.push_str(&format!(r#"<p class="error">{}</p>"#, esc(&f.message)));
            return page(&role, status, "Prefix search", &b);
        }
    };
    for rs in v["route_servers"].as_array().into_iter().flatten() {
        b.push_str(&format!("<h2>{}</h2>", val(&rs["name"])));
        if rs["error"] != Value::Null {
            b.push_str(&format!(
                r#"<p class="down">unreachable: {}</p>"#,
                val(&rs["error"])
            ));
            continue;
        }
        let prefixes = rs["prefixes"].as_array().cloned().unwrap_or_default();
        if prefixes.is_empty() {
            b.push_str("<p>No route for this prefix.</p>");
        }
        for px in prefixes {
            b.push_str(&lookup_prefix(&px));
        }
    }
    page(
        &role,
        StatusCode::OK,
        &format!("Prefix search: {}", v["query"].as_str().unwrap_or_default()),
        &b,
    )
}

fn lookup_prefix(px: &Value) -> String {
    let mut b = format!("<h3 class=\"code\">{}</h3>", val(&px["prefix"]));
    b.push_str(r#"<div class="scroll"><table><tr><th>Announced by</th><th>Next hop</th><th>AS path</th><th>RPKI</th><th>Best</th><th>Filter result</th></tr>"#);
    let paths = px["paths"].as_array().cloned().unwrap_or_default();
    for r in &paths {
        b.push_str(&format!(
            r#"<tr><td>{} (AS{})</td><td class="code">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            val(&r["member"]),
            val(&r["asn"]),
            val(&r["next_hop"]),
            val(&r["as_path_text"]),
            val(&r["rpki"]),
            if r["best"] == true { "yes" } else { "" },
            reasons_cell(r),
        ));
    }
    b.push_str("</table></div>");
    if px["hidden_filtered_paths"].as_u64().unwrap_or(0) > 0 {
        b.push_str(&format!(
            "<p class=\"note\">{} filtered path(s) of other members are not shown.</p>",
            val(&px["hidden_filtered_paths"])
        ));
    }
    let member_of = |addr: &Value| {
        paths
            .iter()
            .find(|p| p["neighbor"] == *addr)
            .map(|p| val(&p["member"]))
            .unwrap_or_else(|| val(addr))
    };
    b.push_str(r#"<div class="scroll"><table><tr><th>Member</th><th>Receives</th></tr>"#);
    for r in px["receivers"].as_array().into_iter().flatten() {
        let what = match (&r["receives_from"], &r["best_withheld"]) {
            (Value::Null, why) if *why != Value::Null => {
                format!("nothing: the best path is withheld ({})", val(why))
            }
            (Value::Null, _) => "nothing".into(),
            (from, why) if *why != Value::Null => format!(
                "the path from {} (best path withheld: {})",
                member_of(from),
                val(why)
            ),
            (from, _) => format!("the path from {}", member_of(from)),
        };
        b.push_str(&format!(
            "<tr><td>{} (AS{})</td><td>{what}</td></tr>",
            val(&r["member"]),
            val(&r["asn"])
        ));
    }
    b.push_str("</table></div>");
    b
}

/// `GET /reasons`: every filter reason in words, with its code and community.
pub async fn reasons(State(st): State<AppState>, Extension(role): Extension<Role>) -> Response {
    let v = match data::reasons(&st).await {
        Ok(v) => v,
        Err(f) => return failure(&role, f),
    };
    let mut b = String::from("<p>Why the route servers filter a route. Each filtered route carries the large community shown, so other tools read the same codes.</p><div class=\"scroll\"><table><tr><th>Code</th><th>Name</th><th>Meaning</th><th>Community</th></tr>");
    for r in v["reasons"].as_array().into_iter().flatten() {
        b.push_str(&format!(
            r#"<tr><td>{}</td><td class="code">{}</td><td>{}</td><td class="code">{}</td></tr>"#,
            val(&r["code"]),
            val(&r["name"]),
            val(&r["description"]),
            val(&r["community"])
        ));
    }
    b.push_str("</table></div>");
    page(&role, StatusCode::OK, "Filter reasons", &b)
}

/// `GET /login`
pub async fn login_form(Extension(role): Extension<Role>) -> Response {
    let b = r#"<form method="post" action="/login"><p><label>Token <input type="password" name="token" autocomplete="current-password" required></label></p><p><button>Log in</button></p></form>
<p class="note">Members get a token from the exchange's NOC. It is kept in a cookie for this site only.</p>"#;
    page(&role, StatusCode::OK, "Log in", b)
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    /// The member or NOC token.
    pub token: String,
}

/// `POST /login`: checks the token, sets the cookie, goes to the member page or overview.
pub async fn login(
    State(st): State<AppState>,
    Extension(role): Extension<Role>,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let f = match form {
        Ok(Form(f)) => f,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return failure(
                &role,
                Failure {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    message: format!(
                        "the request body is larger than {} bytes",
                        crate::server::MAX_BODY
                    ),
                },
            );
        }
        Err(_) => return failure(&role, Failure::bad("the login form needs a `token` field")),
    };
    let token = f.token.trim();
    let cookie_safe = token
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b';' && b != b',' && b != b'"' && b != b'\\');
    let Some(new_role) = st.tokens.check(token).filter(|_| cookie_safe) else {
        return failure(
            &role,
            Failure {
                status: StatusCode::UNAUTHORIZED,
                message: "this token is not recognised".into(),
            },
        );
    };
    let to = match &new_role {
        Role::Member(m) => format!("/members/{}", enc(m)),
        _ => "/".into(),
    };
    let mut resp = Redirect::to(&to).into_response();
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// `POST /logout`: clears the cookie.
pub async fn logout() -> Response {
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("fox_lg=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    resp
}
