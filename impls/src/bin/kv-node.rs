//! `kv-node`: runs one node of the key-value store (see `impls::kv::cli`).

fn main() -> std::process::ExitCode {
    impls::kv::cli::node_main(std::env::args_os())
}
