//! `raft-kv`: runs a node of the Raft key-value service, or talks to one (see
//! `impls::raft::kv::cli`).

fn main() -> std::process::ExitCode {
    impls::raft::kv::cli::main(std::env::args_os())
}
