//! A tiny namespace-aware XML tree built with quick-xml, bounded in depth and size.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::Mm7Error;

/// Deepest element nesting accepted in a SOAP part.
const MAX_XML_DEPTH: usize = 64;
/// Most elements accepted in a SOAP part.
const MAX_XML_ELEMENTS: usize = 20_000;

/// One XML element: resolved namespace, local name, attributes (by local name), children and
/// the concatenated character data directly inside it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub(crate) ns: Option<String>,
    pub(crate) local: String,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) children: Vec<Element>,
    pub(crate) text: String,
}

impl Element {
    /// First child with this local name (any namespace).
    pub(crate) fn child(&self, local: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.local == local)
    }

    /// Trimmed text of the first child with this local name, if non-empty.
    pub(crate) fn child_text(&self, local: &str) -> Option<String> {
        self.child(local).and_then(Element::trimmed_text)
    }

    pub(crate) fn trimmed_text(&self) -> Option<String> {
        let t = self.text.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    pub(crate) fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == local)
            .map(|(_, v)| v.as_str())
    }

    /// Depth-first search for a descendant (or self) by local name.
    pub(crate) fn find(&self, local: &str) -> Option<&Element> {
        if self.local == local {
            return Some(self);
        }
        // Depth is bounded by MAX_XML_DEPTH, so recursion is safe.
        self.children.iter().find_map(|c| c.find(local))
    }
}

/// Work out the document's character encoding: BOM, then XML declaration, then the MIME
/// charset, then UTF-8. Chinese MMSCs often declare `encoding="GB2312"`.
fn decode_document(bytes: &[u8], charset_hint: Option<&str>) -> String {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc
            .decode_without_bom_handling(&bytes[bom_len..])
            .0
            .into_owned();
    }
    let declared = xml_declared_encoding(bytes);
    let label = declared.as_deref().or(charset_hint);
    let enc = label
        .and_then(|l| encoding_rs::Encoding::for_label(l.trim().as_bytes()))
        // An ASCII-compatible declaration is the only kind we can have read; never switch
        // to UTF-16 on a label alone.
        .filter(|e| e.is_ascii_compatible())
        .unwrap_or(encoding_rs::UTF_8);
    enc.decode_without_bom_handling(bytes).0.into_owned()
}

/// `encoding="..."` from `<?xml ...?>` at the start of the document.
fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.get(..bytes.len().min(256))?;
    let head = String::from_utf8_lossy(head);
    let head = head.trim_start();
    if !head.starts_with("<?xml") {
        return None;
    }
    let decl = &head[..head.find("?>")?];
    let idx = decl.find("encoding")?;
    let rest = decl[idx + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let inner = &rest[1..];
    Some(inner[..inner.find(quote)?].to_string())
}

fn xml_err(e: impl std::fmt::Display) -> Mm7Error {
    Mm7Error::Xml(e.to_string())
}

fn ns_of(r: ResolveResult<'_>) -> Option<String> {
    match r {
        ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.into_inner()).into_owned()),
        _ => None,
    }
}

/// Parse a document into its root element.
pub(crate) fn parse_xml(bytes: &[u8], charset_hint: Option<&str>) -> Result<Element, Mm7Error> {
    let text = decode_document(bytes, charset_hint);
    let mut reader = NsReader::from_str(&text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;

    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(xml_err)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                count += 1;
                if count > MAX_XML_ELEMENTS {
                    return Err(Mm7Error::Xml("too many elements".into()));
                }
                if stack.len() >= MAX_XML_DEPTH {
                    return Err(Mm7Error::Xml("elements nested too deeply".into()));
                }
                if root.is_some() {
                    return Err(Mm7Error::Xml("content after the root element".into()));
                }
                let mut el = Element {
                    ns: ns_of(resolved),
                    local: String::from_utf8_lossy(e.local_name().into_inner()).into_owned(),
                    ..Element::default()
                };
                for a in e.attributes() {
                    let a = a.map_err(xml_err)?;
                    let key = a.key.local_name();
                    let key = String::from_utf8_lossy(key.into_inner()).into_owned();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(xml_err)?
                        .into_owned();
                    el.attrs.push((key, value));
                }
                if matches!(event, Event::Start(_)) {
                    stack.push(el);
                } else {
                    close(el, &mut stack, &mut root);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| Mm7Error::Xml("unmatched end tag".into()))?;
                close(el, &mut stack, &mut root);
            }
            Event::Text(e) => {
                let t = e.xml10_content().map_err(xml_err)?;
                push_text(&mut stack, &t)?;
            }
            Event::CData(e) => {
                let t = e.decode().map_err(xml_err)?;
                push_text(&mut stack, &t)?;
            }
            Event::GeneralRef(e) => {
                let ch = if e.is_char_ref() {
                    e.resolve_char_ref().map_err(xml_err)?
                } else {
                    match e.decode().map_err(xml_err)?.as_ref() {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "apos" => Some('\''),
                        "quot" => Some('"'),
                        other => return Err(Mm7Error::Xml(format!("undefined entity &{other};"))),
                    }
                };
                if let Some(ch) = ch {
                    push_text(&mut stack, ch.encode_utf8(&mut [0u8; 4]))?;
                }
            }
            Event::DocType(_) => {
                return Err(Mm7Error::Xml(
                    "DTDs are not allowed in SOAP messages".into(),
                ))
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(Mm7Error::Xml("unexpected end of document".into()));
    }
    root.ok_or_else(|| Mm7Error::Xml("no root element".into()))
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

fn push_text(stack: &mut [Element], t: &str) -> Result<(), Mm7Error> {
    match stack.last_mut() {
        Some(top) => top.text.push_str(t),
        None if t.trim().is_empty() => {}
        None => return Err(Mm7Error::Xml("text outside the root element".into())),
    }
    Ok(())
}

/// Escape text for element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_and_namespaces() {
        let x = br#"<?xml version="1.0"?><e:A xmlns:e="urn:x"><B k="a&amp;b">x &lt; y &#x4e2d;<![CDATA[<z>]]></B></e:A>"#;
        let root = parse_xml(x, None).unwrap();
        assert_eq!(root.local, "A");
        assert_eq!(root.ns.as_deref(), Some("urn:x"));
        let b = root.child("B").unwrap();
        assert_eq!(b.attr("k"), Some("a&b"));
        assert_eq!(b.text, "x < y 中<z>");
    }

    #[test]
    fn gb2312_declaration() {
        let (bytes, _, _) = encoding_rs::GBK.encode("<a>头像</a>");
        let mut doc = b"<?xml version=\"1.0\" encoding=\"GB2312\"?>".to_vec();
        doc.extend_from_slice(&bytes);
        assert_eq!(parse_xml(&doc, None).unwrap().text, "头像");
    }

    #[test]
    fn rejects_bad_xml() {
        assert!(parse_xml(b"<a><b></a>", None).is_err());
        assert!(parse_xml(b"<a>", None).is_err());
        assert!(parse_xml(b"", None).is_err());
        assert!(parse_xml(b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", None).is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse_xml(deep.as_bytes(), None).is_err());
    }
}
