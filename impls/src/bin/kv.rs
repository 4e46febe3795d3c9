//! `kv`: a client of the key-value store (see `impls::kv::cli`).

fn main() -> std::process::ExitCode {
    impls::kv::cli::client_main(std::env::args_os())
}
