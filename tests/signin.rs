//! Corporate sign-in against a real directory: Debian's `slapd`, started
//! per test with a seeded tree and a throwaway certificate authority
//! (LDAPS and StartTLS), and `auth.password_login = false`.

mod common;

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use afisha::config::Config;
use common::{TestServer, skip_or_fail};
use serde_json::{Value, json};

const BASE: &str = "dc=corp,dc=example";
const ADMINS: &str = "cn=afisha-admins,ou=groups,dc=corp,dc=example";
const READER: &str = "cn=reader,dc=corp,dc=example";
const READER_PW: &str = "reader-secret";
const ROOT: &str = "cn=admin,dc=corp,dc=example";
const ROOT_PW: &str = "root-secret";

fn person(uid: &str) -> String {
    format!("uid={uid},ou=people,{BASE}")
}

/// A running `slapd` on two loopback ports; killed on drop.
struct Slapd {
    child: Child,
    dir: tempfile::TempDir,
    ldap_port: u16,
    ldaps_port: u16,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Slapd {
    /// `None` (after saying why) when slapd is not installed here.
    fn start(test: &str) -> Option<Slapd> {
        let slapd = PathBuf::from("/usr/sbin/slapd");
        if !slapd.is_file() || Command::new("openssl").arg("version").output().is_err() {
            skip_or_fail(
                test,
                "slapd or openssl missing (apt-get install slapd openssl)",
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("db")).unwrap();
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        run(
            d,
            "openssl",
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=Afisha Test CA",
                ],
            ]
            .concat(),
        );
        run(
            d,
            "openssl",
            &[
                &["req"][..],
                &ec,
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=localhost",
                ],
            ]
            .concat(),
        );
        run(
            d,
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        );
        let p = d.display();
        std::fs::write(
            d.join("slapd.conf"),
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 pidfile {p}/slapd.pid\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 TLSCACertificateFile {p}/ca.pem\n\
                 TLSCertificateFile {p}/server.pem\n\
                 TLSCertificateKeyFile {p}/server.key\n\
                 database mdb\n\
                 maxsize 10485760\n\
                 suffix \"{BASE}\"\n\
                 rootdn \"{ROOT}\"\n\
                 rootpw {ROOT_PW}\n\
                 directory {p}/db\n\
                 access to attrs=userPassword by self write by anonymous auth by * none\n\
                 access to * by dn.exact=\"{READER}\" read by * none\n"
            ),
        )
        .unwrap();
        let people = [
            (
                "alice",
                "Alice Directory",
                "alice@corp.example",
                "alice-pass",
            ),
            ("bob", "Bob Directory", "bob@corp.example", "bob-pass"),
            (
                "carol",
                "Carol Directory",
                "carol@corp.example",
                "carol-pass",
            ),
        ];
        let mut seed = format!(
            "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: corp\no: Corp\n\n\
             dn: {READER}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
             cn: reader\nuserPassword: {READER_PW}\n\n\
             dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n\
             dn: {ADMINS}\nobjectClass: groupOfNames\ncn: afisha-admins\nmember: {READER}\nmember: {}\n\n",
            person("alice")
        );
        for (uid, name, mail, pw) in people {
            seed += &format!(
                "dn: {}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\nsn: Directory\n\
                 mail: {mail}\nuserPassword: {pw}\n\n",
                person(uid)
            );
        }
        std::fs::write(d.join("seed.ldif"), seed).unwrap();
        run(
            d,
            "/usr/sbin/slapadd",
            &["-f", "slapd.conf", "-l", "seed.ldif"],
        );

        let (ldap_port, ldaps_port) = (free_port(), free_port());
        let urls = format!("ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/");
        let child = Command::new(&slapd)
            .args(["-f", "slapd.conf", "-h", &urls, "-d", "0"])
            .current_dir(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", ldaps_port)).is_err() {
            assert!(Instant::now() < deadline, "slapd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Slapd {
            child,
            dir,
            ldap_port,
            ldaps_port,
        })
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Afisha's `[auth.ldap]` for this server over LDAPS.
    fn configure(&self, c: &mut Config) {
        let l = &mut c.auth.ldap;
        l.url = Some(format!("ldaps://127.0.0.1:{}", self.ldaps_port));
        l.ca_file = Some(self.ca());
        l.bind_dn = Some(READER.into());
        l.bind_password = Some(READER_PW.into());
        l.base_dn = Some(BASE.into());
        l.admin_group = Some(ADMINS.into());
    }

    /// Changes the directory as its administrator would (over StartTLS).
    async fn modify(&self, dn: &str, change: ldap3::Mod<String>) {
        let tls = rustls_config(&self.ca());
        let settings = ldap3::LdapConnSettings::new()
            .set_starttls(true)
            .set_config(tls);
        let url = format!("ldap://127.0.0.1:{}", self.ldap_port);
        let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(settings, &url)
            .await
            .unwrap();
        ldap3::drive!(conn);
        ldap.simple_bind(ROOT, ROOT_PW)
            .await
            .unwrap()
            .success()
            .unwrap();
        ldap.modify(dn, vec![change])
            .await
            .unwrap()
            .success()
            .unwrap();
        ldap.unbind().await.unwrap();
    }
}

fn rustls_config(ca: &Path) -> std::sync::Arc<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn values(set: &[&str]) -> HashSet<String> {
    set.iter().map(|s| s.to_string()).collect()
}

async fn login(srv: &TestServer, email: &str, password: &str) -> common::Resp {
    srv.anon()
        .post("/login", json!({"email": email, "password": password}))
        .await
}

/// Signs in and returns the account as `GET /users/me` shows it.
async fn sign_in(srv: &TestServer, email: &str, password: &str) -> Value {
    let r = login(srv, email, password).await;
    let body = r.expect(201);
    let mut client = srv.anon();
    client.auth(
        body["login_session_uid"].as_str().unwrap(),
        body["login_session_token"].as_str().unwrap(),
    );
    client.get("/users/me").await.expect(200)
}

#[tokio::test]
async fn directory_sign_in_provisions_once_and_follows_the_admin_group() {
    let Some(ldap) = Slapd::start("directory_sign_in_provisions_once_and_follows_the_admin_group")
    else {
        return;
    };
    let srv = TestServer::with(|c| ldap.configure(c)).await;
    let _admin = srv.admin().await; // another administrator besides alice

    let alice = sign_in(&srv, "alice@corp.example", "alice-pass").await;
    assert_eq!(alice["full_name"], "Alice Directory");
    assert_eq!(alice["email"], "alice@corp.example");
    assert_eq!(alice["sign_in"], json!(["ldap"]));
    assert_eq!(
        alice["role"], "ADMINISTRATOR",
        "in the administrators' group"
    );

    // Second sign-in (address typed in another case): the same account.
    let again = sign_in(&srv, "Alice@Corp.Example", "alice-pass").await;
    assert_eq!(again["id"], alice["id"]);
    let users = srv
        .query_i64(
            "SELECT COUNT(*) FROM user WHERE email_key = 'alice@corp.example'",
            vec![],
        )
        .await;
    assert_eq!(users, 1);

    // Out of the group: an ordinary user at the next sign-in; back in: an
    // administrator again.
    ldap.modify(
        ADMINS,
        ldap3::Mod::Add("member".into(), values(&[&person("bob")])),
    )
    .await;
    ldap.modify(
        ADMINS,
        ldap3::Mod::Delete("member".into(), values(&[&person("alice")])),
    )
    .await;
    assert_eq!(
        sign_in(&srv, "alice@corp.example", "alice-pass").await["role"],
        "USER"
    );
    let bob = sign_in(&srv, "bob@corp.example", "bob-pass").await;
    assert_eq!(bob["role"], "ADMINISTRATOR");

    // The account is found by its directory entry, not by email: after the
    // directory changes carol's address, she signs in to the same account.
    let carol = sign_in(&srv, "carol@corp.example", "carol-pass").await;
    ldap.modify(
        &person("carol"),
        ldap3::Mod::Replace("mail".into(), values(&["carol.new@corp.example"])),
    )
    .await;
    let moved = sign_in(&srv, "carol.new@corp.example", "carol-pass").await;
    assert_eq!(moved["id"], carol["id"]);

    // Wrong password, unknown person: the same 401, and no session.
    login(&srv, "alice@corp.example", "wrong")
        .await
        .expect_detail(401, "Invalid email or password");
    login(&srv, "alice@corp.example", "")
        .await
        .expect_detail(401, "Invalid email or password");
    login(&srv, "nobody@corp.example", "whatever")
        .await
        .expect_detail(401, "Invalid email or password");
    // A filter character in the address is escaped, not interpreted
    // (unescaped, `alice*@…` would match alice's entry).
    login(&srv, "alice*@corp.example", "alice-pass")
        .await
        .expect_detail(401, "Invalid email or password");
}

#[tokio::test]
async fn an_existing_account_is_linked_once_and_the_last_admin_stays() {
    let Some(ldap) = Slapd::start("an_existing_account_is_linked_once_and_the_last_admin_stays")
    else {
        return;
    };
    // The only administrator is alice, created locally before the directory
    // was configured.
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::test_config(dir.path());
    ldap.configure(&mut config);
    let srv = TestServer::start_in(dir, config).await;
    srv.user_with("alice@corp.example", "Alice Local", true)
        .await;

    let alice = sign_in(&srv, "alice@corp.example", "alice-pass").await;
    assert_eq!(alice["full_name"], "Alice Local", "linked, not re-created");
    assert_eq!(alice["sign_in"], json!(["password", "ldap"]));

    // Taken out of the group while she is the only administrator: the
    // last-administrator rule keeps her one.
    ldap.modify(
        ADMINS,
        ldap3::Mod::Delete("member".into(), values(&[&person("alice")])),
    )
    .await;
    assert_eq!(
        sign_in(&srv, "alice@corp.example", "alice-pass").await["role"],
        "ADMINISTRATOR"
    );

    // A local account that is linked elsewhere is not taken over by email:
    // bob's local account is linked to bob's entry; then the directory gives
    // carol bob's address.
    srv.user_with("bob@corp.example", "Bob Local", false).await;
    sign_in(&srv, "bob@corp.example", "bob-pass").await;
    ldap.modify(
        &person("bob"),
        ldap3::Mod::Replace("mail".into(), values(&["bob.old@corp.example"])),
    )
    .await;
    ldap.modify(
        &person("carol"),
        ldap3::Mod::Replace("mail".into(), values(&["bob@corp.example"])),
    )
    .await;
    login(&srv, "bob@corp.example", "carol-pass")
        .await
        .expect_detail(403, "This account is linked to another identity");
}

#[tokio::test]
async fn starttls_and_failures_are_clear() {
    let Some(ldap) = Slapd::start("starttls_and_failures_are_clear") else {
        return;
    };
    // StartTLS on the plain port, trusting the test CA.
    let srv = TestServer::with(|c| {
        ldap.configure(c);
        c.auth.ldap.url = Some(format!("ldap://127.0.0.1:{}", ldap.ldap_port));
        c.auth.ldap.starttls = true;
    })
    .await;
    assert_eq!(
        sign_in(&srv, "bob@corp.example", "bob-pass").await["sign_in"],
        json!(["ldap"])
    );
    srv.stop().await;

    // A certificate nobody vouches for (system roots only), a wrong service
    // password, a directory that is down: 503 with a readable message and
    // Retry-After, never a session.
    let untrusted = TestServer::with(|c| {
        ldap.configure(c);
        c.auth.ldap.ca_file = None;
    })
    .await;
    let wrong_reader = TestServer::with(|c| {
        ldap.configure(c);
        c.auth.ldap.bind_password = Some("not-it".into());
    })
    .await;
    let closed = free_port();
    let down = TestServer::with(|c| {
        ldap.configure(c);
        c.auth.ldap.url = Some(format!("ldap://127.0.0.1:{closed}"));
        c.auth.ldap.timeout_secs = 2;
    })
    .await;
    for srv in [&untrusted, &wrong_reader, &down] {
        let r = login(srv, "bob@corp.example", "bob-pass").await;
        r.expect_detail(503, "Sign-in directory unavailable, try later");
        assert_eq!(r.header("retry-after").as_deref(), Some("5"));
        let sessions = srv
            .query_i64("SELECT COUNT(*) FROM login_session", vec![])
            .await;
        assert_eq!(sessions, 0);
    }
}

#[tokio::test]
async fn without_password_login_every_password_route_is_closed() {
    let Some(ldap) = Slapd::start("without_password_login_every_password_route_is_closed") else {
        return;
    };
    let srv = TestServer::with(|c| {
        ldap.configure(c);
        c.auth.password_login = false;
    })
    .await;
    let config = srv.anon().get("/config").await.expect(200);
    assert_eq!(config["registration"], false);
    assert_eq!(config["ldap"], true);
    assert_eq!(config["password_login"], true, "through the directory");

    let closed = "Password sign-in is disabled";
    let anon = srv.anon();
    anon.post(
        "/register",
        json!({"email": "new@corp.example", "full_name": "New Person", "password": "long-enough-1"}),
    )
    .await
    .expect_detail(403, closed);
    let token = uuid::Uuid::new_v4();
    anon.post(
        "/register/verification",
        json!({"token": token, "code": 123456}),
    )
    .await
    .expect_detail(403, closed);
    anon.post("/register/resend", json!({"token": token}))
        .await
        .expect_detail(403, closed);
    anon.post("/login/recovery", json!({"email": "bob@corp.example"}))
        .await
        .expect_detail(403, closed);
    anon.post(
        "/login/recovery/submit",
        json!({"token": token, "password": "long-enough-1"}),
    )
    .await
    .expect_detail(403, closed);

    // A local user cannot sign in with a password, right or wrong; a local
    // administrator can (the way in when the directory is down); the
    // directory's people can.
    srv.user_with("local@example.com", "Local User", false)
        .await;
    login(&srv, "local@example.com", common::PASSWORD)
        .await
        .expect_detail(403, closed);
    login(&srv, "local@example.com", "wrong")
        .await
        .expect_detail(403, closed);
    srv.user_with("root@example.com", "Break Glass", true).await;
    login(&srv, "root@example.com", common::PASSWORD)
        .await
        .expect(201);
    sign_in(&srv, "carol@corp.example", "carol-pass").await;
}
