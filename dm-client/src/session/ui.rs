//! User-interaction alerts 1100–1104 (OMA DM 1.2.1 Protocol §2.5): what the engine hands to the device's
//! user interface ([`UiAlert`]), what it gets back ([`UiResponse`]), the [`UiHandler`] trait and the
//! headless default policy [`HeadlessUi`].
//!
//! # Statuses (Protocol §2.5.2)
//! | answer | status | items | effect on the rest of the message |
//! |---|---|---|---|
//! | [`UiResponse::Acknowledged`] (Display) | 200 | — | none |
//! | [`UiResponse::Yes`] | 200 | — | none |
//! | [`UiResponse::No`] (Confirm) | 304 | — | inside Atomic: the Atomic fails; inside Sequence: the rest of the Sequence is bypassed (215); directly in the body: none |
//! | [`UiResponse::Text`] | 200 | the text | none |
//! | [`UiResponse::Selected`] | 200 | one item per choice number | none |
//! | [`UiResponse::Cancelled`] | 214 | — | message processing stops: every command not yet processed gets 215 (an open Atomic fails) |
//! | [`UiResponse::TimedOut`] | 408 | the default response (`DR`), if any | as Cancelled (§2.5.3.2: an alert not answered within MAXDT "is considered to be cancelled") |
//! | [`UiResponse::NotSupported`] | 406 | — | none |
//!
//! The default response sent with 408 follows what the AOSP client does for unanswered alerts (corpus
//! `aosp_dm1x_testalert*`): Text Input and Single Choice send the `DR` value as one item, Multiple Choice one
//! item per `-`-separated part of `DR` (`DR=1-3,6` gives items `1` and `3,6`: the `-` is the separator of
//! multiple default choices \[M\], and AOSP splits on nothing else), Display and Confirm send none.
//!
//! # Options (Protocol §2.5.3)
//! The first item's data is a URL-encoded option string (`MAXDT=30&DR=1`). Decision: it is split at `&`,
//! each part at its first `=`, and `%XX` escapes are decoded (RFC 2396); `+` is kept as it is (RFC 2396 has no
//! `+`-for-space rule, and AOSP returns `DR=hello+andy!` verbatim). Options the client does not know are kept
//! in [`UiOptions::other`] and otherwise skipped without error, as §2.5.3 requires.

use m2msim_codec::syncml::{AlertCode, StatusCode};
use serde::{Deserialize, Serialize};

/// The kind of a user-interaction alert (Protocol §2.5.2, RepPro §4.2 alert codes 1100–1104).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiKind {
    /// 1100 DISPLAY.
    Display,
    /// 1101 CONFIRM OR REJECT.
    Confirm,
    /// 1102 TEXT INPUT.
    TextInput,
    /// 1103 SINGLE CHOICE.
    SingleChoice,
    /// 1104 MULTIPLE CHOICE.
    MultipleChoice,
}

impl UiKind {
    /// The kind of an alert code (`None` outside 1100–1104).
    #[must_use]
    pub const fn from_code(code: AlertCode) -> Option<Self> {
        Some(match code.0 {
            1100 => Self::Display,
            1101 => Self::Confirm,
            1102 => Self::TextInput,
            1103 => Self::SingleChoice,
            1104 => Self::MultipleChoice,
            _ => return None,
        })
    }
}

/// The options of a user-interaction alert (Protocol §2.5.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UiOptions {
    /// `MINDT`: minimum display time in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_dt: Option<u32>,
    /// `MAXDT`: how long to wait for the user, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dt: Option<u32>,
    /// `DR`: the default response (text, a choice number, or choice numbers separated by `-`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_response: Option<String>,
    /// `MAXLEN`: the longest text input accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    /// `IT`: input type (`A` alphanumeric, `N` numeric, `D` date, `T` time, `P` phone, `I` IP address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_type: Option<String>,
    /// `ET`: echo type (`T` text, `P` password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_type: Option<String>,
    /// Options this client does not know, in order (name, decoded value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<(String, String)>,
}

impl UiOptions {
    /// Parses an option string (see the [module documentation](self)). Numbers that do not parse are
    /// kept in [`UiOptions::other`].
    #[must_use]
    pub fn parse(s: &str) -> Self {
        let mut o = Self::default();
        for part in s.split('&').filter(|p| !p.trim().is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let name = name.trim();
            let value = percent_decode(value);
            let num = || value.trim().parse::<u32>().ok();
            match name {
                "MINDT" if num().is_some() => o.min_dt = num(),
                "MAXDT" if num().is_some() => o.max_dt = num(),
                "MAXLEN" if num().is_some() => o.max_len = num(),
                "DR" => o.default_response = Some(value),
                "IT" => o.input_type = Some(value),
                "ET" => o.echo_type = Some(value),
                _ => o.other.push((name.to_owned(), value)),
            }
        }
        o
    }
}

/// Decodes `%XX` escapes (RFC 2396 §2.4.1); malformed escapes and invalid UTF-8 are kept as they are.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = |j: usize| b.get(j).and_then(|&h| (h as char).to_digit(16));
        match (c, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// A user-interaction alert as the device's UI sees it (Protocol §2.5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UiAlert {
    /// Which interaction.
    pub kind: UiKind,
    /// The options of the first item.
    pub options: UiOptions,
    /// The text to show (the second item): the message, question, prompt or list title.
    pub text: String,
    /// The choices (the third item onwards), numbered from 1 in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

/// The user's answer to a [`UiAlert`]; see the [module documentation](self) for the statuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiResponse {
    /// The message was shown (Display).
    Acknowledged,
    /// "Yes" (Confirm).
    Yes,
    /// "No" (Confirm).
    No,
    /// The text typed in (Text Input).
    Text(String),
    /// The numbers of the chosen items, from 1 (Single/Multiple Choice).
    Selected(Vec<u32>),
    /// The user cancelled.
    Cancelled,
    /// Nobody answered within MAXDT (or at all).
    TimedOut,
    /// The device has no user interface for this kind of alert.
    NotSupported,
}

/// What a UI answer does to the processing of the rest of the message (see the [module
/// documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UiFlow {
    /// Nothing.
    Continue,
    /// A rejected confirmation (304).
    Reject,
    /// Cancelled or timed out: stop processing the message.
    Stop,
}

impl UiResponse {
    /// The status code, the status items' data and the effect on the processing of the message.
    pub(crate) fn outcome(&self, alert: &UiAlert) -> (StatusCode, Vec<String>, UiFlow) {
        match self {
            Self::Acknowledged | Self::Yes => (StatusCode::OK, Vec::new(), UiFlow::Continue),
            Self::No => (StatusCode::NOT_MODIFIED, Vec::new(), UiFlow::Reject),
            Self::Text(t) => (StatusCode::OK, vec![t.clone()], UiFlow::Continue),
            Self::Selected(v) => (StatusCode::OK, v.iter().map(u32::to_string).collect(), UiFlow::Continue),
            Self::Cancelled => (StatusCode::OPERATION_CANCELLED, Vec::new(), UiFlow::Stop),
            Self::TimedOut => {
                let dr = alert.options.default_response.as_deref();
                let items = match (alert.kind, dr) {
                    (UiKind::TextInput | UiKind::SingleChoice, Some(d)) => vec![d.to_owned()],
                    (UiKind::MultipleChoice, Some(d)) => {
                        d.split('-').filter(|p| !p.is_empty()).map(str::to_owned).collect()
                    }
                    _ => Vec::new(),
                };
                (StatusCode::REQUEST_TIMEOUT, items, UiFlow::Stop)
            }
            Self::NotSupported => (StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED, Vec::new(), UiFlow::Continue),
        }
    }
}

/// The device's user interface for alerts 1100–1104.
///
/// The engine calls it synchronously while it processes a server message (the commands after the alert
/// wait for the answer, as Protocol §2.5 orders). An interactive device answers within the call (or
/// answers [`UiResponse::TimedOut`] once MAXDT has passed); a headless one uses [`HeadlessUi`].
pub trait UiHandler: Send {
    /// Shows `alert` and returns the user's answer.
    fn alert(&mut self, alert: &UiAlert) -> UiResponse;
}

impl<F: FnMut(&UiAlert) -> UiResponse + Send> UiHandler for F {
    fn alert(&mut self, alert: &UiAlert) -> UiResponse {
        self(alert)
    }
}

/// The policy of a device without a user: Display alerts are acknowledged (200: there is nothing to
/// answer), every other alert times out (408 with the default response, as the AOSP client answers
/// alerts nobody answers), which stops the processing of the message (see the [module
/// documentation](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadlessUi;

impl UiHandler for HeadlessUi {
    fn alert(&mut self, alert: &UiAlert) -> UiResponse {
        match alert.kind {
            UiKind::Display => UiResponse::Acknowledged,
            _ => UiResponse::TimedOut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(kind: UiKind, options: &str) -> UiAlert {
        UiAlert { kind, options: UiOptions::parse(options), text: "t".into(), choices: Vec::new() }
    }

    #[test]
    fn options_of_the_aosp_scripts_and_the_spec() {
        let o = UiOptions::parse("MAXDT=20&DR=hello+andy!&MAXLEN=30&IT=I&ET=P");
        assert_eq!(o.max_dt, Some(20));
        assert_eq!(o.default_response.as_deref(), Some("hello+andy!"));
        assert_eq!(
            (o.max_len, o.input_type.as_deref(), o.echo_type.as_deref()),
            (Some(30), Some("I"), Some("P"))
        );
        assert_eq!(UiOptions::parse("MINDT=10").min_dt, Some(10));
        // The Atomic script has no `&` between the options: one unknown option with a strange value.
        let o = UiOptions::parse("MAXDT=15DR=1");
        assert_eq!((o.max_dt, o.default_response), (None, None));
        assert_eq!(o.other, [("MAXDT".to_owned(), "15DR=1".to_owned())]);
        assert_eq!(UiOptions::parse(""), UiOptions::default());
        let o = UiOptions::parse("DR=a%20b%2x&X=%C3%A9&&Y");
        assert_eq!(o.default_response.as_deref(), Some("a b%2x"));
        assert_eq!(o.other, [("X".to_owned(), "é".to_owned()), ("Y".to_owned(), String::new())]);
        assert_eq!(percent_decode("%FF"), "%FF", "invalid UTF-8 stays as sent");
    }

    #[test]
    fn headless_answers_like_aosp() {
        let mut ui = HeadlessUi;
        let cases = [
            (UiKind::Display, "MINDT=15", 200, vec![], UiFlow::Continue),
            (UiKind::Confirm, "MAXDT=15&DR=1", 408, vec![], UiFlow::Stop),
            (UiKind::TextInput, "DR=hello+andy!", 408, vec!["hello+andy!"], UiFlow::Stop),
            (UiKind::SingleChoice, "MAXDT=20&DR=2", 408, vec!["2"], UiFlow::Stop),
            (UiKind::MultipleChoice, "MAXDT=20&DR=1-3,6", 408, vec!["1", "3,6"], UiFlow::Stop),
            (UiKind::MultipleChoice, "", 408, vec![], UiFlow::Stop),
        ];
        for (kind, opts, code, items, flow) in cases {
            let a = alert(kind, opts);
            let (s, i, f) = ui.alert(&a).outcome(&a);
            assert_eq!((s.0, i, f), (code, items.iter().map(|s| s.to_string()).collect(), flow), "{kind:?}");
        }
    }

    #[test]
    fn answers_map_to_statuses() {
        let a = alert(UiKind::MultipleChoice, "DR=1");
        assert_eq!(UiResponse::No.outcome(&a), (StatusCode(304), vec![], UiFlow::Reject));
        assert_eq!(UiResponse::Cancelled.outcome(&a), (StatusCode(214), vec![], UiFlow::Stop));
        assert_eq!(
            UiResponse::Selected(vec![3, 2]).outcome(&a),
            (StatusCode::OK, vec!["3".into(), "2".into()], UiFlow::Continue)
        );
        assert_eq!(UiResponse::Text("CNN".into()).outcome(&a).1, ["CNN"]);
        assert_eq!(UiResponse::NotSupported.outcome(&a).0, StatusCode(406));
        assert_eq!(UiKind::from_code(AlertCode(1104)), Some(UiKind::MultipleChoice));
        assert_eq!(UiKind::from_code(AlertCode(1222)), None);
        let mut f = |_: &UiAlert| UiResponse::Yes;
        assert_eq!(UiHandler::alert(&mut f, &a), UiResponse::Yes);
    }
}
