//! `delay-proxy DELAY_MS LISTEN=TARGET ...`: forward TCP connections from
//! each LISTEN address to its TARGET, holding every chunk of data DELAY_MS
//! before passing it on, in both directions (so the round trip grows by twice
//! DELAY_MS). The benchmark's latency variant uses it because `tc netem`
//! needs a kernel module this machine does not have and must not load.
//! Bandwidth is not limited and the order of bytes is kept: each direction
//! is a FIFO of (due time, chunk).

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

fn usage() -> ! {
    eprintln!("usage: delay-proxy DELAY_MS LISTEN_ADDR:PORT=TARGET_ADDR:PORT ...");
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let delay = Duration::from_millis(args.next().and_then(|d| d.parse().ok()).unwrap_or_else(|| usage()));
    let mut pairs = Vec::new();
    for a in args {
        let (l, t) = a.split_once('=').unwrap_or_else(|| usage());
        let (Ok(l), Ok(t)) = (l.parse::<SocketAddr>(), t.parse::<SocketAddr>()) else { usage() };
        pairs.push((l, t));
    }
    if pairs.is_empty() {
        usage()
    }
    for (listen, target) in pairs {
        let listener = match TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("delay-proxy: cannot listen on {listen}: {e}");
                std::process::exit(1)
            }
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, target, delay));
            }
        });
    }
    // Ready: the caller waits for this line before connecting.
    println!("ready");
    std::future::pending::<()>().await;
}

async fn forward(client: TcpStream, target: SocketAddr, delay: Duration) {
    let Ok(server) = TcpStream::connect(target).await else { return };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    tokio::join!(pipe(cr, sw, delay), pipe(sr, cw, delay));
}

/// One direction: read as data comes, write each chunk once it is due.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
        // Dropping tx ends the writer after the last due chunk.
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
