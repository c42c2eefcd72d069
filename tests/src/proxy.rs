//! A TCP proxy that injects faults in front of a real service.

use std::time::Duration;

/// How a [`FaultyProxy`] treats connections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Forward everything.
    None,
    /// Refuse new connections and cut open ones: the service is down.
    All,
    /// Refuse this share of new connections and cut this share of open ones after a random
    /// delay of up to 200 ms: a flaky network or an overloaded service.
    Share(f64),
    /// Forward everything, each chunk of bytes this much late: a slow service.
    Slow(Duration),
}

/// A TCP proxy in front of a real service that injects faults on demand.
#[derive(Debug)]
pub struct FaultyProxy {
    /// Address to connect to instead of the service.
    pub addr: std::net::SocketAddr,
    fault: tokio::sync::watch::Sender<Fault>,
}

impl FaultyProxy {
    /// Starts forwarding 127.0.0.1:<free port> to `target`.
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (fault, watch) = tokio::sync::watch::channel(Fault::None);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mut watch = watch.clone();
                let current = *watch.borrow();
                let cut_after = match current {
                    Fault::None | Fault::Slow(_) => None,
                    Fault::All => continue,
                    Fault::Share(p) => {
                        if rand::random::<f64>() < p {
                            continue;
                        }
                        (rand::random::<f64>() < p)
                            .then(|| Duration::from_millis(rand::random::<u64>() % 200))
                    }
                };
                let (slow_in, slow_out) = (watch.clone(), watch.clone());
                tokio::spawn(async move {
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let cut = async {
                        match cut_after {
                            Some(d) => tokio::time::sleep(d).await,
                            None => {
                                let _ = watch.wait_for(|f| *f == Fault::All).await;
                            }
                        }
                    };
                    let (client_read, client_write) = client.split();
                    let (upstream_read, upstream_write) = upstream.split();
                    tokio::select! {
                        _ = pipe(client_read, upstream_write, slow_in) => {}
                        _ = pipe(upstream_read, client_write, slow_out) => {}
                        _ = cut => {}
                    }
                });
            }
        });
        Self { addr, fault }
    }

    /// Changes the fault; `Fault::All` also cuts every open connection.
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }
}

/// Copies `from` to `to` until either side closes, holding each chunk back while the fault
/// is [`Fault::Slow`].
async fn pipe(
    mut from: impl tokio::io::AsyncRead + Unpin,
    mut to: impl tokio::io::AsyncWrite + Unpin,
    fault: tokio::sync::watch::Receiver<Fault>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let delay = match *fault.borrow() {
            Fault::Slow(d) => Some(d),
            _ => None,
        };
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
