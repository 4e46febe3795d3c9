//! Our side: a `raft-kv` cluster on loopback, each node this very executable re-run as
//! the hidden `check bench raft --serve-node serve ...` (the `raft-kv serve` command
//! line, compiled into `check`), so that the nodes are separate processes as etcd's are
//! and always the same build as the bench.

use super::etcd::free_ports;
use super::load::KvClient;
use super::procstat;
use crate::reaper;
use anyhow::{bail, Context, Result};
use impls::raft::kv::Client;
use impls::sim::net::TokioNet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

/// The hidden flag that turns `check bench raft` into one `raft-kv` node.
pub const SERVE_FLAG: &str = "serve-node";

/// How long a cluster may take to elect a leader and commit a first write.
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one request may take, retries included, before the client gives up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The value of `key=value` field `name` in a `status` line.
pub fn status_field(line: &str, name: &str) -> Option<u64> {
    line.split_whitespace().find_map(|word| {
        let (k, v) = word.split_once('=')?;
        (k == name).then(|| v.parse().ok())?
    })
}

/// A running `raft-kv` cluster: the processes and their data directory, killed and
/// removed when dropped (fields drop in order: the processes first).
pub struct OursCluster {
    children: Vec<reaper::Child>,
    pids: Vec<u32>,
    /// Each node's client address, `127.0.0.1:PORT`, in id order.
    pub client_addrs: Vec<String>,
    dir: reaper::TempDir,
}

impl OursCluster {
    /// Starts `nodes` nodes with `exe` (this executable), each in its own data directory
    /// under one temporary directory, and waits until a write commits.
    pub fn start(exe: &Path, nodes: usize, rt: &Runtime) -> Result<OursCluster> {
        let dir = reaper::TempDir::new("check-bench-raft-")
            .context("cannot create the nodes' data directory")?;
        let ports = free_ports(2 * nodes)?;
        let peers: Vec<String> = (0..nodes)
            .map(|i| format!("127.0.0.1:{}", ports[nodes + i]))
            .collect();
        let client_addrs: Vec<String> =
            (0..nodes).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
        let mut cluster = OursCluster {
            children: Vec::new(),
            pids: Vec::new(),
            client_addrs,
            dir,
        };
        for i in 0..nodes {
            let log = std::fs::File::create(cluster.log_path(i))
                .with_context(|| format!("cannot create {}", cluster.log_path(i).display()))?;
            let mut command = Command::new(exe);
            command
                .args(["bench", "raft", &format!("--{SERVE_FLAG}"), "serve"])
                .args(["--id", &i.to_string()])
                .args(["--peers", &peers.join(",")])
                .args(["--client", &cluster.client_addrs[i]])
                .arg("--data-dir")
                .arg(cluster.data_dir(i))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log);
            let child = reaper::Child::spawn(command)
                .with_context(|| format!("cannot start {}", exe.display()))?;
            cluster.pids.push(child.id().expect("a child just spawned is not yet reaped"));
            cluster.children.push(child);
        }
        rt.block_on(cluster.wait_ready())?;
        Ok(cluster)
    }

    fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("n{i}"))
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("n{i}.log"))
    }

    fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(3)..].join("\n")
    }

    /// Polls until a write commits, failing early if a node exits.
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        let mut client = self.client();
        let mut last;
        loop {
            for (i, child) in self.children.iter_mut().enumerate() {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "raft-kv node n{i} exited ({status}) while starting; its log ends:\n{}",
                        self.log_tail(i)
                    );
                }
            }
            match client.put("bench-ready", "yes").await {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            if Instant::now() >= deadline {
                bail!(
                    "raft-kv did not commit a write within {} s: {last}",
                    BOOT_TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The CPU time the nodes have used, together.
    pub fn cpu_time(&self) -> Option<Duration> {
        procstat::total_cpu_time(&self.pids)
    }

    /// Fsyncs of all nodes together, from the `fsyncs=` field of their `status`.
    pub async fn fsyncs(&self) -> Result<u64, String> {
        let mut total = 0;
        for addr in &self.client_addrs {
            let line = status_line(addr).await?;
            total += status_field(&line, "fsyncs")
                .ok_or_else(|| format!("{addr}'s status has no fsyncs= field: {line}"))?;
        }
        Ok(total)
    }

    /// A client of the cluster (the library's: it follows the leader, with a session).
    pub fn client(&self) -> OursClient {
        let mut client = Client::new(TokioNet, self.client_addrs.clone());
        client.set_timeout(REQUEST_TIMEOUT);
        OursClient { client }
    }
}

/// One `status` exchange with the node serving clients at `addr`.
async fn status_line(addr: &str) -> Result<String, String> {
    let exchange = async {
        let stream = TcpStream::connect(addr).await?;
        let (r, mut w) = stream.into_split();
        w.write_all(b"status\n").await?;
        let mut line = String::new();
        BufReader::new(r).read_line(&mut line).await?;
        Ok::<_, std::io::Error>(line)
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Ok(Ok(line)) if line.starts_with("status ") => Ok(line.trim_end().to_string()),
        Ok(Ok(line)) => Err(format!("{addr} answered status with {line:?}")),
        Ok(Err(e)) => Err(format!("{addr}: status: {e}")),
        Err(_) => Err(format!("{addr}: no status within {} s", REQUEST_TIMEOUT.as_secs())),
    }
}

/// A client of our cluster: the service's own client library on one connection.
pub struct OursClient {
    client: Client<TokioNet>,
}

impl KvClient for OursClient {
    async fn put(&mut self, key: &str, value: &str) -> Result<(), String> {
        self.client.put(key, value).await.map_err(|e| e.to_string())
    }

    async fn get(&mut self, key: &str) -> Result<bool, String> {
        self.client
            .get(key)
            .await
            .map(|v| v.is_some())
            .map_err(|e| e.to_string())
    }
}

/// Runs one `raft-kv` node with `args` (those after the hidden flag, starting with
/// `serve`) and returns its exit code.
pub fn serve_node(args: &[String]) -> i32 {
    let argv = std::iter::once("raft-kv".to_string())
        .chain(args.iter().cloned())
        .map(std::ffi::OsString::from);
    let code = impls::raft::kv::cli::main(argv);
    if code == std::process::ExitCode::SUCCESS {
        0
    } else if code == std::process::ExitCode::from(2) {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_found_by_exact_name() {
        let line = "status id=0 role=leader term=3 leader=0 commit=17 applied=17 fsyncs=42 wal_bytes=900 count=3";
        assert_eq!(status_field(line, "fsyncs"), Some(42));
        assert_eq!(status_field(line, "commit"), Some(17));
        assert_eq!(status_field(line, "sync"), None);
        assert_eq!(status_field(line, "role"), None);
        assert_eq!(status_field("status fsyncs=", "fsyncs"), None);
    }
}
