//! `dm-server`: the OMA DM server (`serve`) and commands wrapping its admin API (`device`, `op`, `notify`,
//! `session`). See the crate documentation and the README quickstart.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use m2msim_dm_server::admin::NotifySink;
use m2msim_dm_server::directory::{AuthScheme, Credentials, DeviceRecord};
use m2msim_dm_server::http;
use m2msim_dm_server::net::{self, ServerConfig, TlsConfig, UnknownDevices};
use m2msim_dm_server::store::SqliteStore;

#[derive(Parser)]
#[command(name = "dm-server", about = "OMA DM (SyncML DM 1.2/1.1) server", version)]
struct Cli {
    /// Admin API base URL (for the commands other than `serve`).
    #[arg(long, global = true, default_value = "http://127.0.0.1:8081")]
    admin: String,
    /// Admin bearer token (default: read from `{data-dir}/admin-token`).
    #[arg(long, global = true)]
    token: Option<String>,
    /// Data directory (database, admin token, self-signed certificate).
    #[arg(long, global = true, default_value = "dm-server-data")]
    data_dir: PathBuf,
    /// Print compact JSON (default: pretty JSON).
    #[arg(long, global = true)]
    json: bool,
    /// More log output on stderr (-v debug, -vv trace); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Less log output on stderr (-q warnings, -qq errors only, -qqq none).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    quiet: u8,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server.
    Serve {
        /// DM endpoint address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Admin API address.
        #[arg(long, default_value = "127.0.0.1:8081")]
        admin_listen: SocketAddr,
        /// TLS certificate chain (PEM); with --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// HTTPS with a generated self-signed certificate for localhost (written to `{data-dir}/cert.pem`).
        #[arg(long, conflicts_with = "tls_cert")]
        self_signed: bool,
        /// Base URL clients reach the server at (for RespURI).
        #[arg(long)]
        public_url: Option<String>,
        /// Register unknown devices with MD5 credentials `dev` / this password (default: reject them).
        #[arg(long)]
        auto_register_password: Option<String>,
        /// Write notification TPDUs to this directory (default: print them).
        #[arg(long)]
        spool_dir: Option<PathBuf>,
        /// POST notifications to this http:// URL.
        #[arg(long, conflicts_with = "spool_dir")]
        webhook: Option<String>,
        /// Largest request body in bytes.
        #[arg(long, default_value_t = 1024 * 1024)]
        max_body: usize,
        /// Most open sessions.
        #[arg(long, default_value_t = 10_000)]
        max_sessions: usize,
        /// Idle session timeout in seconds.
        #[arg(long, default_value_t = 300)]
        idle_timeout: u64,
    },
    /// Devices.
    Device {
        #[command(subcommand)]
        cmd: DeviceCmd,
    },
    /// Operations.
    Op {
        #[command(subcommand)]
        cmd: OpCmd,
    },
    /// Send package 0 to a device through the configured sink.
    Notify {
        /// Device id.
        device: String,
        /// Session id (1..65535).
        #[arg(long)]
        session_id: Option<u16>,
    },
    /// Sessions.
    Session {
        #[command(subcommand)]
        cmd: SessionCmd,
    },
    /// Load benchmark (issue 7 §5): simulated clients doing full sessions (md5, Get and Replace) against a
    /// server in this process on loopback, the floor of the same HTTP traffic against a do-nothing
    /// handler, and resident memory per open idle session. Uses a scratch store in `--data-dir`.
    Bench {
        /// Concurrent clients.
        #[arg(long, default_value_t = 50)]
        clients: usize,
        /// Sessions per client.
        #[arg(long, default_value_t = 20)]
        sessions: usize,
        /// Idle sessions for the memory measurement (0: skip).
        #[arg(long, default_value_t = 10_000)]
        idle: usize,
        /// WBXML instead of XML.
        #[arg(long)]
        wbxml: bool,
        /// Minimum duration of the floor phase, in seconds (clients repeat their sessions until then).
        #[arg(long, default_value_t = 2.0)]
        floor_secs: f64,
    },
    /// Fuzz a DM client (issue 10 §2): serve the device grammar-aware mutations of valid server packages
    /// (one per session it opens), classify its answers, and write `report.json`, `report.md` and
    /// reproducers to --report. Point the device (in a loop of sessions) at the printed URL. The device's
    /// credentials come from the store in --data-dir, or from --user/--password.
    #[command(after_long_help = FUZZ_EXAMPLES)]
    Fuzz(FuzzArgs),
}

const FUZZ_EXAMPLES: &str = "\
Examples:
  dm-server fuzz --device IMEI:490154203237518 --user dev --password devpw --cases 200 --report fuzz-out
  dm-server --data-dir dm-server-data fuzz --device IMEI:490154203237518 --wire wbxml --seed 7 --report out

Every case is one session: the device's package 1 goes to a fresh engine, the first package with commands
is mutated (field values, codes, Meta, nesting, WBXML tokens, XML entities, truncation, oversize, content
type, charset, HMAC, nonces, credentials), and the device's answer is classified: ok, crash-like (connection
drop, silence) or protocol (2xx status to garbage, missing Status, wrong MsgRef/CmdRef, malformed reply).
The same seed gives the same cases.";

/// `fuzz`.
#[derive(clap::Args)]
struct FuzzArgs {
    /// The device under test (`SyncHdr/Source/LocURI`).
    #[arg(long)]
    device: String,
    /// Serve every package in this encoding (default: the device's own).
    #[arg(long, value_parser = ["xml", "wbxml"])]
    wire: Option<String>,
    /// Seed of every choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of cases (sessions).
    #[arg(long, default_value_t = 100)]
    cases: u32,
    /// Report directory.
    #[arg(long)]
    report: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Base URL the device reaches this server at.
    #[arg(long)]
    public_url: Option<String>,
    /// Seconds to wait for the device's answer to a mutant.
    #[arg(long, default_value_t = 10)]
    reply_timeout: u64,
    /// Seconds to wait for the device to open its next session.
    #[arg(long, default_value_t = 120)]
    device_wait: u64,
    /// Client auth scheme (with --user/--password instead of the store).
    #[arg(long, default_value = "md5")]
    scheme: String,
    /// Client user name.
    #[arg(long, requires = "password")]
    user: Option<String>,
    /// Client password.
    #[arg(long, requires = "user")]
    password: Option<String>,
    /// Server identifier (DMAcc ServerID) for server credentials.
    #[arg(long)]
    server_id: Option<String>,
    /// Server password.
    #[arg(long, requires = "server_id")]
    server_password: Option<String>,
}

#[derive(Subcommand)]
enum DeviceCmd {
    /// Add or replace a device with its credentials.
    Add {
        /// Device id (`SyncHdr/Source/LocURI`, e.g. `IMEI:490154203237518`).
        device: String,
        /// Client auth scheme.
        #[arg(long, default_value = "md5")]
        scheme: String,
        /// Client user name.
        #[arg(long)]
        user: String,
        /// Client password.
        #[arg(long)]
        password: String,
        /// Server identifier (the DMAcc ServerID) for server credentials.
        #[arg(long)]
        server_id: Option<String>,
        /// Server password.
        #[arg(long, requires = "server_id")]
        server_password: Option<String>,
    },
    /// List devices.
    List,
    /// Show one device.
    Show {
        /// Device id.
        device: String,
    },
}

#[derive(Subcommand)]
enum OpCmd {
    /// Queue a Get.
    Get {
        /// Device id.
        device: String,
        /// Node URI.
        uri: String,
    },
    /// Queue a Replace of a text value.
    Replace {
        /// Device id.
        device: String,
        /// Node URI.
        uri: String,
        /// Value.
        data: String,
    },
    /// Queue any operation given as admin-API JSON (`{"op":"atomic","ops":[…]}`).
    Queue {
        /// Device id.
        device: String,
        /// The JSON.
        #[arg(value_name = "JSON")]
        spec: String,
    },
    /// List a device's operations.
    List {
        /// Device id.
        device: String,
    },
    /// Show an operation and its result.
    Show {
        /// Operation id.
        id: u64,
    },
}

#[derive(Subcommand)]
enum SessionCmd {
    /// List sessions.
    List {
        /// Only this device's.
        #[arg(long)]
        device: Option<String>,
    },
    /// Show a session's transcript as XML.
    Show {
        /// Session id.
        id: i64,
    },
}

fn scheme(s: &str) -> Result<AuthScheme, String> {
    match s.to_ascii_lowercase().as_str() {
        "basic" => Ok(AuthScheme::Basic),
        "md5" => Ok(AuthScheme::Md5),
        "hmac" => Ok(AuthScheme::Hmac),
        _ => Err(format!("unknown auth scheme {s:?} (basic, md5, hmac)")),
    }
}

/// Percent-encodes a device id for a path segment.
fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn serve(cli: &Cli) -> Result<(), String> {
    let Cmd::Serve {
        listen,
        admin_listen,
        tls_cert,
        tls_key,
        self_signed,
        public_url,
        auto_register_password,
        spool_dir,
        webhook,
        max_body,
        max_sessions,
        idle_timeout,
    } = &cli.cmd
    else {
        return Err("not serve".into());
    };
    std::fs::create_dir_all(&cli.data_dir).map_err(|e| format!("{}: {e}", cli.data_dir.display()))?;
    let store = Arc::new(SqliteStore::open(&cli.data_dir).map_err(|e| e.to_string())?);
    let token_file = cli.data_dir.join("admin-token");
    let token = match &cli.token {
        Some(t) => t.clone(),
        None => match std::fs::read_to_string(&token_file) {
            Ok(t) if !t.trim().is_empty() => t.trim().to_owned(),
            // A random token is generated by the server and written to the file below.
            _ => String::new(),
        },
    };
    let tls = match (tls_cert, tls_key, self_signed) {
        (Some(cert), Some(key), _) => Some(TlsConfig::Files { cert: cert.clone(), key: key.clone() }),
        (_, _, true) => Some(TlsConfig::SelfSigned { names: vec!["localhost".into(), "127.0.0.1".into()] }),
        _ => None,
    };
    let session = m2msim_dm_server::session::SessionConfig {
        idle_timeout: std::time::Duration::from_secs(*idle_timeout),
        ..Default::default()
    };
    let config = ServerConfig {
        listen: *listen,
        admin_listen: Some(*admin_listen),
        admin_token: (!token.is_empty()).then_some(token),
        tls,
        public_url: public_url.clone(),
        max_body: *max_body,
        max_sessions: *max_sessions,
        session,
        unknown_devices: match auto_register_password {
            Some(p) => {
                UnknownDevices::Register(Credentials::new(AuthScheme::Md5, "dev", p.as_bytes(), Vec::new()))
            }
            None => UnknownDevices::Reject,
        },
        notify: match (spool_dir, webhook) {
            (Some(d), _) => NotifySink::Spool(d.clone()),
            (_, Some(u)) => NotifySink::Webhook(u.clone()),
            _ => NotifySink::Stdout,
        },
        ..ServerConfig::default()
    };
    let h = net::spawn(config, store).await.map_err(|e| e.to_string())?;
    std::fs::write(&token_file, &h.admin_token).map_err(|e| format!("{}: {e}", token_file.display()))?;
    if let Some(pem) = &h.cert_pem {
        let p = cli.data_dir.join("cert.pem");
        std::fs::write(&p, pem).map_err(|e| format!("{}: {e}", p.display()))?;
        eprintln!("self-signed certificate written to {} (clients must trust it)", p.display());
    }
    println!("dm-server listening on {} admin {}", h.url(), h.admin_url().unwrap_or_default());
    eprintln!("admin token in {}", token_file.display());
    let _ = tokio::signal::ctrl_c().await;
    h.shutdown().await;
    Ok(())
}

async fn admin(cli: &Cli, method: &str, path: &str, body: Option<serde_json::Value>) -> Result<(), String> {
    let token = match &cli.token {
        Some(t) => t.clone(),
        None => std::fs::read_to_string(cli.data_dir.join("admin-token"))
            .map(|t| t.trim().to_owned())
            .map_err(|e| format!("no --token and no {}/admin-token: {e}", cli.data_dir.display()))?,
    };
    let url = format!("{}{path}", cli.admin.trim_end_matches('/'));
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let (status, out) = http::request(method, &url, Some(&token), "application/json", body)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out);
    let shown = match serde_json::from_slice::<serde_json::Value>(&out) {
        Ok(v) if cli.json => v.to_string(),
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string()),
        Err(_) => text.to_string(),
    };
    println!("{shown}");
    if (200..300).contains(&status) { Ok(()) } else { Err(format!("admin API answered {status}")) }
}

async fn fuzz(cli: &Cli, a: &FuzzArgs) -> Result<(), String> {
    use m2msim_dm_server::peerfuzz::{self, DeviceSource, FuzzConfig};
    let device = match (&a.user, &a.password) {
        (Some(user), Some(password)) => {
            let sc = scheme(&a.scheme)?;
            DeviceSource::Record(DeviceRecord {
                device_id: a.device.clone(),
                client: Credentials::new(sc, user.as_str(), password.as_bytes(), Vec::new()),
                server: a.server_id.as_ref().map(|id| {
                    let pw = a.server_password.as_deref().unwrap_or("");
                    Credentials::new(sc, id.as_str(), pw.as_bytes(), Vec::new())
                }),
            })
        }
        _ => {
            if !cli.data_dir.join(m2msim_dm_server::store::DB_FILE).exists() {
                return Err(format!(
                    "no --user/--password and no store in {} to take the device from",
                    cli.data_dir.display()
                ));
            }
            let store = Arc::new(SqliteStore::open(&cli.data_dir).map_err(|e| e.to_string())?);
            DeviceSource::Store { store, device_id: a.device.clone() }
        }
    };
    let mut config = FuzzConfig::new(device);
    config.listen = a.listen;
    config.public_url = a.public_url.clone();
    config.wire = match a.wire.as_deref() {
        Some("xml") => Some(m2msim_codec::syncml::Encoding::Xml),
        Some("wbxml") => Some(m2msim_codec::syncml::Encoding::Wbxml),
        _ => None,
    };
    config.seed = a.seed;
    config.cases = a.cases;
    config.reply_timeout = std::time::Duration::from_secs(a.reply_timeout);
    config.device_wait = std::time::Duration::from_secs(a.device_wait);
    std::fs::create_dir_all(&a.report).map_err(|e| format!("{}: {e}", a.report.display()))?;
    let report = peerfuzz::run_to_dir(config, &a.report, |url| {
        println!("dm-server fuzz: point device {} at {url}", a.device);
    })
    .await
    .map_err(|e| e.to_string())?;
    let t = &report.summary.total;
    println!(
        "{} cases: {} ok, {} crash-like, {} protocol; report in {}",
        t.cases,
        t.ok,
        t.crash_like,
        t.protocol,
        a.report.display()
    );
    Ok(())
}

async fn run(cli: Cli) -> Result<(), String> {
    use serde_json::json;
    match &cli.cmd {
        Cmd::Serve { .. } => serve(&cli).await,
        Cmd::Fuzz(a) => fuzz(&cli, a).await,
        Cmd::Bench { clients, sessions, idle, wbxml, floor_secs } => {
            if cli.data_dir.join(m2msim_dm_server::store::DB_FILE).exists() {
                return Err(format!(
                    "{} holds a database: bench needs a scratch --data-dir",
                    cli.data_dir.display()
                ));
            }
            let c = m2msim_dm_server::bench::BenchConfig {
                clients: *clients,
                sessions_per_client: *sessions,
                idle_sessions: *idle,
                wbxml: *wbxml,
                floor_min: std::time::Duration::try_from_secs_f64(*floor_secs)
                    .map_err(|_| "--floor-secs: not a duration".to_string())?,
            };
            let r = m2msim_dm_server::bench::run(&c, &cli.data_dir).await.map_err(|e| e.to_string())?;
            let v = serde_json::to_value(&r).map_err(|e| e.to_string())?;
            println!(
                "{}",
                if cli.json { v.to_string() } else { serde_json::to_string_pretty(&v).unwrap_or_default() }
            );
            Ok(())
        }
        Cmd::Device { cmd } => match cmd {
            DeviceCmd::Add { device, scheme: s, user, password, server_id, server_password } => {
                let sc = scheme(s)?;
                let rec = DeviceRecord {
                    device_id: device.clone(),
                    client: Credentials::new(sc, user.as_str(), password.as_bytes(), Vec::new()),
                    server: server_id.as_ref().map(|id| {
                        Credentials::new(
                            sc,
                            id.as_str(),
                            server_password.as_deref().unwrap_or("").as_bytes(),
                            Vec::new(),
                        )
                    }),
                };
                let v = serde_json::to_value(&rec).map_err(|e| e.to_string())?;
                admin(&cli, "POST", "/devices", Some(v)).await
            }
            DeviceCmd::List => admin(&cli, "GET", "/devices", None).await,
            DeviceCmd::Show { device } => {
                admin(&cli, "GET", &format!("/devices/{}", seg(device)), None).await
            }
        },
        Cmd::Op { cmd } => match cmd {
            OpCmd::Get { device, uri } => {
                let p = format!("/devices/{}/operations", seg(device));
                admin(&cli, "POST", &p, Some(json!({"op": "get", "uri": uri}))).await
            }
            OpCmd::Replace { device, uri, data } => {
                let p = format!("/devices/{}/operations", seg(device));
                admin(&cli, "POST", &p, Some(json!({"op": "replace", "uri": uri, "data": data}))).await
            }
            OpCmd::Queue { device, spec: j } => {
                let v: serde_json::Value = serde_json::from_str(j).map_err(|e| format!("JSON: {e}"))?;
                admin(&cli, "POST", &format!("/devices/{}/operations", seg(device)), Some(v)).await
            }
            OpCmd::List { device } => {
                admin(&cli, "GET", &format!("/devices/{}/operations", seg(device)), None).await
            }
            OpCmd::Show { id } => admin(&cli, "GET", &format!("/operations/{id}"), None).await,
        },
        Cmd::Notify { device, session_id } => {
            let p = format!("/devices/{}/notify", seg(device));
            admin(&cli, "POST", &p, Some(json!({"session_id": session_id}))).await
        }
        Cmd::Session { cmd } => match cmd {
            SessionCmd::List { device } => {
                let q = device.as_ref().map(|d| format!("?device={}", seg(d))).unwrap_or_default();
                admin(&cli, "GET", &format!("/sessions{q}"), None).await
            }
            SessionCmd::Show { id } => admin(&cli, "GET", &format!("/sessions/{id}/transcript"), None).await,
        },
    }
}

/// Index of the default level in `init_logging`'s list: `info` (the server says what it does).
const DEFAULT_LOG_LEVEL: usize = 3;

/// Installs the log subscriber: to stderr (stdout carries the command's output and JSON), filtered by
/// `RUST_LOG` when it is set, else by the verbosity: `{default}` by default, each `-v` one level more
/// (debug, trace), each `-q` one less (warn, error, off).
fn init_logging(verbose: u8, quiet: u8) {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let level =
        (DEFAULT_LOG_LEVEL + usize::from(verbose)).saturating_sub(usize::from(quiet)).min(LEVELS.len() - 1);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(LEVELS.get(level).copied().unwrap_or("info")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dm-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dm-server: {e}");
            ExitCode::FAILURE
        }
    }
}
