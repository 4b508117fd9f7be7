use yreplica::config::SyncConfig;

#[test]
fn defaults_match_the_api_contract() {
    let c = SyncConfig::from_json("{}").unwrap();
    assert!(c.endpoints.is_empty());
    assert_eq!(c.heartbeat_interval_ms, 1000.0);
    assert_eq!(c.missed_heartbeats, 2.0);
    assert_eq!(c.connect_timeout_ms, 3000.0);
    assert_eq!((c.backoff.initial_ms, c.backoff.max_ms), (250.0, 10000.0));
    assert!(c.failback);
    assert_eq!(c.failback_after_ms, 10000.0);
    // document messages are bounded by what a replica can hold (a 1M-record sync answer is
    // ~200 MB), everything else by 4 MiB
    assert_eq!(c.max_frame_bytes, 512.0 * 1024.0 * 1024.0);
    assert_eq!(c.max_message_bytes, None);
    assert_eq!(c.max_message_bytes(), 4.0 * 1024.0 * 1024.0);
    assert_eq!(c.max_backlog_bytes, 64.0 * 1024.0 * 1024.0);
    assert_eq!(c.sync_timeout_ms, 120_000.0);
}

#[test]
fn the_message_limit_follows_a_lower_frame_limit_unless_given() {
    // an app that kept a small maxFrameBytes gets the same bound for every message
    let c = SyncConfig::from_json(r#"{"maxFrameBytes":8192}"#).unwrap();
    assert_eq!(c.max_message_bytes(), 8192.0);
    let c = SyncConfig::from_json(r#"{"maxFrameBytes":8192,"maxMessageBytes":1024}"#).unwrap();
    assert_eq!(c.max_message_bytes(), 1024.0);
    // the old 16 MiB document limit still works as before, with 4 MiB for the rest
    let c = SyncConfig::from_json(r#"{"maxFrameBytes":16777216}"#).unwrap();
    assert_eq!(c.max_message_bytes(), 4.0 * 1024.0 * 1024.0);
    // the checked options go back to JS with the limits the engine uses
    let back: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back["maxFrameBytes"], 16777216.0);
    assert_eq!(back["maxBacklogBytes"], 67108864.0);
}

#[test]
fn errors_about_an_endpoint_with_credentials_never_echo_them() {
    let err = SyncConfig::from_json(r#"{"endpoints":["ws://u:s3cret@a"]}"#).unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[test]
fn a_refused_endpoint_is_shown_without_its_query_fragment_or_credentials() {
    for (url, shown) in [
        ("ws://host/path?token=s3cret", "'ws://host/path?…'"),
        ("ws://host#access_token=s3cret", "'ws://host#…'"),
        ("http://host/?token=s3cret", "'http://host/?…'"),
        ("https://u:s3cret@host/x", "'https://…@host/x'"),
        ("u:s3cret@host?token=s3cret", "'…@host?…'"),
        ("ws://?token=s3cret", "'ws://?…'"),
    ] {
        let json = serde_json::json!({ "endpoints": [url] }).to_string();
        let err = SyncConfig::from_json(&json).unwrap_err().to_string();
        assert!(!err.contains("s3cret"), "{url}: {err}");
        assert!(err.contains(shown), "{url}: {err}");
    }
    let json = serde_json::json!({ "endpoints": ["ws://a", "ws://a"] }).to_string();
    assert!(SyncConfig::from_json(&json)
        .unwrap_err()
        .to_string()
        .contains("'ws://a' is listed twice"));
}

#[test]
fn every_documented_option_is_accepted() {
    let c = SyncConfig::from_json(
        r#"{"name":"x","room":"r","storage":"memory","endpoints":["ws://127.0.0.1:1234","wss://example.org/yjs"],
            "heartbeatIntervalMs":500,"missedHeartbeats":3,"connectTimeoutMs":100,
            "backoff":{"initialMs":10,"maxMs":20},"failback":false,"failbackAfterMs":5,"params":{"token":"abc"}}"#,
    )
    .unwrap();
    assert_eq!(c.endpoints.len(), 2);
    assert_eq!(c.params.get("token").map(String::as_str), Some("abc"));
}

#[test]
fn invalid_options_are_named() {
    for (json, needle) in [
        (r#"{"endpoints":["http://a"]}"#, "not a ws:// or wss:// URL"),
        (r#"{"endpoints":["ws://"]}"#, "has no host"),
        (r#"{"endpoints":["ws://a?x=1"]}"#, "use `params`"),
        (r#"{"endpoints":["ws://a","ws://a"]}"#, "listed twice"),
        (r#"{"heartbeatIntervalMs":0}"#, "heartbeatIntervalMs"),
        (r#"{"connectTimeoutMs":-5}"#, "connectTimeoutMs"),
        (r#"{"missedHeartbeats":1.5}"#, "whole number"),
        (
            r#"{"backoff":{"initialMs":100,"maxMs":10}}"#,
            "backoff.maxMs",
        ),
        (r#"{"backoff":{"initial":1}}"#, "unknown field"),
        (r#"{"failback":"yes"}"#, "invalid type"),
        (r#"{"endpoints":"ws://a"}"#, "invalid type"),
        (
            r#"{"endpoints":["ws://u:secret@a"]}"#,
            "must not carry credentials",
        ),
        (r#"{"maxFrameBytes":0}"#, "maxFrameBytes"),
        (r#"{"maxFrameBytes":10.5}"#, "whole number of bytes"),
        (
            r#"{"maxFrameBytes":1e12}"#,
            "whole number of bytes up to 2147483648",
        ),
        (r#"{"maxMessageBytes":0}"#, "maxMessageBytes"),
        (r#"{"maxMessageBytes":1.5}"#, "whole number of bytes"),
        (
            r#"{"maxFrameBytes":1000,"maxMessageBytes":2000}"#,
            "maxMessageBytes: must not exceed maxFrameBytes (1000), got 2000",
        ),
        (r#"{"maxBacklogBytes":-1}"#, "maxBacklogBytes"),
        (r#"{"maxBacklogBytes":3e9}"#, "whole number of bytes"),
        (r#"{"syncTimeoutMs":0}"#, "syncTimeoutMs"),
        (r#"{"syncTimeoutMs":"long"}"#, "invalid type"),
    ] {
        let err = SyncConfig::from_json(json).unwrap_err();
        assert!(err.to_string().contains(needle), "{json}: {err}");
    }
}

#[test]
fn timing_options_are_bounded_to_a_day() {
    // deadlines are u64 milliseconds and setTimeout fires at once past ~24.8 days
    for key in [
        "heartbeatIntervalMs",
        "connectTimeoutMs",
        "failbackAfterMs",
        "syncTimeoutMs",
    ] {
        let ok = SyncConfig::from_json(&format!(r#"{{"{key}":86400000}}"#));
        assert!(ok.is_ok(), "{key}: one day is allowed");
        let err = SyncConfig::from_json(&format!(r#"{{"{key}":86400001}}"#)).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
        assert!(err.to_string().contains("one day"), "{err}");
    }
    let err = SyncConfig::from_json(r#"{"backoff":{"initialMs":1,"maxMs":1e12}}"#).unwrap_err();
    assert!(err.to_string().contains("backoff.maxMs"), "{err}");
    let err = SyncConfig::from_json(r#"{"missedHeartbeats":1001}"#).unwrap_err();
    assert!(err.to_string().contains("missedHeartbeats"), "{err}");
}
