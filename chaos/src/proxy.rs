//! One TCP proxy per directed link between servers: node i reaches node j through
//! the proxy (i → j) (`kairos server --peer-routes`), so the runner can cut any
//! link on its own. A cut link blackholes: new connections are accepted and held
//! without a byte forwarded, and open ones are dropped, as a network that loses
//! every packet would look to Raft (timeouts, not refusals).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// A link's switch and the generation of its connections (bumped on every cut, so
/// that connections made before it end).
#[derive(Default)]
pub struct Link {
    cut: AtomicBool,
    generation: AtomicU64,
}

impl Link {
    pub fn set_cut(&self, cut: bool) {
        if cut {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        self.cut.store(cut, Ordering::SeqCst);
    }

    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

/// Every link of the cluster, by (from, to).
#[derive(Default)]
pub struct Links {
    pub by_pair: BTreeMap<(u64, u64), (String, Arc<Link>)>,
}

impl Links {
    /// The proxy address node `from` uses to reach node `to`.
    pub fn addr(&self, from: u64, to: u64) -> Option<&str> {
        self.by_pair.get(&(from, to)).map(|(a, _)| a.as_str())
    }

    /// Cuts (or heals) both directions between every node of `a` and every node of `b`.
    pub fn set_between(&self, a: &[u64], b: &[u64], cut: bool) {
        for x in a {
            for y in b {
                for pair in [(*x, *y), (*y, *x)] {
                    if let Some((_, link)) = self.by_pair.get(&pair) {
                        link.set_cut(cut);
                    }
                }
            }
        }
    }

    pub fn heal_all(&self) {
        for (_, link) in self.by_pair.values() {
            link.set_cut(false);
        }
    }
}

/// Starts the proxy for one link: listens on 127.0.0.1 (a free port) and forwards
/// to `target` while the link is whole. Returns its address.
pub async fn start(target: String, link: Arc<Link>) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    tokio::spawn(async move {
        loop {
            let Ok((inbound, _)) = listener.accept().await else {
                continue;
            };
            let _ = inbound.set_nodelay(true);
            tokio::spawn(serve(inbound, target.clone(), link.clone()));
        }
    });
    Ok(addr)
}

async fn serve(mut inbound: TcpStream, target: String, link: Arc<Link>) {
    // A cut link holds the connection open and silent until it heals or is closed.
    while link.is_cut() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let generation = link.generation.load(Ordering::SeqCst);
    let Ok(mut outbound) = TcpStream::connect(&target).await else {
        let _ = inbound.shutdown().await;
        return;
    };
    let _ = outbound.set_nodelay(true);
    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
    let watch = async {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            if link.generation.load(Ordering::SeqCst) != generation {
                return;
            }
        }
    };
    // A cut ends the connection: both sides see it stop, as after a lost route.
    tokio::select! {
        _ = copy => {},
        _ = watch => {},
    }
}
