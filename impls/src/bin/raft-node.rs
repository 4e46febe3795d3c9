//! `raft-node`: runs one server of a Raft cluster (see `impls::raft::node`).

fn main() -> std::process::ExitCode {
    impls::raft::node::cli::main(std::env::args_os())
}
