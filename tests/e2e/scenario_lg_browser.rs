//! The looking glass in a real browser: the FOX route server with BIRD members in the lab,
//! `fox looking-glass` next to it in the route server's namespace, and headless Chromium
//! driven over WebDriver (chromedriver, plain HTTP with curl inside the namespace). The
//! browser loads the overview, logs in through the login form, opens the member page and
//! the member's filtered routes (reason in words), and runs a prefix search; the test reads
//! the rendered text and keeps screenshots in `target/e2e-artifacts/`.
//!
//! Needs root (namespaces), `chromium` and `chromedriver` (Debian `chromium-driver`);
//! prints SKIPPED and returns without them.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

use crate::fixture::{run, Fixture, GSN, TANET};
use crate::member::Announce;
use crate::netns::{poll, Lab, Proc};
use crate::routeserver::Fox;

/// Where the looking glass listens inside the route server's namespace.
const LG: &str = "http://127.0.0.1:8080";
/// chromedriver's port inside the route server's namespace.
const DRIVER_PORT: u16 = 9515;
/// TANet's token for the login form (the tokens file holds only its hash).
const TANET_TOKEN: &str = "e2e-browser-tanet-token";
/// Bound for one WebDriver command (page loads included).
const COMMAND_LIMIT: Duration = Duration::from_secs(30);
/// Bound for a page to show what the test waits for.
const PAGE_LIMIT: Duration = Duration::from_secs(15);

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn installed(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Headless Chromium behind chromedriver in namespace `ns`. Drop ends the session, stops
/// chromedriver and kills whatever still runs with this browser's profile directory.
struct Browser {
    lab: Arc<Lab>,
    ns: String,
    driver: Option<Proc>,
    session: Option<String>,
    profile: PathBuf,
}

impl Browser {
    fn start(lab: &Arc<Lab>, ns: &str) -> Result<Browser> {
        let profile = std::env::temp_dir().join(format!("fox-e2e-chromium-{}", lab.id));
        fs::create_dir_all(&profile)?;
        let port = format!("--port={DRIVER_PORT}");
        let driver = lab.spawn(ns, "chromedriver", &["chromedriver", &port])?;
        let mut b = Browser {
            lab: Arc::clone(lab),
            ns: ns.to_owned(),
            driver: Some(driver),
            session: None,
            profile,
        };
        let ready = poll(Duration::from_secs(10), Duration::from_millis(100), || {
            b.call("GET", "/status", None)
                .map(|v| v["ready"] == true)
                .unwrap_or(false)
        });
        ensure!(ready, "chromedriver not ready within 10 s");
        let args = json!([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--window-size=1000,1400",
            format!("--user-data-dir={}", b.profile.display()),
        ]);
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": "/usr/lib/chromium/chromium", "args": args },
            "timeouts": { "pageLoad": 20_000, "script": 10_000 },
        }}});
        let v = b.call("POST", "/session", Some(caps))?;
        let id = v["sessionId"]
            .as_str()
            .with_context(|| format!("no session id in {v}"))?;
        b.session = Some(id.to_owned());
        Ok(b)
    }

    /// One WebDriver command; the `value` of the answer, or its error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("http://127.0.0.1:{DRIVER_PORT}{path}");
        let limit = COMMAND_LIMIT.as_secs().to_string();
        let data = body.map(|b| b.to_string());
        let mut cmd = vec!["curl", "-sS", "-m", &limit, "-X", method];
        if let Some(d) = &data {
            cmd.extend(["-H", "Content-Type: application/json", "--data-binary", d]);
        }
        cmd.push(&url);
        let out = self.lab.exec_ok(&self.ns, &cmd)?;
        let v: Value = serde_json::from_str(out.trim())
            .with_context(|| format!("{method} {path}: not JSON: {out}"))?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if let Some(e) = value.get("error").and_then(Value::as_str) {
            bail!(
                "{method} {path}: {e}: {}",
                value["message"].as_str().unwrap_or_default()
            );
        }
        Ok(if path == "/session" {
            v["value"].clone()
        } else {
            value
        })
    }

    fn cmd(&self, method: &str, rest: &str, body: Option<Value>) -> Result<Value> {
        let id = self.session.as_deref().context("no browser session")?;
        self.call(method, &format!("/session/{id}{rest}"), body)
    }

    fn goto(&self, path: &str) -> Result<()> {
        self.cmd(
            "POST",
            "/url",
            Some(json!({ "url": format!("{LG}{path}") })),
        )?;
        Ok(())
    }

    fn url(&self) -> Result<String> {
        Ok(self
            .cmd("GET", "/url", None)?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The rendered text of the page (what a reader sees, not the HTML source).
    fn text(&self) -> Result<String> {
        let v = self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": "return document.body.innerText;", "args": [] })),
        )?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Waits (bounded) until the page's text contains every one of `want`; returns the text.
    fn wait_text(&self, want: &[&str]) -> Result<String> {
        let mut last = String::new();
        let ok = poll(PAGE_LIMIT, Duration::from_millis(200), || {
            last = self.text().unwrap_or_default();
            want.iter().all(|w| last.contains(w))
        });
        if !ok {
            let missing: Vec<&&str> = want.iter().filter(|w| !last.contains(**w)).collect();
            bail!(
                "page {} lacks {missing:?} after {PAGE_LIMIT:?}; it shows:\n{last}",
                self.url().unwrap_or_default()
            );
        }
        Ok(last)
    }

    fn find(&self, css: &str) -> Result<String> {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        Ok(v[ELEMENT]
            .as_str()
            .with_context(|| format!("no element `{css}`: {v}"))?
            .to_owned())
    }

    fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let e = self.find(css)?;
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({})))?;
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )?;
        Ok(())
    }

    fn click(&self, css: &str) -> Result<()> {
        let e = self.find(css)?;
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})))?;
        Ok(())
    }

    /// Saves a PNG screenshot of the page to `path`.
    fn screenshot(&self, path: &Path) -> Result<()> {
        let v = self.cmd("GET", "/screenshot", None)?;
        let b64 = v.as_str().context("screenshot is not a string")?;
        let mut child = Command::new("base64")
            .arg("-d")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("base64")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(b64.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        ensure!(
            out.status.success() && out.stdout.starts_with(b"\x89PNG"),
            "screenshot is not a PNG"
        );
        fs::write(path, &out.stdout).with_context(|| format!("write {}", path.display()))?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.session.is_some() {
            let _ = self.cmd("DELETE", "", None);
        }
        if let Some(mut d) = self.driver.take() {
            d.stop(Duration::from_secs(2));
        }
        // chromedriver does not take Chromium down with it when it is killed: end every
        // process still running with this test's own profile directory, by pid.
        let marker = self.profile.to_string_lossy().into_owned();
        if let Ok(dir) = fs::read_dir("/proc") {
            for e in dir.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                let cmdline = fs::read(e.path().join("cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(&marker) {
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                }
            }
        }
        let _ = fs::remove_dir_all(&self.profile);
    }
}

/// Starts `fox looking-glass` in the route server's namespace on the route server's own
/// configuration plus a `looking_glass:` section; waits until it answers.
fn start_looking_glass(fx: &Fixture<Fox>, ns: &str) -> Result<Proc> {
    let dir = fx.lab.log_dir.join("rs1");
    let rs_yaml = fs::read_to_string(dir.join("fox.yaml")).context("read rs1/fox.yaml")?;
    let tokens = dir.join("lg-tokens");
    fs::write(
        &tokens,
        format!("TANet {}\n", fox_looking_glass::hash_token(TANET_TOKEN)),
    )?;
    let yaml = format!(
        "{rs_yaml}looking_glass:\n  listen: 127.0.0.1:8080\n  cache_seconds: 0\n  \
         tokens_file: \"{}\"\n  rate_limit: {{ per_minute: 6000, burst: 1000 }}\n",
        tokens.display()
    );
    let conf = dir.join("lg.yaml");
    fs::write(&conf, yaml)?;
    let conf_s = conf.to_string_lossy().into_owned();
    let mut proc = fx.lab.spawn(
        ns,
        "fox-looking-glass",
        &[
            env!("CARGO_BIN_EXE_fox"),
            "looking-glass",
            "--config",
            &conf_s,
        ],
    )?;
    let url = format!("{LG}/api/v1/whoami");
    let up = poll(Duration::from_secs(15), Duration::from_millis(100), || {
        proc.running()
            && fx
                .lab
                .exec_ok(ns, &["curl", "-sSf", "-m", "2", &url])
                .is_ok()
    });
    ensure!(
        up,
        "looking glass not answering within 15 s; see {}",
        proc.log.display()
    );
    Ok(proc)
}

/// Waits (bounded) until the route server has judged `prefix` from `neighbor` as `kind`.
fn wait_judged(fx: &Fixture<Fox>, neighbor: &str, kind: &str, prefix: &str) -> Result<()> {
    let ip = neighbor.parse()?;
    let ok = poll(Duration::from_secs(15), Duration::from_millis(100), || {
        fx.rs
            .api_routes(ip, kind)
            .map(|l| l.iter().any(|r| r.prefix.to_string() == prefix))
            .unwrap_or(false)
    });
    ensure!(ok, "{prefix} from {neighbor} not {kind} within 15 s");
    Ok(())
}

fn browse(fx: &mut Fixture<Fox>) -> Result<()> {
    wait_judged(fx, "192.0.2.11", "accepted", "140.112.0.0/16")?;
    wait_judged(fx, "192.0.2.11", "filtered", "10.10.0.0/16")?;
    wait_judged(fx, "192.0.2.14", "accepted", "163.29.0.0/16")?;
    wait_judged(fx, "192.0.2.14", "filtered", "192.168.10.0/24")?;
    let ns = fx
        .lab
        .hosts
        .iter()
        .find(|h| h.name == "rs1")
        .map(|h| h.ns.clone())
        .context("no rs1 host")?;
    let _lg = start_looking_glass(fx, &ns)?;
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-artifacts");
    fs::create_dir_all(&artifacts)?;
    let browser = Browser::start(&fx.lab, &ns)?;

    // 1. The overview, anonymous: the exchange's route server with real counts.
    browser.goto("/")?;
    let t = browser.wait_text(&["FOX route servers", "rs1"])?;
    for want in [
        "Sessions up / down\t4 / 0",
        "Accepted prefixes (IPv4 / IPv6)\t2 / 0",
        "Filtered prefixes (IPv4 / IPv6)\t2 / 0",
    ] {
        ensure!(t.contains(want), "overview lacks `{want}`:\n{t}");
    }
    browser.screenshot(&artifacts.join("lg-overview.png"))?;

    // 2. Log in through the form; the browser follows the redirect to the member page.
    browser.goto("/login")?;
    browser.type_into("input[name=token]", TANET_TOKEN)?;
    browser.click("form button")?;
    let ok = poll(PAGE_LIMIT, Duration::from_millis(200), || {
        browser
            .url()
            .map(|u| u.ends_with("/members/TANet"))
            .unwrap_or(false)
    });
    ensure!(
        ok,
        "login did not lead to /members/TANet: {}",
        browser.url()?
    );
    let t = browser.wait_text(&["Member TANet", "AS1659", "192.0.2.11", "Established"])?;
    ensure!(
        !t.contains("192.0.2.14"),
        "GSN's session on TANet's page:\n{t}"
    );
    browser.screenshot(&artifacts.join("lg-member.png"))?;

    // 3. TANet's filtered routes with the reason in words; nothing of GSN's.
    browser.goto("/routeservers/rs1/neighbors/192.0.2.11/routes/filtered")?;
    let t = browser.wait_text(&["10.10.0.0/16", "prefix is a bogon", "64500:1101:3"])?;
    ensure!(
        !t.contains("192.168.10.0"),
        "GSN's filtered route shown to TANet:\n{t}"
    );
    browser.screenshot(&artifacts.join("lg-filtered.png"))?;
    browser.goto("/routeservers/rs1/neighbors/192.0.2.14/routes/filtered")?;
    let t = browser.wait_text(&["403"])?;
    ensure!(
        !t.contains("192.168.10.0"),
        "GSN's filtered route on the 403 page:\n{t}"
    );

    // 4. Prefix search through the form: who announces, who receives it.
    browser.goto("/lookup")?;
    browser.type_into("input[name=prefix]", "140.112.1.1")?;
    browser.click("form.search button")?;
    let t = browser.wait_text(&["140.112.0.0/16", "TANet (AS1659)", "GSN (AS4782)"])?;
    ensure!(
        t.contains("the path from TANet"),
        "lookup does not say GSN receives TANet's path:\n{t}"
    );
    ensure!(
        browser.url()?.contains("/lookup?prefix=140.112.1.1"),
        "search result has no linkable URL: {}",
        browser.url()?
    );
    browser.screenshot(&artifacts.join("lg-lookup.png"))?;
    println!("screenshots in {}", artifacts.display());
    Ok(())
}

#[test]
fn fox_lg_browser() {
    if !installed("chromedriver") || !Path::new("/usr/lib/chromium/chromium").exists() {
        println!("SKIPPED fox_lg_browser: needs the Debian packages chromium and chromium-driver");
        return;
    }
    let plan = [
        (
            TANET,
            vec![
                Announce::new("140.112.0.0/16"),
                Announce::new("10.10.0.0/16"),
            ],
        ),
        (
            GSN,
            vec![
                Announce::new("163.29.0.0/16"),
                Announce::new("192.168.10.0/24"),
            ],
        ),
    ];
    run::<Fox>("fox_lg_browser", &plan, browse);
}
