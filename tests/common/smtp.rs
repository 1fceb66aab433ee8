//! A small SMTP server on a loopback port for the email tests (accepts,
//! refuses `MAIL FROM` with a given reply, holds messages in flight, goes
//! down and comes back), and waiting for a condition.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use afisha::config::Config;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

#[derive(Default)]
pub struct SmtpShared {
    pub received: Vec<Received>,
    /// When set, `MAIL FROM` is answered with this line (e.g. a 4xx).
    pub refuse: Option<String>,
    /// When set, a message is recorded at the end of DATA but the reply
    /// waits until `release`: the delivery is stuck in flight.
    pub hold: Option<Arc<tokio::sync::Semaphore>>,
    pub held: usize,
}

/// An SMTP server on a loopback port speaking just enough of the protocol
/// (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for lettre.
pub struct SmtpServer {
    pub port: u16,
    pub shared: Arc<Mutex<SmtpShared>>,
    pub task: Option<tokio::task::JoinHandle<()>>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        Self::listen(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            Arc::default(),
        )
    }

    pub fn listen(listener: TcpListener, shared: Arc<Mutex<SmtpShared>>) -> SmtpServer {
        let port = listener.local_addr().unwrap().port();
        let state = shared.clone();
        let task = tokio::spawn(async move {
            // Connections live in this set: aborting the task closes them all.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                connections.spawn(smtp_session(socket, state.clone()));
            }
        });
        SmtpServer {
            port,
            shared,
            task: Some(task),
        }
    }

    /// Stops listening and drops every open connection ("the server is down").
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        *self = Self::listen(listener, self.shared.clone());
    }

    pub fn refuse(&self, line: Option<&str>) {
        self.shared.lock().unwrap().refuse = line.map(String::from);
    }

    /// Holds every message from now on (see [`SmtpShared::hold`]).
    pub fn hold(&self) {
        self.shared.lock().unwrap().hold = Some(Arc::new(tokio::sync::Semaphore::new(0)));
    }

    /// Lets every held message (and any later one) through.
    pub fn release(&self) {
        let mut shared = self.shared.lock().unwrap();
        if let Some(gate) = shared.hold.take() {
            gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
        }
    }

    pub async fn wait_held(&self, n: usize) {
        eventually(&format!("{n} held message(s)"), async || {
            (self.shared.lock().unwrap().held >= n).then_some(())
        })
        .await
    }

    /// How many received messages had `rcpt` among their recipients.
    pub fn received_by(&self, rcpt: &str) -> usize {
        self.shared
            .lock()
            .unwrap()
            .received
            .iter()
            .filter(|m| m.rcpt_to.iter().any(|t| t == rcpt))
            .count()
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    pub async fn wait_message(&self) -> Received {
        eventually("a message over SMTP", async || {
            self.received().into_iter().next()
        })
        .await
    }
}

pub async fn smtp_session(socket: tokio::net::TcpStream, shared: Arc<Mutex<SmtpShared>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let reply = async |write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str| {
        write.write_all(text.as_bytes()).await.is_ok()
    };
    if !reply(&mut write, "220 test.local ESMTP ready\r\n").await {
        return;
    }
    let (mut from, mut rcpt) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_string();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" => "250-test.local\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n".to_string(),
            "HELO" | "NOOP" => "250 OK\r\n".into(),
            "RSET" => {
                from.clear();
                rcpt.clear();
                "250 OK\r\n".into()
            }
            "MAIL" => match shared.lock().unwrap().refuse.clone() {
                Some(refusal) => format!("{refusal}\r\n"),
                None => {
                    from = address_of(&command);
                    "250 OK\r\n".into()
                }
            },
            "RCPT" => {
                rcpt.push(address_of(&command));
                "250 OK\r\n".into()
            }
            "DATA" => {
                if !reply(&mut write, "354 End data with <CR><LF>.<CR><LF>\r\n").await {
                    return;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    // Undo dot-stuffing.
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let hold = {
                    let mut shared = shared.lock().unwrap();
                    shared.received.push(Received {
                        mail_from: std::mem::take(&mut from),
                        rcpt_to: std::mem::take(&mut rcpt),
                        data,
                    });
                    if shared.hold.is_some() {
                        shared.held += 1;
                    }
                    shared.hold.clone()
                };
                if let Some(gate) = hold {
                    let _ = gate.acquire().await.map(|p| p.forget());
                }
                "250 OK queued\r\n".into()
            }
            "QUIT" => {
                let _ = reply(&mut write, "221 Bye\r\n").await;
                return;
            }
            _ => "502 Command not implemented\r\n".into(),
        };
        if !reply(&mut write, &answer).await {
            return;
        }
    }
}

pub fn address_of(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command.rfind('>').unwrap_or(command.len());
    command[start..end.max(start)].to_string()
}

pub fn smtp_config(c: &mut Config, port: u16) {
    c.email.backend = afisha::config::EmailBackend::Smtp;
    c.email.smtp.host = "127.0.0.1".into();
    c.email.smtp.port = port;
    c.email.smtp.tls = afisha::config::SmtpTls::None;
    c.email.smtp.timeout_secs = 5;
}

/// Polls `probe` until it yields a value (bounded: the event is expected to
/// happen within seconds; this waits for it, not for time to pass).
pub async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(20);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}
