//! Records the compiler's version for baselines' toolchain facts: a result says which rustc
//! built the simulator it measured.
fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=MEMBOUND_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
