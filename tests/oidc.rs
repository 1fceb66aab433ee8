//! Sign-in with a real OpenID Provider: the certified `oidc-provider` npm
//! package, run by Node from tests/oidc/provider.mjs on loopback (installed
//! by scripts/install-test-deps.sh). The redirect flow is driven over HTTP
//! without a browser: Afisha's login URL, the provider's authorization and
//! interaction redirects (cookies kept), Afisha's callback, and the final
//! redirect to the web UI's `/login/sso#…` or `/login?sso_error=…`.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use chrono::Duration;
use common::{Client, TestServer, skip_or_fail};
use serde_json::{Value, json};

const CLIENT_ID: &str = "afisha";
const CLIENT_SECRET: &str = "afisha-client-secret";
const ADMINS: &str = "afisha-admins";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Whether Node and the provider package are there (else the test skips,
/// or fails under AFISHA_REQUIRE_ALL).
fn available(test: &str) -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let package = provider_dir().join("node_modules/oidc-provider").is_dir();
    if node && package {
        return true;
    }
    skip_or_fail(
        test,
        "node and tests/oidc/node_modules (run scripts/install-test-deps.sh)",
    );
    false
}

/// A running provider; killed on drop.
struct Op {
    child: Option<Child>,
    _stdout: Option<BufReader<ChildStdout>>,
    port: u16,
    redirect: String,
}

impl Op {
    fn issuer_for(port: u16) -> String {
        format!("http://127.0.0.1:{port}")
    }

    fn issuer(&self) -> String {
        Self::issuer_for(self.port)
    }

    fn start(port: u16, srv: &TestServer) -> Op {
        let mut op = Op {
            child: None,
            _stdout: None,
            port,
            redirect: format!("{}/api/auth/oidc/callback", srv.base),
        };
        op.spawn();
        op
    }

    fn spawn(&mut self) {
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(provider_dir())
            .env("PORT", self.port.to_string())
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URI", &self.redirect)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(
            line.starts_with("ready "),
            "the provider did not start: {line:?}"
        );
        self.child = Some(child);
        self._stdout = Some(stdout);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self._stdout = None;
    }

    /// A restart on the same port: a new signing key (new `kid`), the old
    /// one gone from the JWKS.
    fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Who signs in at the next interaction.
    async fn choose(&self, account: Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/control/account", self.issuer()))
            .json(&account)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
}

impl Op {
    /// Spoils the ID token of the next token response.
    async fn tamper(&self, mode: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/control/tamper", self.issuer()))
            .json(&json!({"mode": mode}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        self.stop();
    }
}

fn person(sub: &str, email: &str, groups: &[&str]) -> Value {
    json!({
        "sub": sub,
        "email": email,
        "email_verified": true,
        "name": format!("Person {sub}"),
        "groups": groups,
    })
}

/// A browser without JavaScript: follows redirects by hand, keeping cookies.
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    /// One GET; the absolute URL of its `Location`.
    async fn step(&mut self, url: &url::Url) -> url::Url {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = self.http.get(url.clone());
        if !cookie.is_empty() {
            request = request.header("cookie", cookie);
        }
        let r = request.send().await.unwrap();
        for value in r.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.trim().into(), value.trim().into());
            }
        }
        assert!(
            r.status().is_redirection(),
            "{url}: {} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
        let location = r.headers()["location"].to_str().unwrap().to_string();
        url.join(&location).unwrap()
    }

    /// From Afisha's login URL to the provider's redirect back to Afisha's
    /// callback (or Afisha's own answer when it never goes to the provider).
    async fn until_callback(&mut self, srv: &TestServer) -> url::Url {
        let afisha = url::Url::parse(&srv.base).unwrap();
        let mut url = afisha.join("/api/auth/oidc/login").unwrap();
        for _ in 0..20 {
            let next = self.step(&url).await;
            if next.port_or_known_default() == afisha.port_or_known_default() {
                return next;
            }
            url = next;
        }
        panic!("too many redirects at {url}");
    }

    /// Afisha's answer to a callback URL: where the web UI is sent.
    async fn callback(&mut self, url: &url::Url) -> url::Url {
        self.step(url).await
    }

    /// The whole flow: the web UI URL Afisha ends on.
    async fn sign_in(&mut self, srv: &TestServer) -> url::Url {
        let back = self.until_callback(srv).await;
        if back.path() != "/api/auth/oidc/callback" {
            return back;
        }
        self.callback(&back).await
    }
}

/// The signed-in client of a `/login/sso#uid=…&token=…` landing.
fn session(srv: &TestServer, landing: &url::Url) -> Client {
    assert_eq!(landing.path(), "/login/sso", "not signed in: {landing}");
    let fragment: HashMap<String, String> =
        url::form_urlencoded::parse(landing.fragment().unwrap().as_bytes())
            .into_owned()
            .collect();
    let mut c = srv.anon();
    c.auth(&fragment["uid"], &fragment["token"]);
    c
}

fn sso_error(landing: &url::Url) -> String {
    assert_eq!(landing.path(), "/login", "expected a refusal: {landing}");
    landing
        .query_pairs()
        .find(|(k, _)| k == "sso_error")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Afisha configured for a provider on `port` (started after Afisha, which
/// must know its callback URL first).
async fn afisha(port: u16, adjust: impl FnOnce(&mut afisha::config::Config)) -> TestServer {
    TestServer::with(|c| {
        c.auth.oidc.issuer = Some(Op::issuer_for(port));
        c.auth.oidc.client_id = Some(CLIENT_ID.into());
        c.auth.oidc.client_secret = Some(CLIENT_SECRET.into());
        c.auth.oidc.display_name = "Corp SSO".into();
        c.auth.oidc.scopes = vec![
            "openid".into(),
            "email".into(),
            "profile".into(),
            "groups".into(),
        ];
        adjust(c);
    })
    .await
}

async fn users(srv: &TestServer) -> i64 {
    srv.query_i64("SELECT COUNT(*) FROM user", vec![]).await
}

#[tokio::test]
async fn first_sign_in_provisions_then_the_subject_finds_the_account() {
    if !available("oidc first sign-in") {
        return;
    }
    let port = free_port();
    let srv = afisha(port, |_| {}).await;
    let op = Op::start(port, &srv);
    let config = srv.anon().get("/config").await.expect(200);
    assert_eq!(
        config["sso"],
        json!({"name": "Corp SSO", "login_url": "/api/auth/oidc/login"})
    );

    op.choose(person("alice-1", "alice@corp.example", &[]))
        .await;
    let alice = session(&srv, &Browser::new().sign_in(&srv).await);
    let me = alice.get("/login").await.expect(200);
    assert_eq!(me["email"], "alice@corp.example");
    assert_eq!(me["full_name"], "Person alice-1");
    assert_eq!(me["role"], "USER");
    let rows = srv
        .sql_rows(
            "SELECT identity_provider, identity_subject FROM user WHERE id = ?1",
            vec![me["id"].clone()],
        )
        .await;
    assert_eq!(
        rows,
        [vec![
            json!("oidc"),
            json!(format!("{} alice-1", op.issuer()))
        ]]
    );

    // The provider now says another address: the subject, not the email,
    // finds the account.
    op.choose(person("alice-1", "alice.renamed@corp.example", &[]))
        .await;
    let again = session(&srv, &Browser::new().sign_in(&srv).await);
    assert_eq!(again.get("/login").await.expect(200)["id"], me["id"]);
    assert_eq!(users(&srv).await, 1);

    // A local account with the provider's address is linked once.
    let bob_local = srv.user_with("bob@corp.example", "Bob", false).await;
    let bob_id = bob_local.get("/login").await.expect(200)["id"].clone();
    op.choose(person("bob-7", "bob@corp.example", &[])).await;
    let bob = session(&srv, &Browser::new().sign_in(&srv).await);
    assert_eq!(bob.get("/login").await.expect(200)["id"], bob_id);
    assert_eq!(users(&srv).await, 2);

    // Another subject with an address already linked is refused.
    op.choose(person("mallory", "bob@corp.example", &[])).await;
    let landing = Browser::new().sign_in(&srv).await;
    assert_eq!(sso_error(&landing), "account_unavailable");
    assert_eq!(users(&srv).await, 2);
}

#[tokio::test]
async fn domains_and_unverified_emails_are_refused_without_a_session() {
    if !available("oidc refusals") {
        return;
    }
    let port = free_port();
    let srv = afisha(port, |c| {
        c.auth.oidc.allowed_domains = vec!["corp.example".into()];
    })
    .await;
    let op = Op::start(port, &srv);

    op.choose(person("eve", "eve@elsewhere.example", &[])).await;
    assert_eq!(
        sso_error(&Browser::new().sign_in(&srv).await),
        "domain_not_allowed"
    );

    let mut unverified = person("carol", "carol@corp.example", &[]);
    unverified["email_verified"] = json!(false);
    op.choose(unverified).await;
    assert_eq!(
        sso_error(&Browser::new().sign_in(&srv).await),
        "email_unverified"
    );

    assert_eq!(users(&srv).await, 0);
    assert_eq!(
        srv.query_i64("SELECT COUNT(*) FROM login_session", vec![])
            .await,
        0
    );

    // The same person, verified and in the domain, gets in.
    op.choose(person("carol", "carol@CORP.example", &[])).await;
    session(&srv, &Browser::new().sign_in(&srv).await)
        .get("/login")
        .await
        .expect(200);
}

#[tokio::test]
async fn the_admin_group_promotes_and_demotes() {
    if !available("oidc admin group") {
        return;
    }
    let port = free_port();
    let srv = afisha(port, |c| c.auth.oidc.admin_group = Some(ADMINS.into())).await;
    let op = Op::start(port, &srv);

    // Dave is the only administrator: removed from the group, he stays one
    // (the last-administrator rule).
    op.choose(person("dave", "dave@corp.example", &[ADMINS, "staff"]))
        .await;
    let dave = session(&srv, &Browser::new().sign_in(&srv).await);
    assert_eq!(
        dave.get("/login").await.expect(200)["role"],
        "ADMINISTRATOR"
    );
    op.choose(person("dave", "dave@corp.example", &["staff"]))
        .await;
    let dave = session(&srv, &Browser::new().sign_in(&srv).await);
    assert_eq!(
        dave.get("/login").await.expect(200)["role"],
        "ADMINISTRATOR"
    );

    // With another administrator, leaving the group demotes.
    srv.admin().await;
    op.choose(person("dave", "dave@corp.example", &["staff"]))
        .await;
    let dave = session(&srv, &Browser::new().sign_in(&srv).await);
    assert_eq!(dave.get("/login").await.expect(200)["role"], "USER");
    op.choose(person("dave", "dave@corp.example", &[ADMINS]))
        .await;
    let dave = session(&srv, &Browser::new().sign_in(&srv).await);
    assert_eq!(
        dave.get("/login").await.expect(200)["role"],
        "ADMINISTRATOR"
    );
}

#[tokio::test]
async fn a_state_is_taken_once_and_expires() {
    if !available("oidc state") {
        return;
    }
    let port = free_port();
    let srv = afisha(port, |_| {}).await;
    let op = Op::start(port, &srv);
    op.choose(person("erin", "erin@corp.example", &[])).await;

    let mut browser = Browser::new();
    let callback = browser.until_callback(&srv).await;
    assert_eq!(callback.path(), "/api/auth/oidc/callback", "{callback}");
    session(&srv, &browser.callback(&callback).await)
        .get("/login")
        .await
        .expect(200);
    // The same callback again (a replay): refused, no new session.
    assert_eq!(
        sso_error(&browser.callback(&callback).await),
        "invalid_state"
    );
    assert_eq!(
        srv.query_i64("SELECT COUNT(*) FROM login_session", vec![])
            .await,
        1
    );
    // A callback link carried to another browser (login CSRF): refused
    // there, and still good in the browser that started the sign-in.
    let mut started = Browser::new();
    let link = started.until_callback(&srv).await;
    assert_eq!(
        sso_error(&Browser::new().callback(&link).await),
        "invalid_state"
    );
    session(&srv, &started.callback(&link).await)
        .get("/login")
        .await
        .expect(200);
    // A state nobody issued.
    let mut forged = callback.clone();
    forged.set_query(Some("code=x&state=forged"));
    assert_eq!(sso_error(&browser.callback(&forged).await), "invalid_state");
    // No state at all.
    forged.set_query(Some("code=x"));
    assert_eq!(sso_error(&browser.callback(&forged).await), "invalid_state");

    // A sign-in left at the provider for more than ten minutes.
    let mut browser = Browser::new();
    let callback = browser.until_callback(&srv).await;
    srv.clock.advance(Duration::minutes(11));
    assert_eq!(
        sso_error(&browser.callback(&callback).await),
        "invalid_state"
    );
    assert_eq!(
        srv.query_i64("SELECT COUNT(*) FROM oidc_login", vec![])
            .await,
        0
    );
}

#[tokio::test]
async fn provider_down_and_wrong_secret_end_on_the_sign_in_page() {
    if !available("oidc provider down") {
        return;
    }
    let port = free_port();
    let srv = afisha(port, |_| {}).await;
    // Not started yet: down.
    assert_eq!(
        sso_error(&Browser::new().sign_in(&srv).await),
        "provider_unavailable"
    );
    let mut op = Op::start(port, &srv);
    op.choose(person("frank", "frank@corp.example", &[])).await;
    // Down between the redirect and the callback.
    let mut browser = Browser::new();
    let callback = browser.until_callback(&srv).await;
    op.stop();
    assert_eq!(
        sso_error(&browser.callback(&callback).await),
        "provider_unavailable"
    );
    assert_eq!(users(&srv).await, 0);

    // A client secret the provider does not know.
    let port = free_port();
    let wrong = afisha(port, |c| {
        c.auth.oidc.client_secret = Some("not-the-secret".into())
    })
    .await;
    let op = Op::start(port, &wrong);
    op.choose(person("frank", "frank@corp.example", &[])).await;
    assert_eq!(
        sso_error(&Browser::new().sign_in(&wrong).await),
        "provider_refused"
    );
    assert_eq!(users(&wrong).await, 0);
}

#[tokio::test]
async fn a_rotated_signing_key_still_signs_in() {
    if !available("oidc key rotation") {
        return;
    }
    let port = free_port();
    let srv = afisha(port, |_| {}).await;
    let mut op = Op::start(port, &srv);
    let jwks = |op: &Op| {
        let url = format!("{}/jwks", op.issuer());
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["keys"][0]["kid"]
                .clone()
        }
    };
    let before = jwks(&op).await;
    op.choose(person("grace", "grace@corp.example", &[])).await;
    let first = session(&srv, &Browser::new().sign_in(&srv).await);
    let id = first.get("/login").await.expect(200)["id"].clone();

    op.restart();
    assert_ne!(jwks(&op).await, before, "the provider rotated its key");
    op.choose(person("grace", "grace@corp.example", &[])).await;
    let second = session(&srv, &Browser::new().sign_in(&srv).await);
    assert_eq!(second.get("/login").await.expect(200)["id"], id);
}

#[tokio::test]
async fn a_tampered_id_token_is_refused() {
    if !available("oidc tampered token") {
        return;
    }
    let port = free_port();
    let srv = afisha(port, |_| {}).await;
    let op = Op::start(port, &srv);
    op.choose(person("heidi", "heidi@corp.example", &[])).await;
    for mode in ["signature", "audience", "expired", "nonce"] {
        op.tamper(mode).await;
        assert_eq!(
            sso_error(&Browser::new().sign_in(&srv).await),
            "invalid_token",
            "{mode}"
        );
    }
    assert_eq!(users(&srv).await, 0);
    // The same flow untouched signs in: the refusals were the tampering.
    session(&srv, &Browser::new().sign_in(&srv).await)
        .get("/login")
        .await
        .expect(200);
}

#[tokio::test]
async fn unverified_email_is_accepted_only_when_configured() {
    if !available("oidc require_verified_email") {
        return;
    }
    let port = free_port();
    let srv = afisha(port, |c| {
        c.auth.oidc.require_verified_email = false;
        c.auth.oidc.allowed_domains = vec!["corp.example".into()];
    })
    .await;
    let op = Op::start(port, &srv);
    let mut unverified = person("ivan", "ivan@corp.example", &[]);
    unverified["email_verified"] = json!(false);
    op.choose(unverified.clone()).await;
    session(&srv, &Browser::new().sign_in(&srv).await)
        .get("/login")
        .await
        .expect(200);
    // The domain rule still holds.
    unverified["email"] = json!("ivan@elsewhere.example");
    unverified["sub"] = json!("ivan-2");
    op.choose(unverified).await;
    assert_eq!(
        sso_error(&Browser::new().sign_in(&srv).await),
        "domain_not_allowed"
    );
}
