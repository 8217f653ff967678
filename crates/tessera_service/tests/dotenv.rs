//! `load_dotenv`: `.env` of the working directory is read, the environment wins, a missing
//! file is fine and a malformed one is an error. One test: it changes the process's directory.

#[test]
fn dotenv_is_read_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    assert!(
        !tessera_service::load_dotenv().unwrap(),
        "no .env: nothing read"
    );
    std::fs::write(
        dir.path().join(".env"),
        "TESSERA_DOTENV_ONLY=from-file\nTESSERA_DOTENV_BOTH=from-file\n",
    )
    .unwrap();
    assert!(std::env::var("TESSERA_DOTENV_BOTH").is_err());
    let set = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_reads_dotenv", "--ignored", "--nocapture"])
        .env("TESSERA_DOTENV_BOTH", "from-environment")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(set.status.success(), "{set:?}");
    let out = String::from_utf8(set.stdout).unwrap();
    assert!(out.contains("ONLY=from-file"), "{out}");
    assert!(out.contains("BOTH=from-environment"), "{out}");
    std::fs::write(dir.path().join(".env"), "NOT A VALID LINE\n").unwrap();
    let bad = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_reads_dotenv", "--ignored", "--nocapture"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success(), "a malformed .env fails");
}

/// Run by the test above in a child process (its own environment).
#[test]
#[ignore = "run as a child process by dotenv_is_read_and_the_environment_wins"]
fn child_reads_dotenv() {
    tessera_service::load_dotenv().expect(".env parses");
    println!(
        "ONLY={} BOTH={}",
        std::env::var("TESSERA_DOTENV_ONLY").unwrap_or_default(),
        std::env::var("TESSERA_DOTENV_BOTH").unwrap_or_default()
    );
}
