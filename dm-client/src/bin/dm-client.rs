//! `dm-client`: an OMA DM client to point at a DM server under test (issue 7 §2).
//!
//! The device's management tree lives in one file (`--tree`, default `dm-client-tree.json`), replaced
//! atomically after every server message ([`m2msim_dm_client::store`]). Start with `init` (a DM account
//! from a JSON file, or a plain-profile bootstrap message), then run `session` (client-initiated) or
//! `notify` (server-initiated, after a package 0); inspect the tree with `tree get|set|list|ddf`.
//! Exit codes: 0 success, 1 the session did not complete, 2 bad input (with a one-line reason).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use m2msim_codec::dm::ddf::{Format, MgmtTree};
use m2msim_codec::dm::push::{PushEvent, PushReceiver};
use m2msim_codec::reader::Decode as _;
use m2msim_codec::sms::tpdu::Deliver;
use m2msim_codec::syncml::Wire;
use m2msim_codec::syncml::tree::Profile;
use m2msim_dm_client::mo::devdetail;
use m2msim_dm_client::mo::devinfo::{self, DevInfo};
use m2msim_dm_client::mo::dmacc::{DmAccount, Layout};
use m2msim_dm_client::net::{self, Start, Transport, Trust};
use m2msim_dm_client::provision::{AccountFile, apply_bootstrap};
use m2msim_dm_client::session::{ClientConfig, DmClient, NonceSource, UiAlert, UiKind, UiResponse};
use m2msim_dm_client::store::TreeStore;
use m2msim_dm_client::tree::{DmTree, ResultItem};

/// An OMA DM (SyncML DM 1.2/1.1) client for lab use: runs management sessions against a DM server over
/// HTTP or HTTPS, in XML or WBXML, keeping its management tree in a crash-safe file.
///
/// Quick start:
///   dm-client init --account account.json
///   dm-client session --ca server.pem
///   dm-client tree list ./Vendor
#[derive(Parser, Debug)]
#[command(name = "dm-client", version, verbatim_doc_comment)]
struct Cli {
    /// The tree file (created by `init`, replaced atomically on every change).
    #[arg(long, global = true, default_value = "dm-client-tree.json")]
    tree: PathBuf,
    /// Print machine-readable JSON instead of text.
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

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create the tree: DevInfo, DevDetail and a DM account (from `--account` or `--bootstrap`).
    Init(InitArgs),
    /// Run a client-initiated session (Alert 1201) with the account's server.
    Session(SessionArgs),
    /// A package 0 arrived: verify its digest and run the server-initiated session (Alert 1200).
    Notify(NotifyArgs),
    /// Read or change the tree locally.
    #[command(subcommand)]
    Tree(TreeCmd),
}

#[derive(Args, Debug)]
struct InitArgs {
    /// A JSON account file: `{"dev_info": {...}, "account": {"layout": "dm12", "account": "acc",
    /// "server_id": "...", "addr": "http://...", "client": {"auth_type": ..., "name": ..., "secret": HEX,
    /// "nonce": HEX}}}`.
    #[arg(long, conflicts_with = "bootstrap", required_unless_present = "bootstrap")]
    account: Option<PathBuf>,
    /// A plain-profile bootstrap message (XML or WBXML SyncML with Add/Replace of a DMAcc).
    #[arg(long)]
    bootstrap: Option<PathBuf>,
    /// DevInfo DevId (when the account file has no dev_info).
    #[arg(long, default_value = "IMEI:490154203237518")]
    dev_id: String,
    /// DevInfo Man.
    #[arg(long, default_value = "m2msim")]
    man: String,
    /// DevInfo Mod.
    #[arg(long, default_value = "dm-client")]
    model: String,
    /// Replace an existing tree file.
    #[arg(long)]
    force: bool,
}

#[derive(Args, Debug, Clone)]
struct NetArgs {
    /// The account's ServerID (default: the only account).
    #[arg(long)]
    server_id: Option<String>,
    /// Encoding of package 1 (later messages follow the server's).
    #[arg(long, value_enum, default_value_t = Enc::Xml)]
    encoding: Enc,
    /// The writer's profile (code pages, XML style).
    #[arg(long, value_enum, default_value_t = Prof::Rtk)]
    profile: Prof,
    /// PEM file of the CA certificates to trust for HTTPS.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Accept ANY server certificate (self-signed lab servers). Insecure: warns on every connection.
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,
    /// Seconds per HTTP request.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// How UI alerts are answered when stdin is not a terminal (on a terminal the user is asked).
    #[arg(long, value_enum, default_value_t = UiPolicy::Headless)]
    ui_policy: UiPolicy,
    /// Never ask on the terminal: follow --ui-policy even when stdin is one.
    #[arg(long)]
    no_prompt: bool,
    /// MaxMsgSize the client advertises.
    #[arg(long, default_value_t = 16 * 1024)]
    max_msg_size: u64,
}

#[derive(Args, Debug)]
struct SessionArgs {
    #[command(flatten)]
    net: NetArgs,
}

#[derive(Args, Debug)]
struct NotifyArgs {
    /// The package 0 in hex.
    #[arg(long, conflicts_with = "tpdu", required_unless_present = "tpdu")]
    pkg0: Option<String>,
    /// Files of SMS-DELIVER TPDUs carrying the WAP push, each hex (one TPDU per line) or one binary TPDU
    /// (as `dm-server`'s spool directory holds them: give every segment's file).
    #[arg(long, num_args = 1..)]
    tpdu: Vec<PathBuf>,
    #[command(flatten)]
    net: NetArgs,
}

#[derive(Subcommand, Debug)]
enum TreeCmd {
    /// A node's value (leaf) or child names (interior).
    Get {
        /// The node URI (`./DevInfo/Man`).
        uri: String,
    },
    /// Set a leaf (device-side: no ACL checks), creating missing interior nodes.
    Set {
        /// The node URI.
        uri: String,
        /// The value (text; with --format bin/b64: hex for bin, base64 text for b64).
        value: String,
        /// Meta Format.
        #[arg(long, default_value = "chr")]
        format: String,
    },
    /// Every node under a URI (default the root), with format and value.
    List {
        /// The subtree.
        #[arg(default_value = ".")]
        uri: String,
    },
    /// The DDF (MgmtTree XML) of the standard MOs the tree holds.
    Ddf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Enc {
    Xml,
    Wbxml,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Prof {
    Rtk,
    Libwbxml,
}

/// The answer to UI alerts nobody is there to answer.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum UiPolicy {
    /// Display acknowledged, everything else times out (408 with the default response).
    Headless,
    /// Display acknowledged, confirmations Yes, text input the default response, choices the first.
    Accept,
    /// Display acknowledged, confirmations No, everything else cancelled.
    Reject,
}

/// A failure with its exit code.
struct Fail(u8, String);

fn bad(msg: impl Into<String>) -> Fail {
    Fail(2, msg.into())
}

/// Index of the default level in `init_logging`'s list: `warn` (the client prints its own results).
const DEFAULT_LOG_LEVEL: usize = 2;

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
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(Fail(code, msg)) => {
            eprintln!("dm-client: {msg}");
            ExitCode::from(code)
        }
    }
}

fn run(cli: &Cli) -> Result<u8, Fail> {
    let store = TreeStore::new(&cli.tree);
    match &cli.cmd {
        Cmd::Init(a) => init(cli, &store, a),
        Cmd::Session(a) => {
            let tree = open(&store)?;
            let server_id = pick_account(&tree, a.net.server_id.as_deref())?;
            session(cli, &store, tree, &a.net, Start::Connect { server_id, session_id: None })
        }
        Cmd::Notify(a) => {
            let package0 = match (&a.pkg0, a.tpdu.as_slice()) {
                (Some(h), _) => hex::decode(h.trim()).map_err(|e| bad(format!("--pkg0: not hex: {e}")))?,
                (None, []) => return Err(bad("give --pkg0 or --tpdu")),
                (None, files) => package0_from_tpdus(files)?,
            };
            let tree = open(&store)?;
            session(cli, &store, tree, &a.net, Start::Notification { package0 })
        }
        Cmd::Tree(t) => tree_cmd(cli, &store, t),
    }
}

fn open(store: &TreeStore) -> Result<DmTree, Fail> {
    store
        .open()
        .map_err(|e| bad(e.to_string()))?
        .ok_or_else(|| bad(format!("no tree at {} (run `dm-client init` first)", store.path().display())))
}

fn pick_account(tree: &DmTree, server_id: Option<&str>) -> Result<String, Fail> {
    let accounts = DmAccount::all(tree);
    match server_id {
        Some(s) => Ok(s.to_owned()),
        None => match accounts.as_slice() {
            [one] => Ok(one.server_id.clone()),
            [] => Err(bad("the tree holds no DM account")),
            _ => Err(bad("several DM accounts: choose one with --server-id")),
        },
    }
}

fn init(cli: &Cli, store: &TreeStore, a: &InitArgs) -> Result<u8, Fail> {
    if store.exists() && !a.force {
        return Err(bad(format!("{} exists (use --force to replace it)", store.path().display())));
    }
    let now = net::now();
    let mut tree = DmTree::default();
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| bad(format!("{}: {e}", p.display())));
    let file = match &a.account {
        Some(p) => Some(
            serde_json::from_slice::<AccountFile>(&read(p)?)
                .map_err(|e| bad(format!("{}: not an account file: {e}", p.display())))?,
        ),
        None => None,
    };
    let info = file.as_ref().and_then(|f| f.dev_info.clone()).unwrap_or_else(|| DevInfo {
        dev_id: a.dev_id.clone(),
        man: a.man.clone(),
        model: a.model.clone(),
        dm_v: "1.2".into(),
        lang: "en-US".into(),
    });
    let refused = |what: &str, s| bad(format!("{what}: the tree refused it ({s})"));
    info.install(&mut tree, now).map_err(|s| refused("DevInfo", s))?;
    let detail = devdetail::DevDetail {
        dev_typ: "M2M module".into(),
        oem: info.man.clone(),
        fw_v: env!("CARGO_PKG_VERSION").into(),
        sw_v: env!("CARGO_PKG_VERSION").into(),
        hw_v: "1.0".into(),
        lrg_obj: true,
    };
    detail.install(&mut tree, now).map_err(|s| refused("DevDetail", s))?;
    let accounts = match (&file, &a.bootstrap) {
        (Some(f), _) => {
            f.apply(&mut tree, now).map_err(|s| refused("account", s))?;
            vec![f.account.clone()]
        }
        (None, Some(p)) => apply_bootstrap(&mut tree, &read(p)?, now).map_err(|e| bad(e.to_string()))?,
        (None, None) => return Err(bad("give --account or --bootstrap")),
    };
    store.save(&tree).map_err(|e| Fail(1, e.to_string()))?;
    if cli.json {
        let v = serde_json::json!({
            "tree": store.path().display().to_string(),
            "accounts": accounts.iter().map(|a| serde_json::json!({
                "server_id": a.server_id, "addr": a.addr, "uri": a.uri(),
            })).collect::<Vec<_>>(),
        });
        println!("{v}");
    } else {
        for acc in &accounts {
            println!("account {} for server {} at {}", acc.uri(), acc.server_id, acc.addr);
        }
        println!("tree saved to {}", store.path().display());
    }
    Ok(0)
}

/// Nonces from the operating system's randomness (`/dev/urandom`), else from the time and the process.
struct OsNonces;

impl NonceSource for OsNonces {
    fn fill(&mut self, buf: &mut [u8]) {
        use std::io::Read as _;
        if let Ok(mut f) = std::fs::File::open("/dev/urandom")
            && f.read_exact(buf).is_ok()
        {
            return;
        }
        let mut x = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            ^ u64::from(std::process::id()) << 32;
        for b in buf {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
}

fn policy_answer(policy: UiPolicy, a: &UiAlert) -> UiResponse {
    match (policy, a.kind) {
        (_, UiKind::Display) => UiResponse::Acknowledged,
        (UiPolicy::Headless, _) => UiResponse::TimedOut,
        (UiPolicy::Accept, UiKind::Confirm) => UiResponse::Yes,
        (UiPolicy::Accept, UiKind::TextInput) => {
            UiResponse::Text(a.options.default_response.clone().unwrap_or_default())
        }
        (UiPolicy::Accept, UiKind::SingleChoice | UiKind::MultipleChoice) => UiResponse::Selected(vec![1]),
        (UiPolicy::Reject, UiKind::Confirm) => UiResponse::No,
        (UiPolicy::Reject, _) => UiResponse::Cancelled,
    }
}

/// Asks on the terminal (stderr for the question, stdin for the answer).
fn ask(a: &UiAlert) -> UiResponse {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "\n[DM server alert] {}", a.text);
    for (i, c) in a.choices.iter().enumerate() {
        let _ = writeln!(err, "  {}. {c}", i + 1);
    }
    let prompt = match a.kind {
        UiKind::Display => "(press Enter) ",
        UiKind::Confirm => "Accept? [y/n, c = cancel] ",
        UiKind::TextInput => "Your answer (empty line = cancel): ",
        UiKind::SingleChoice => "Choose one number (empty = cancel): ",
        UiKind::MultipleChoice => "Choose numbers separated by spaces (empty = cancel): ",
    };
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return UiResponse::Cancelled;
    }
    let line = line.trim();
    match a.kind {
        UiKind::Display => UiResponse::Acknowledged,
        UiKind::Confirm => match line {
            "y" | "Y" | "yes" => UiResponse::Yes,
            "n" | "N" | "no" => UiResponse::No,
            _ => UiResponse::Cancelled,
        },
        _ if line.is_empty() => UiResponse::Cancelled,
        UiKind::TextInput => UiResponse::Text(line.to_owned()),
        UiKind::SingleChoice | UiKind::MultipleChoice => {
            let picks: Vec<u32> = line.split_whitespace().filter_map(|s| s.parse().ok()).collect();
            if picks.is_empty() { UiResponse::Cancelled } else { UiResponse::Selected(picks) }
        }
    }
}

fn session(cli: &Cli, store: &TreeStore, tree: DmTree, a: &NetArgs, start: Start) -> Result<u8, Fail> {
    let profile = match a.profile {
        Prof::Rtk => Profile::rtk(),
        Prof::Libwbxml => Profile::libwbxml(),
    };
    let wire = match a.encoding {
        Enc::Xml => Wire::xml(profile),
        Enc::Wbxml => Wire::wbxml(profile),
    };
    let config = ClientConfig { wire, max_msg_size: a.max_msg_size, ..ClientConfig::default() };
    let interactive = std::io::stdin().is_terminal() && !a.no_prompt;
    let policy = a.ui_policy;
    let mut client = DmClient::new(tree, config, OsNonces)
        .with_ui(move |alert: &UiAlert| if interactive { ask(alert) } else { policy_answer(policy, alert) });
    let trust = match (&a.ca, a.insecure) {
        (Some(p), _) => Trust::from_pem_file(p).map_err(|e| bad(e.to_string()))?,
        (None, true) => {
            eprintln!("WARNING: --insecure: the server's certificate will NOT be verified");
            Trust::InsecureAcceptAny
        }
        (None, false) => Trust::Roots(Vec::new()),
    };
    let transport = Transport { trust, request_timeout: Duration::from_secs(a.timeout), max_body: None };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fail(1, format!("tokio runtime: {e}")))?;
    let report =
        rt.block_on(net::run_session(&mut client, start, &transport, Some(store))).map_err(|e| match e {
            net::NetError::Store(e) => Fail(1, e.to_string()),
            e => bad(e.to_string()),
        })?;
    if cli.json {
        println!("{}", report.to_json());
    } else {
        for x in &report.transcript {
            let dir = match x.direction {
                net::Direction::Sent => ">>",
                net::Direction::Received => "<<",
            };
            println!("{dir} {} ({} bytes)", x.uri, x.body.len());
            if let Some(xml) = x.xml() {
                println!("{xml}");
            }
        }
        for e in &report.events {
            println!("event: {e:?}");
        }
        for e in &report.transport_errors {
            println!("transport: {e}");
        }
        println!("outcome: {:?}", report.outcome);
    }
    Ok(if report.completed() { 0 } else { 1 })
}

fn package0_from_tpdus(paths: &[PathBuf]) -> Result<Vec<u8>, Fail> {
    let mut tpdus: Vec<Vec<u8>> = Vec::new();
    for path in paths {
        let raw = std::fs::read(path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        let text = std::str::from_utf8(&raw).ok().filter(|t| {
            t.chars().all(|c| c.is_ascii_hexdigit() || c.is_ascii_whitespace()) && !t.trim().is_empty()
        });
        match text {
            Some(t) => {
                for l in t.lines().filter(|l| !l.trim().is_empty()) {
                    let b = hex::decode(l.trim())
                        .map_err(|e| bad(format!("{}: not hex: {e}", path.display())))?;
                    tpdus.push(b);
                }
            }
            None => tpdus.push(raw),
        }
    }
    let mut rx = PushReceiver::new();
    for (i, t) in tpdus.iter().enumerate() {
        let d = Deliver::decode_exact(t).map_err(|e| bad(format!("TPDU {}: {e}", i + 1)))?;
        match rx.push_deliver(&d).map_err(|e| bad(format!("TPDU {}: {e}", i + 1)))? {
            PushEvent::Notification(push) => return Ok(push.data),
            PushEvent::Pending | PushEvent::Duplicate => {}
        }
    }
    Err(bad("the TPDUs do not complete a DM notification (segments missing)"))
}

fn tree_cmd(cli: &Cli, store: &TreeStore, t: &TreeCmd) -> Result<u8, Fail> {
    let mut tree = open(store)?;
    match t {
        TreeCmd::Get { uri } => {
            let node = tree.node(uri).ok_or_else(|| Fail(1, format!("{uri}: no such node")))?;
            let (format, value) = if node.is_interior() {
                ("node".to_owned(), tree.children(uri).join("/"))
            } else {
                let v = if node.props.sensitive {
                    "<secret>".to_owned()
                } else {
                    show(node.props.format, tree.value(uri).unwrap_or(&[]))
                };
                (node.props.format.as_str().to_owned(), v)
            };
            if cli.json {
                println!("{}", serde_json::json!({ "uri": uri, "format": format, "value": value }));
            } else {
                println!("{value}");
            }
        }
        TreeCmd::Set { uri, value, format } => {
            let f = Format::parse(format).ok_or_else(|| bad(format!("unknown format {format:?}")))?;
            let bytes = match f {
                Format::Bin => hex::decode(value).map_err(|e| bad(format!("bin value must be hex: {e}")))?,
                _ => value.clone().into_bytes(),
            };
            let now = net::now();
            let mut l = tree.local(now);
            if let Some((parent, _)) = uri.rsplit_once('/') {
                l.ensure_interior(parent).map_err(|s| Fail(1, format!("{parent}: {s}")))?;
            }
            l.set_value(uri, bytes, f).map_err(|s| Fail(1, format!("{uri}: {s}")))?;
            store.save(&tree).map_err(|e| Fail(1, e.to_string()))?;
        }
        TreeCmd::List { uri } => {
            let prefix = uri.trim_start_matches("./").trim_start_matches('.');
            let rows: Vec<ResultItem> = tree
                .iter()
                .filter(|(p, _)| prefix.is_empty() || *p == prefix || p.starts_with(&format!("{prefix}/")))
                .map(|(p, n)| ResultItem {
                    source: if p.is_empty() { ".".into() } else { format!("./{p}") },
                    format: if n.props.sensitive { Format::Chr } else { n.props.format },
                    node_type: n.props.node_type.clone(),
                    data: n
                        .value()
                        .map(|v| if n.props.sensitive { b"<secret>".to_vec() } else { v.to_vec() }),
                })
                .collect();
            if cli.json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "uri": r.source,
                            "format": r.format.as_str(),
                            "value": r.data.as_ref().map(|d| show(r.format, d)),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::from(v));
            } else {
                for r in rows {
                    match &r.data {
                        Some(d) => println!("{} [{}] {}", r.source, r.format.as_str(), show(r.format, d)),
                        None => println!("{}/", r.source),
                    }
                }
            }
        }
        TreeCmd::Ddf => {
            let mut m = MgmtTree::new();
            let registered: Vec<String> = tree.mo_roots().map(str::to_owned).collect();
            let has = |root: &str| registered.iter().any(|r| format!("./{r}") == root);
            if has(devinfo::ROOT) {
                m.nodes.push(devinfo::ddf());
            }
            if has(devdetail::ROOT) {
                m.nodes.push(devdetail::ddf());
            }
            for l in [Layout::Dm12, Layout::Dm11] {
                if has(l.root()) {
                    m.nodes.push(l.ddf());
                }
            }
            let xml = m.to_xml(&Profile::rtk()).map_err(|e| Fail(1, e.to_string()))?;
            if cli.json {
                println!("{}", serde_json::json!({ "ddf": xml }));
            } else {
                println!("{xml}");
            }
        }
    }
    Ok(0)
}

/// A value for display: text when it is UTF-8 and not binary, else hex; secrets are never shown.
fn show(format: Format, v: &[u8]) -> String {
    match (format, std::str::from_utf8(v)) {
        (Format::Bin, _) | (_, Err(_)) => hex::encode(v),
        (_, Ok(t)) => t.to_owned(),
    }
}
