//! The host's command line, built inside the test package so that tests can
//! start it as a separate process (`CARGO_BIN_EXE_credit-host-cli`).

fn main() -> std::process::ExitCode {
    credit_host::cli::main()
}
