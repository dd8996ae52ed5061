//! Management tree URIs (OMA DM 1.2.1 TND §8.2.2.1 node addressing, §8.3.3 `?prop=`, §8.4.1 `?list=`) and the
//! URI limits a device advertises in `DevDetail/URI/{MaxDepth,MaxTotLen,MaxSegLen}` (StdObj §7.1.3.3).
//!
//! Main types: [`DmUri`] (a checked URI: normalised path plus optional [`UriQuery`]), [`UriLimits`],
//! [`Property`], [`ListKind`] and [`TndsFields`].
//!
//! Accepted forms: `./a/b`, `a/b` (relative to the root, TND §8.2.2.1), `.` (the root). Rejected with 400 Bad
//! request: the empty URI, a leading `/`, empty segments (`a//b`), a trailing `/`, and `.` or `..` as a
//! segment after the leading `./`. Segments are kept as received: `%xx` escapes are not decoded (decision:
//! the spec names nodes by their URI text, and decoding would give two spellings of one node).
//!
//! Limits (decision, StdObj §7.1.3.3 counts *characters*): `MaxTotLen` is compared with the number of
//! characters of the whole URI as received, query included (the limit is for "any URI used to address a node
//! or node property"); `MaxSegLen` with the characters of each path segment; `MaxDepth` with the number of
//! path segments, the leading `.` not counted (so `./a/b` has depth 2). A limit of 0 means unlimited. Any
//! violation is 414 URI too long, checked before the syntax.
//!
//! Queries: `?prop=<ACL|Format|Name|Size|Title|TStamp|Type|VerNo>` and `?list=<Struct|StructData|TNDS>`;
//! `TNDS` may carry `+`-separated field names (`?list=TNDS+ACL+Value`). Anything else is answered 406
//! Optional feature not supported (TND §8.3.3, §8.4.1).

use m2msim_codec::syncml::codes::StatusCode;
use serde::{Deserialize, Serialize};

/// The URI limits of the device (StdObj §7.1.3.3 `DevDetail/URI/*`, 16-bit, 0 = unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UriLimits {
    /// `MaxDepth`: the largest number of segments.
    pub max_depth: u16,
    /// `MaxTotLen`: the largest number of characters of a whole URI.
    pub max_tot_len: u16,
    /// `MaxSegLen`: the largest number of characters of one segment.
    pub max_seg_len: u16,
}

impl Default for UriLimits {
    /// Decision: 16 segments, 512 characters, 64 characters per segment: room for every standard MO and the
    /// M2MSIMMobj, and small enough that a hostile server cannot make the client hold huge keys.
    fn default() -> Self {
        Self { max_depth: 16, max_tot_len: 512, max_seg_len: 64 }
    }
}

/// The hard cap on the length in bytes of a URI, applied even when `MaxTotLen` is 0 (unlimited): no 16-bit
/// character count can need more than four bytes per character.
const HARD_MAX_URI_BYTES: usize = 4 * u16::MAX as usize;

/// A run-time node property (TND §8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    /// `ACL`: access control list (Get, Replace).
    Acl,
    /// `Format` (Get).
    Format,
    /// `Name` (Get, Replace = rename).
    Name,
    /// `Size` of a leaf value in bytes (Get).
    Size,
    /// `Title`: human-readable name (Get, Replace).
    Title,
    /// `TStamp`: time of the last change (Get).
    TStamp,
    /// `Type`: MIME type of a leaf, MO identifier of an MO root (Get).
    Type,
    /// `VerNo`: version number, incremented on each change (Get).
    VerNo,
}

impl Property {
    /// Every property.
    pub const ALL: [Self; 8] =
        [Self::Acl, Self::Format, Self::Name, Self::Size, Self::Title, Self::TStamp, Self::Type, Self::VerNo];

    /// The name used in `?prop=` (TND §8.3.1).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Acl => "ACL",
            Self::Format => "Format",
            Self::Name => "Name",
            Self::Size => "Size",
            Self::Title => "Title",
            Self::TStamp => "TStamp",
            Self::Type => "Type",
            Self::VerNo => "VerNo",
        }
    }

    /// Parses a property name (exact spelling, as the spec is case sensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The fields a `?list=TNDS` answer carries (TNDS §9.2.1).
///
/// Decision: plain `TNDS` gives Format, Type and Value (the encoder MUSTs plus Format); with `+` names
/// (`TNDS+ACL+Value`) exactly the named fields are given, and Type always (the encoder MUST encode it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TndsFields {
    /// `ACL`
    pub acl: bool,
    /// `Format`
    pub format: bool,
    /// `Size` (leaves)
    pub size: bool,
    /// `Title`
    pub title: bool,
    /// `TStamp`
    pub tstamp: bool,
    /// `VerNo`
    pub ver_no: bool,
    /// `Value` (leaf data)
    pub value: bool,
}

impl TndsFields {
    /// The fields of a plain `?list=TNDS`.
    pub const DEFAULT: Self = Self {
        acl: false,
        format: true,
        size: false,
        title: false,
        tstamp: false,
        ver_no: false,
        value: true,
    };
}

/// The `?list=` attribute (TND §8.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// `Struct`: the structure of the subtree without data.
    Struct,
    /// `StructData`: the structure with the leaves' data.
    StructData,
    /// `TNDS`: the subtree serialised as a TNDS object (TNDS §9).
    Tnds(TndsFields),
}

/// The query part of a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UriQuery {
    /// `?prop=<name>` (TND §8.3.3).
    Prop(Property),
    /// `?list=<attribute>` (TND §8.4.1).
    List(ListKind),
}

/// A checked management tree URI: the normalised path (segments joined by `/`, no `./`, the root is `""`)
/// and the optional query (TND §8.2.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DmUri {
    path: String,
    query: Option<UriQuery>,
}

impl DmUri {
    /// Parses and checks a URI against `limits`.
    ///
    /// # Errors
    /// 414 when a limit is exceeded, 400 for a malformed path, 406 for an unsupported query.
    pub fn parse(uri: &str, limits: &UriLimits) -> Result<Self, StatusCode> {
        if uri.len() > HARD_MAX_URI_BYTES
            || (limits.max_tot_len != 0 && uri.chars().count() > usize::from(limits.max_tot_len))
        {
            return Err(StatusCode::URI_TOO_LONG);
        }
        let (path_part, query_part) = match uri.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (uri, None),
        };
        let path = parse_path(path_part, limits)?;
        let query = query_part.map(parse_query).transpose()?;
        Ok(Self { path, query })
    }

    /// The normalised path (`""` for the root, else `a/b`).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query, if any.
    #[must_use]
    pub fn query(&self) -> Option<UriQuery> {
        self.query
    }

    /// True for the root (`.`).
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.path.is_empty()
    }

    /// The absolute form of the path (`.` or `./a/b`), without the query.
    #[must_use]
    pub fn absolute(&self) -> String {
        absolute(&self.path)
    }
}

/// Checks one segment (a node name) against the syntax rules and `MaxSegLen`.
///
/// # Errors
/// 400 when the name is empty, `.` or `..`, or contains `/` or `?`; 414 when it is longer than `MaxSegLen`.
pub fn check_segment(seg: &str, limits: &UriLimits) -> Result<(), StatusCode> {
    if seg.is_empty() || seg == "." || seg == ".." || seg.contains(['/', '?']) {
        return Err(StatusCode::BAD_REQUEST);
    }
    if limits.max_seg_len != 0 && seg.chars().count() > usize::from(limits.max_seg_len) {
        return Err(StatusCode::URI_TOO_LONG);
    }
    Ok(())
}

/// Checks a normalised path against all three limits (used for paths the tree makes itself: copies, renames).
///
/// # Errors
/// 414 when a limit is exceeded.
pub fn check_path_limits(path: &str, limits: &UriLimits) -> Result<(), StatusCode> {
    let abs_len = absolute(path).chars().count();
    if limits.max_tot_len != 0 && abs_len > usize::from(limits.max_tot_len) {
        return Err(StatusCode::URI_TOO_LONG);
    }
    if path.is_empty() {
        return Ok(());
    }
    let mut depth = 0usize;
    for seg in path.split('/') {
        depth += 1;
        if limits.max_seg_len != 0 && seg.chars().count() > usize::from(limits.max_seg_len) {
            return Err(StatusCode::URI_TOO_LONG);
        }
    }
    if limits.max_depth != 0 && depth > usize::from(limits.max_depth) {
        return Err(StatusCode::URI_TOO_LONG);
    }
    Ok(())
}

fn parse_path(p: &str, limits: &UriLimits) -> Result<String, StatusCode> {
    if p == "." {
        return Ok(String::new());
    }
    let rel = p.strip_prefix("./").unwrap_or(p);
    if rel.is_empty() || rel.starts_with('/') {
        return Err(StatusCode::BAD_REQUEST);
    }
    // Limits first (414 wins over 400), then the syntax.
    let mut depth = 0usize;
    for seg in rel.split('/') {
        depth += 1;
        if limits.max_seg_len != 0 && seg.chars().count() > usize::from(limits.max_seg_len) {
            return Err(StatusCode::URI_TOO_LONG);
        }
    }
    if limits.max_depth != 0 && depth > usize::from(limits.max_depth) {
        return Err(StatusCode::URI_TOO_LONG);
    }
    for seg in rel.split('/') {
        check_segment(seg, limits)?;
    }
    Ok(rel.to_owned())
}

fn parse_query(q: &str) -> Result<UriQuery, StatusCode> {
    let unsupported = StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED;
    if let Some(name) = q.strip_prefix("prop=") {
        return Property::parse(name).map(UriQuery::Prop).ok_or(unsupported);
    }
    let Some(attr) = q.strip_prefix("list=") else { return Err(unsupported) };
    let mut parts = attr.split('+');
    let kind = match parts.next() {
        Some("Struct") => ListKind::Struct,
        Some("StructData") => ListKind::StructData,
        Some("TNDS") => {
            let mut fields = TndsFields::default();
            let mut any = false;
            for f in parts.by_ref() {
                any = true;
                match f {
                    "ACL" => fields.acl = true,
                    "Format" => fields.format = true,
                    "Size" => fields.size = true,
                    "Title" => fields.title = true,
                    "TStamp" => fields.tstamp = true,
                    "VerNo" => fields.ver_no = true,
                    "Value" => fields.value = true,
                    // Type is always given; Name is the NodeName element itself.
                    "Type" | "Name" => {}
                    _ => return Err(unsupported),
                }
            }
            ListKind::Tnds(if any { fields } else { TndsFields::DEFAULT })
        }
        _ => return Err(unsupported),
    };
    if parts.next().is_some() {
        return Err(unsupported);
    }
    Ok(UriQuery::List(kind))
}

/// The absolute URI (`.` or `./a/b`) of a normalised path.
#[must_use]
pub fn absolute(path: &str) -> String {
    if path.is_empty() { ".".to_owned() } else { format!("./{path}") }
}

/// The parent of a normalised path (`None` for the root; the parent of `a` is the root `""`).
#[must_use]
pub fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    Some(path.rsplit_once('/').map_or("", |(p, _)| p))
}

/// The last segment (the node name) of a normalised path (`""` for the root).
#[must_use]
pub fn name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, n)| n)
}

/// Joins a normalised parent path and a child name.
#[must_use]
pub fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_owned() } else { format!("{parent}/{name}") }
}

/// True when `path` is `ancestor` or lies below it.
#[must_use]
pub fn is_within(path: &str, ancestor: &str) -> bool {
    ancestor.is_empty()
        || path == ancestor
        || (path.len() > ancestor.len()
            && path.starts_with(ancestor)
            && path.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<DmUri, StatusCode> {
        DmUri::parse(s, &UriLimits::default())
    }

    #[test]
    fn forms_normalise_to_one_path() {
        assert_eq!(p("./DMAcc/xyzInc").unwrap().path(), "DMAcc/xyzInc");
        assert_eq!(p("DMAcc/xyzInc").unwrap().path(), "DMAcc/xyzInc");
        assert!(p(".").unwrap().is_root());
        assert_eq!(p(".").unwrap().absolute(), ".");
        assert_eq!(p("a/b").unwrap().absolute(), "./a/b");
    }

    #[test]
    fn malformed_paths_are_400() {
        for bad in ["", "./", "/a", "a//b", "a/", "./a/", "a/../b", "a/./b", "..", "./.", "a/.."] {
            assert_eq!(p(bad), Err(StatusCode::BAD_REQUEST), "{bad:?}");
        }
    }

    #[test]
    fn queries() {
        // TND §8.3.3 example: ./DMAcc/xyzInc?prop=ACL and DMAcc/xyzInc?prop=ACL.
        let u = p("./DMAcc/xyzInc?prop=ACL").unwrap();
        assert_eq!(u.query(), Some(UriQuery::Prop(Property::Acl)));
        assert_eq!(u, p("DMAcc/xyzInc?prop=ACL").unwrap());
        for prop in Property::ALL {
            assert_eq!(p(&format!("a?prop={}", prop.as_str())).unwrap().query(), Some(UriQuery::Prop(prop)));
        }
        assert_eq!(p("a?list=Struct").unwrap().query(), Some(UriQuery::List(ListKind::Struct)));
        assert_eq!(p("a?list=StructData").unwrap().query(), Some(UriQuery::List(ListKind::StructData)));
        assert_eq!(
            p("a?list=TNDS").unwrap().query(),
            Some(UriQuery::List(ListKind::Tnds(TndsFields::DEFAULT)))
        );
        let Some(UriQuery::List(ListKind::Tnds(f))) = p("a?list=TNDS+ACL+Value").unwrap().query() else {
            panic!("not TNDS")
        };
        assert!(f.acl && f.value && !f.format && !f.tstamp);
        for bad in [
            "a?prop=acl",
            "a?prop=Colour",
            "a?list=Tree",
            "a?list=Struct+ACL",
            "a?x=1",
            "a?",
            "a?list=TNDS+X",
        ] {
            assert_eq!(p(bad), Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED), "{bad:?}");
        }
    }

    #[test]
    fn limits_are_414() {
        let l = UriLimits { max_depth: 3, max_tot_len: 20, max_seg_len: 5 };
        assert!(DmUri::parse("./a/b/c", &l).is_ok());
        assert_eq!(DmUri::parse("./a/b/c/d", &l), Err(StatusCode::URI_TOO_LONG));
        assert!(DmUri::parse("abcde", &l).is_ok());
        assert_eq!(DmUri::parse("abcdef", &l), Err(StatusCode::URI_TOO_LONG));
        // 21 characters in all, query included.
        assert_eq!(DmUri::parse("./abc/abc?prop=Title", &l).map(|_| ()), Ok(()));
        assert_eq!(DmUri::parse("./abc/abcd?prop=Title", &l), Err(StatusCode::URI_TOO_LONG));
        // Characters, not bytes: five two-byte characters fit a MaxSegLen of 5.
        assert!(DmUri::parse("ééééé", &l).is_ok());
        // 414 is checked before the syntax.
        assert_eq!(DmUri::parse("a//b/c/d", &l), Err(StatusCode::URI_TOO_LONG));
        let unlimited = UriLimits { max_depth: 0, max_tot_len: 0, max_seg_len: 0 };
        let long = vec!["x"; 1000].join("/");
        assert!(DmUri::parse(&long, &unlimited).is_ok());
        assert_eq!(
            DmUri::parse(&"y".repeat(HARD_MAX_URI_BYTES + 1), &unlimited),
            Err(StatusCode::URI_TOO_LONG)
        );
        assert_eq!(check_path_limits("a/b/c/d", &l), Err(StatusCode::URI_TOO_LONG));
        assert_eq!(check_path_limits("a/bbbbbb", &l), Err(StatusCode::URI_TOO_LONG));
        assert_eq!(check_path_limits("a/b", &l), Ok(()));
    }

    proptest::proptest! {
        #[test]
        fn absolute_and_relative_forms_agree(segs in proptest::collection::vec("[A-Za-z0-9_.-]{1,8}", 1..6)) {
            proptest::prop_assume!(segs.iter().all(|s| s != "." && s != ".."));
            let rel = segs.join("/");
            let unlimited = UriLimits { max_depth: 0, max_tot_len: 0, max_seg_len: 0 };
            let a = DmUri::parse(&rel, &unlimited).unwrap();
            let b = DmUri::parse(&format!("./{rel}"), &unlimited).unwrap();
            proptest::prop_assert_eq!(&a, &b);
            proptest::prop_assert_eq!(a.path(), rel.as_str());
            proptest::prop_assert_eq!(DmUri::parse(&a.absolute(), &unlimited).unwrap(), a.clone());
            proptest::prop_assert_eq!(parent(a.path()).map(|p| join(p, name(a.path()))), Some(rel.clone()));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,64}") {
            if let Ok(u) = DmUri::parse(&s, &UriLimits::default()) {
                proptest::prop_assert!(check_path_limits(u.path(), &UriLimits::default()).is_ok());
            }
        }
    }

    #[test]
    fn path_helpers() {
        assert_eq!(parent("a/b/c"), Some("a/b"));
        assert_eq!(parent("a"), Some(""));
        assert_eq!(parent(""), None);
        assert_eq!(name("a/b/c"), "c");
        assert_eq!(name("a"), "a");
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a", "b"), "a/b");
        assert!(is_within("a/b", "a") && is_within("a", "a") && is_within("a", ""));
        assert!(!is_within("ab", "a") && !is_within("a", "a/b"));
    }
}
