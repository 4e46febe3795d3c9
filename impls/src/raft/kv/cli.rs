//! The `raft-kv` command line, as a library function: `raft-kv serve` runs one node of
//! the service (the flags of `raft-node`), and `get`, `put`, `delete` and `cas` talk to
//! a cluster, as the `kv` command does to the kv store.
//!
//! ```text
//! raft-kv serve --id N --peers A,B,C --client ADDR --data DIR [--read-mode lease] ...
//! raft-kv get K          --cluster ADDR,ADDR,...   prints the value (nothing if absent)
//! raft-kv put K V        --cluster ...             prints `ok`
//! raft-kv delete K       --cluster ...
//! raft-kv cas K FROM TO  --cluster ...             sets K to TO if it holds FROM
//! raft-kv cas K --if-absent TO --cluster ...       sets K to TO if it is absent
//! ```
//!
//! Exit codes: 0 success; 1 a request that definitely did not take effect (a cas
//! mismatch, no leader within the timeout, an expired session, a request refused as
//! invalid); 2 a usage error naming the argument, or a node that refused to start
//! (`serve`, as `raft-node`); 3 a request that may have taken effect (indefinite: a
//! timeout or a lost connection after it was sent). A failure prints one line on stderr
//! with its kind and verdict.

use super::client::Client;
use super::error::Error;
use super::machine::KvMachine;
use crate::raft::node::cli::{serve, NodeFlags};
use crate::sim::net::TokioNet;
use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

/// `raft-kv`: a linearizable key-value service on Raft, and its client.
#[derive(Parser, Debug)]
#[command(name = "raft-kv", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one node of the service (the flags are `raft-node`'s).
    Serve(NodeFlags),
    #[command(flatten)]
    Client(ClientCommand),
}

#[derive(Subcommand, Debug)]
enum ClientCommand {
    /// Print the value of KEY (nothing, and a note on stderr, if it is absent).
    Get {
        /// The key.
        key: String,
        #[command(flatten)]
        target: Target,
    },
    /// Set KEY to VALUE.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        #[command(flatten)]
        target: Target,
    },
    /// Remove KEY (succeeds if it is absent).
    Delete {
        /// The key.
        key: String,
        #[command(flatten)]
        target: Target,
    },
    /// Set KEY to TO if it holds FROM (or, with --if-absent, if it is absent).
    Cas {
        /// The key.
        key: String,
        /// FROM TO, or only TO with --if-absent.
        #[arg(value_name = "FROM TO", num_args = 1..=2, required = true)]
        values: Vec<String>,
        /// Expect the key to be absent instead of holding FROM.
        #[arg(long = "if-absent")]
        if_absent: bool,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Args, Debug)]
struct Target {
    /// The nodes' client addresses: HOST:PORT,HOST:PORT,... (any one will do; the client
    /// follows the leader).
    #[arg(long, value_delimiter = ',', required = true)]
    cluster: Vec<String>,
    /// Give up on the request after this many milliseconds, retries included.
    #[arg(long = "timeout-ms", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// Wait this long for one node's answer before trying again.
    #[arg(long = "attempt-timeout-ms", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    attempt_timeout_ms: u64,
}

/// Runs `raft-kv` with `args` (the first is the program name); see the module docs for
/// the exit codes.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let command = match cli.command {
        Command::Serve(flags) => return serve("raft-kv", &flags, KvMachine::new()),
        Command::Client(command) => command,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("raft-kv: error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run_client(command))
}

fn client(target: &Target) -> Client<TokioNet> {
    let mut c = Client::new(TokioNet, target.cluster.clone());
    c.set_timeout(Duration::from_millis(target.timeout_ms));
    c.set_attempt_timeout(Duration::from_millis(target.attempt_timeout_ms));
    c
}

async fn run_client(command: ClientCommand) -> ExitCode {
    let (what, result): (&str, Result<(), Error>) = match command {
        ClientCommand::Get { key, target } => (
            "get",
            client(&target).get(&key).await.map(|v| match v {
                Some(v) => println!("{v}"),
                None => eprintln!("raft-kv: {key:?} is absent"),
            }),
        ),
        ClientCommand::Put { key, value, target } => (
            "put",
            client(&target)
                .put(&key, &value)
                .await
                .map(|()| println!("ok")),
        ),
        ClientCommand::Delete { key, target } => (
            "delete",
            client(&target).delete(&key).await.map(|()| println!("ok")),
        ),
        ClientCommand::Cas {
            key,
            values,
            if_absent,
            target,
        } => {
            let (from, to) = match (if_absent, values.as_slice()) {
                (false, [from, to]) => (Some(from.as_str()), to.as_str()),
                (true, [to]) => (None, to.as_str()),
                (false, _) => {
                    eprintln!("raft-kv: error: cas takes FROM TO (or --if-absent TO)");
                    return ExitCode::from(2);
                }
                (true, _) => {
                    eprintln!("raft-kv: error: cas --if-absent takes only TO");
                    return ExitCode::from(2);
                }
            };
            (
                "cas",
                client(&target)
                    .cas(&key, from, to)
                    .await
                    .map(|()| println!("ok")),
            )
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raft-kv: {what} failed: {e}");
            exit_code(&e)
        }
    }
}

/// 1 for a definite failure, 3 for an indefinite one.
fn exit_code(e: &Error) -> ExitCode {
    if e.is_definite() {
        ExitCode::from(1)
    } else {
        ExitCode::from(3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::kv::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("raft-kv").chain(args.iter().copied()))
    }

    #[test]
    fn client_commands_parse_in_the_shape_of_kv() {
        let cli = parse(&["cas", "k", "a", "b", "--cluster", "h:1,h:2"]).unwrap();
        let Command::Client(ClientCommand::Cas {
            values,
            if_absent,
            target,
            ..
        }) = cli.command
        else {
            panic!()
        };
        assert_eq!(values, ["a", "b"]);
        assert!(!if_absent);
        assert_eq!(target.cluster, ["h:1", "h:2"]);
        let cli = parse(&["cas", "k", "--if-absent", "b", "--cluster", "h:1"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Client(ClientCommand::Cas {
                if_absent: true,
                ..
            })
        ));
        assert!(parse(&["get", "k"]).is_err(), "--cluster is required");
        assert!(parse(&["put", "k"]).is_err());
        let serve = parse(&[
            "serve", "--id", "0", "--peers", "h:1", "--client", "h:2", "--data", "d",
        ])
        .unwrap();
        let Command::Serve(flags) = serve.command else {
            panic!()
        };
        assert_eq!(
            flags.node_config().unwrap().data_dir,
            std::path::PathBuf::from("d")
        );
    }

    #[test]
    fn usage_errors_exit_2_and_failures_by_verdict() {
        assert_eq!(
            main(["raft-kv", "frob"].map(OsString::from)),
            ExitCode::from(2)
        );
        assert_eq!(
            main(["raft-kv", "cas", "k", "a", "--cluster", "127.0.0.1:1"].map(OsString::from)),
            ExitCode::from(2)
        );
        assert_eq!(
            exit_code(&Error::new(ErrorKind::Timeout, "t", false)),
            ExitCode::from(3)
        );
        assert_eq!(
            exit_code(&Error::new(
                ErrorKind::CasMismatch { current: None },
                "c",
                true
            )),
            ExitCode::from(1)
        );
    }
}
