//! Tessera's end-to-end suite lives in `tests/platform.rs`: it walks the running platform
//! (`make up`) through the gateway on :8080, with the demo credentials of
//! `.tessera/demo.json`. Its tests are `#[ignore]`d in `make test` (they need the platform up);
//! `make e2e` brings the platform up and runs them (`--run-ignored only`).
