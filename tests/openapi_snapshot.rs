//! Issue 20: the web UI's typed client is generated from
//! `frontend/openapi.json`; this fails while that file differs from the
//! document the binary serves (`afisha openapi`), so a change of the API
//! cannot leave the client's types behind. Fix: `make openapi`, then
//! `make frontend`.

use std::process::Command;

#[test]
fn the_committed_openapi_document_is_the_served_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The defaults' document: no configuration file, no AFISHA_* settings.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_afisha"));
    cmd.arg("openapi").current_dir(dir.path());
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("AFISHA_")) {
        cmd.env_remove(key);
    }
    let out = cmd.output().expect("run afisha openapi");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let served: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/frontend/openapi.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("frontend/openapi.json"))
            .expect("JSON");
    assert!(
        served == committed,
        "frontend/openapi.json is stale: run `make openapi`, then `make frontend`"
    );
    // What the UI relies on is in it.
    assert!(served["components"]["schemas"]["ErrorCode"]["enum"].is_array());
    assert!(served["paths"]["/api/events/cards"].is_object());
}
