//! The peer: an etcd cluster on loopback, driven through its v3 JSON gateway (gRPC
//! gateway, JSON over HTTP/1.1 keep-alive). The gateway costs etcd CPU that a gRPC
//! client would not (JSON and base64 on every request, and a loopback gRPC hop inside
//! the server), which the report says beside every etcd number.

use super::http::{base64, HttpClient};
use super::load::KvClient;
use super::procstat;
use crate::reaper;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// The metric that counts etcd's WAL fsyncs (a histogram's count).
pub const FSYNC_METRIC: &str = "etcd_disk_wal_fsync_duration_seconds_count";

/// How long a cluster may take to elect a leader and answer.
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one request may take before the client gives up on it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The `etcd` executable on `PATH`, or why there is none.
pub fn find_etcd() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("etcd"))
        .find(|p| is_executable(p))
        .ok_or_else(|| {
            "no `etcd` on PATH (Debian: apt-get install -y etcd-server etcd-client)".to_string()
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The value of the unlabelled sample `name` in Prometheus text exposition `text`.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next()? == name).then_some(())?;
        words.next()?.parse().ok()
    })
}

/// A running etcd cluster: the processes and their data directory, killed and removed
/// when dropped (fields drop in order: the processes first).
pub struct EtcdCluster {
    children: Vec<reaper::Child>,
    pids: Vec<u32>,
    /// Each member's client address, `127.0.0.1:PORT`.
    pub client_addrs: Vec<String>,
    /// The index of the member that led when the cluster came up.
    pub leader: usize,
    dir: reaper::TempDir,
}

/// `count` free loopback ports, all probes held at once so that they differ.
pub fn free_ports(count: usize) -> Result<Vec<u16>> {
    let probes = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").context("no free loopback port"))
        .collect::<Result<Vec<_>>>()?;
    probes
        .iter()
        .map(|p| Ok(p.local_addr()?.port()))
        .collect()
}

impl EtcdCluster {
    /// Starts `nodes` members of a new cluster with `etcd`, each in its own data
    /// directory under one temporary directory, and waits until every member is healthy
    /// and one leads.
    pub fn start(etcd: &Path, nodes: usize, rt: &Runtime) -> Result<EtcdCluster> {
        let dir = reaper::TempDir::new("check-bench-etcd-")
            .context("cannot create etcd's data directory")?;
        let ports = free_ports(2 * nodes)?;
        let client_addrs: Vec<String> =
            (0..nodes).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
        let peer_urls: Vec<String> = (0..nodes)
            .map(|i| format!("http://127.0.0.1:{}", ports[nodes + i]))
            .collect();
        let initial: Vec<String> = peer_urls
            .iter()
            .enumerate()
            .map(|(i, u)| format!("n{i}={u}"))
            .collect();
        let mut cluster = EtcdCluster {
            children: Vec::new(),
            pids: Vec::new(),
            client_addrs,
            leader: 0,
            dir,
        };
        for (i, peer_url) in peer_urls.iter().enumerate() {
            let log = std::fs::File::create(cluster.log_path(i))
                .with_context(|| format!("cannot create {}", cluster.log_path(i).display()))?;
            let client_url = format!("http://{}", cluster.client_addrs[i]);
            let mut command = Command::new(etcd);
            command
                .args(["--name", &format!("n{i}")])
                .arg("--data-dir")
                .arg(cluster.dir.path().join(format!("n{i}")))
                .args(["--listen-client-urls", &client_url])
                .args(["--advertise-client-urls", &client_url])
                .args(["--listen-peer-urls", peer_url])
                .args(["--initial-advertise-peer-urls", peer_url])
                .args(["--initial-cluster", &initial.join(",")])
                .args(["--initial-cluster-state", "new"])
                .args(["--initial-cluster-token", "check-bench"])
                .args(["--logger", "zap", "--log-level", "error"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log);
            let child = reaper::Child::spawn(command)
                .with_context(|| format!("cannot start {}", etcd.display()))?;
            cluster.pids.push(child.id().expect("a child just spawned is not yet reaped"));
            cluster.children.push(child);
        }
        rt.block_on(cluster.wait_ready())?;
        Ok(cluster)
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("n{i}.log"))
    }

    /// The last lines member `i` logged, for an error message.
    fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(3)..].join("\n")
    }

    /// Polls every member until it is healthy, then finds the leader.
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        let mut clients: Vec<HttpClient> = self
            .client_addrs
            .iter()
            .map(|a| HttpClient::new(a.clone(), Duration::from_secs(1)))
            .collect();
        let mut last;
        loop {
            for (i, child) in self.children.iter_mut().enumerate() {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "etcd member n{i} exited ({status}) while starting; its log ends:\n{}",
                        self.log_tail(i)
                    );
                }
            }
            match leader_of(&mut clients).await {
                Ok(leader) => {
                    self.leader = leader;
                    return Ok(());
                }
                Err(e) => last = e,
            }
            if Instant::now() >= deadline {
                bail!(
                    "etcd did not elect a leader within {} s: {last}",
                    BOOT_TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The CPU time the members have used, together.
    pub fn cpu_time(&self) -> Option<Duration> {
        procstat::total_cpu_time(&self.pids)
    }

    /// WAL fsyncs of all members together, from their metrics.
    pub async fn fsyncs(&self) -> Result<u64, String> {
        let mut total = 0.0;
        for addr in &self.client_addrs {
            let mut http = HttpClient::new(addr.clone(), REQUEST_TIMEOUT);
            let r = http.get("/metrics").await?;
            let text = String::from_utf8_lossy(&r.body);
            total += metric_value(&text, FSYNC_METRIC)
                .ok_or_else(|| format!("{addr}/metrics has no {FSYNC_METRIC}"))?;
        }
        Ok(total as u64)
    }

    /// A client of the leader (where the clients of ours go too, since its client
    /// follows the leader).
    pub fn client(&self) -> EtcdClient {
        EtcdClient {
            http: HttpClient::new(self.client_addrs[self.leader].clone(), REQUEST_TIMEOUT),
        }
    }
}

/// The member that every healthy member names as leader.
async fn leader_of(clients: &mut [HttpClient]) -> Result<usize, String> {
    let mut ids = Vec::new();
    let mut leaders = Vec::new();
    for c in clients.iter_mut() {
        let r = c.post_json("/v3/maintenance/status", "{}").await?;
        if r.status != 200 {
            return Err(format!("status answered {}", r.status));
        }
        let v: serde_json::Value = serde_json::from_slice(&r.body)
            .map_err(|e| format!("status is not JSON: {e}"))?;
        let member = v["header"]["member_id"].as_str().unwrap_or("").to_string();
        let leader = v["leader"].as_str().unwrap_or("").to_string();
        ids.push(member);
        leaders.push(leader);
    }
    let leader = &leaders[0];
    if leader.is_empty() || leader == "0" || leaders.iter().any(|l| l != leader) {
        return Err(format!("no agreed leader yet: {leaders:?}"));
    }
    ids.iter()
        .position(|m| m == leader)
        .ok_or_else(|| format!("the leader {leader} is none of {ids:?}"))
}

/// A client of one etcd member over its JSON gateway.
pub struct EtcdClient {
    http: HttpClient,
}

impl EtcdClient {
    async fn call(&mut self, path: &str, body: &str) -> Result<Vec<u8>, String> {
        let r = self.http.post_json(path, body).await?;
        if r.status != 200 {
            let text = String::from_utf8_lossy(&r.body);
            return Err(format!("{path} answered {}: {}", r.status, text.trim()));
        }
        Ok(r.body)
    }
}

impl KvClient for EtcdClient {
    async fn put(&mut self, key: &str, value: &str) -> Result<(), String> {
        let body = format!(
            r#"{{"key":"{}","value":"{}"}}"#,
            base64(key.as_bytes()),
            base64(value.as_bytes())
        );
        self.call("/v3/kv/put", &body).await.map(drop)
    }

    async fn get(&mut self, key: &str) -> Result<bool, String> {
        // Linearizable: the gateway's range is not `serializable` unless asked.
        let body = format!(r#"{{"key":"{}"}}"#, base64(key.as_bytes()));
        let answer = self.call("/v3/kv/range", &body).await?;
        // An absent key's answer has no `kvs` field at all.
        Ok(answer.windows(6).any(|w| w == b"\"kvs\":"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fsync_count_is_read_from_prometheus_text() {
        let text = "# HELP etcd_disk_wal_fsync_duration_seconds The latency\n\
            # TYPE etcd_disk_wal_fsync_duration_seconds histogram\n\
            etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 5\n\
            etcd_disk_wal_fsync_duration_seconds_sum 0.0123\n\
            etcd_disk_wal_fsync_duration_seconds_count 1234\n\
            etcd_disk_wal_fsync_duration_seconds_count_other 9\n";
        assert_eq!(metric_value(text, FSYNC_METRIC), Some(1234.0));
        assert_eq!(metric_value("x_count 1.5e+06\n", "x_count"), Some(1.5e6));
        assert_eq!(metric_value(text, "missing"), None);
        assert_eq!(metric_value("x_count lots\n", "x_count"), None);
    }

    #[test]
    fn free_ports_are_distinct() {
        let ports = free_ports(6).unwrap();
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 6);
    }
}
