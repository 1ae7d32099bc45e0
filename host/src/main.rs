//! `credit-host`: a storefront simulator around the credit-account component.
//! The commands live in the library (`credit_host::cli`) so tests can run
//! them in a separate process too.

fn main() -> std::process::ExitCode {
    credit_host::cli::main()
}
