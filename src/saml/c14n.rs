//! Exclusive XML Canonicalization 1.0 without comments (W3C xml-exc-c14n, 2002), written over
//! the roxmltree document the pipeline reads values from, so the bytes that are digested and
//! the values that are consumed come from one parse.
//!
//! roxmltree resolves every name to (namespace URI, local name) but does not keep the prefix a
//! name was written with, and canonical XML must reproduce it. The qualified name is therefore
//! read back from the source text through the node's byte range (`<` + qname for elements,
//! `Attribute::range_qname` for attributes), and cross-checked: the prefix read from the text
//! must resolve, in roxmltree's own namespace scope for that element, to exactly the namespace
//! roxmltree assigned, and the local part must equal roxmltree's local name. A document where
//! the two disagree (which a correct parser never produces, but a truncated range — roxmltree
//! stores qname lengths in 16 bits — would) is refused instead of canonicalised.
//!
//! Values come from roxmltree, already normalised as the XML spec requires (entities and
//! character references expanded, line ends normalised, attribute whitespace normalised);
//! canonical escaping is then applied: in attribute values `&amp; &lt; &quot; &#x9; &#xA;
//! &#xD;`, in text `&amp; &lt; &gt; &#xD;` (C14N 1.0 §2.3: `>` is not escaped in attributes).
//!
//! Only what spconnect's intake lets through is supported: elements, attributes, namespace
//! declarations and text. A processing instruction in the subset is an error (the intake already
//! refuses them); comments are dropped, as the "without comments" algorithm requires.

use std::fmt;

use roxmltree::{Node, NodeId};

const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C14nError(pub String);

impl fmt::Display for C14nError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot canonicalise: {}", self.0)
    }
}

impl std::error::Error for C14nError {}

fn err(m: impl Into<String>) -> C14nError {
    C14nError(m.into())
}

/// The InclusiveNamespaces PrefixList of a transform: prefixes treated as in inclusive c14n.
/// `#default` stands for the default namespace (stored here as the empty prefix).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixList<'a>(Vec<&'a str>);

impl<'a> PrefixList<'a> {
    pub fn parse(list: &'a str) -> PrefixList<'a> {
        let mut v: Vec<&str> = list
            .split([' ', '\t', '\n', '\r'])
            .filter(|p| !p.is_empty())
            .map(|p| if p == "#default" { "" } else { p })
            .collect();
        v.sort_unstable();
        v.dedup();
        PrefixList(v)
    }

    fn contains(&self, prefix: &str) -> bool {
        self.0.contains(&prefix)
    }
}

/// Canonicalise `apex` and its descendants, leaving out the subtree rooted at `exclude` (the
/// enveloped Signature), into `out`.
pub fn exclusive(
    apex: Node,
    exclude: Option<NodeId>,
    inclusive: &PrefixList,
    out: &mut Vec<u8>,
) -> Result<(), C14nError> {
    if !apex.is_element() {
        return Err(err("the apex is not an element"));
    }
    let mut c = Canon {
        text: apex.document().input_text(),
        exclude,
        inclusive,
        rendered: Vec::new(),
        checked_uris: Vec::new(),
        out,
    };
    c.element(apex)
}

struct Canon<'t, 'p, 'o> {
    text: &'t str,
    exclude: Option<NodeId>,
    inclusive: &'p PrefixList<'p>,
    /// Namespace declarations rendered by output ancestors, innermost last: (prefix, URI);
    /// the empty prefix is the default namespace, and an absent entry for it means "".
    rendered: Vec<(&'t str, &'t str)>,
    /// Namespace URIs already found to be plain absolute URIs.
    checked_uris: Vec<&'t str>,
    out: &'o mut Vec<u8>,
}

/// Split a qualified name into (prefix, local); the empty prefix means none.
fn split_qname(qname: &str) -> (&str, &str) {
    match qname.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", qname),
    }
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

impl<'t> Canon<'t, '_, '_> {
    fn rendered_uri(&self, prefix: &str) -> &'t str {
        self.rendered.iter().rev().find(|(p, _)| *p == prefix).map_or("", |(_, u)| *u)
    }

    /// The element's qualified name as written, checked against roxmltree's resolution.
    fn element_qname(&self, node: Node<'t, '_>) -> Result<&'t str, C14nError> {
        let start = node.range().start;
        let rest = self.text.get(start..).ok_or_else(|| err("element range outside the text"))?;
        let rest = rest.strip_prefix('<').ok_or_else(|| err("element range does not start a tag"))?;
        let end =
            rest.find(|c: char| is_xml_space(c) || c == '/' || c == '>').ok_or_else(|| err("unterminated tag"))?;
        let qname = &rest[..end];
        let (prefix, local) = split_qname(qname);
        let declared = lookup(node, prefix);
        if local != node.tag_name().name() || declared != node.tag_name().namespace().unwrap_or("") {
            return Err(err(format!("element name {qname:?} does not match the parsed name")));
        }
        if !prefix.is_empty() && declared.is_empty() {
            return Err(err(format!("prefix {prefix:?} is not bound")));
        }
        Ok(qname)
    }

    fn attribute_qname(&self, node: Node, attr: &roxmltree::Attribute<'t, '_>) -> Result<&'t str, C14nError> {
        let qname = self.text.get(attr.range_qname()).ok_or_else(|| err("attribute range outside the text"))?;
        let (prefix, local) = split_qname(qname);
        let expected = attr.namespace().unwrap_or("");
        // Unprefixed attributes are in no namespace (the default namespace does not apply).
        let declared = if prefix.is_empty() {
            ""
        } else if prefix == "xml" {
            NS_XML
        } else {
            lookup(node, prefix)
        };
        if local != attr.name() || declared != expected || (!prefix.is_empty() && declared.is_empty()) {
            return Err(err(format!("attribute name {qname:?} does not match the parsed name")));
        }
        Ok(qname)
    }

    fn element(&mut self, node: Node<'t, '_>) -> Result<(), C14nError> {
        let qname = self.element_qname(node)?;
        for ns in node.namespaces() {
            let uri = ns.uri();
            // Inherited bindings are the same strings in roxmltree: check each one once.
            if self.checked_uris.iter().any(|u| std::ptr::eq(*u, uri)) {
                continue;
            }
            let undeclared_default = ns.name().is_none() && uri.is_empty();
            if !undeclared_default && !is_conservative_absolute_uri(uri) {
                return Err(err(format!("namespace URI {uri:?} is not a plain absolute URI")));
            }
            self.checked_uris.push(uri);
        }
        let mut attrs: Vec<(&'t str, &'t str, &'t str, &'t str)> = Vec::with_capacity(node.attributes().len());
        let mut used: Vec<&'t str> = Vec::with_capacity(4);
        used.push(split_qname(qname).0);
        for a in node.attributes() {
            let aq = self.attribute_qname(node, &a)?;
            let prefix = split_qname(aq).0;
            if !prefix.is_empty() && !used.contains(&prefix) {
                used.push(prefix);
            }
            attrs.push((a.namespace().unwrap_or(""), a.name(), aq, a.value()));
        }
        // Namespace nodes to render: visibly utilised prefixes, and the PrefixList's prefixes
        // that are in scope here, unless the nearest output ancestor already rendered the same
        // binding. The xml prefix is never declared.
        let mut decls: Vec<(&'t str, &'t str)> = Vec::with_capacity(used.len());
        for prefix in used.iter().copied() {
            if prefix == "xml" {
                continue;
            }
            let uri = lookup(node, prefix);
            if self.rendered_uri(prefix) != uri {
                decls.push((prefix, uri));
            }
        }
        for ns in node.namespaces() {
            let prefix = ns.name().unwrap_or("");
            if prefix == "xml" || used.contains(&prefix) || !self.inclusive.contains(prefix) {
                continue;
            }
            let uri = ns.uri();
            if self.rendered_uri(prefix) != uri {
                decls.push((prefix, uri));
            }
        }
        // `#default` in the PrefixList with no default namespace in scope: xmlns="" is output
        // only to undo a non-empty default rendered by an output ancestor.
        if self.inclusive.contains("")
            && !used.contains(&"")
            && lookup(node, "").is_empty()
            && !self.rendered_uri("").is_empty()
        {
            decls.push(("", ""));
        }
        decls.sort_unstable_by(|a, b| a.0.cmp(b.0));
        decls.dedup_by(|a, b| a.0 == b.0);
        attrs.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

        self.out.push(b'<');
        self.out.extend_from_slice(qname.as_bytes());
        for (prefix, uri) in &decls {
            if prefix.is_empty() {
                self.out.extend_from_slice(b" xmlns=\"");
            } else {
                self.out.extend_from_slice(b" xmlns:");
                self.out.extend_from_slice(prefix.as_bytes());
                self.out.extend_from_slice(b"=\"");
            }
            escape_attr(uri, self.out);
            self.out.push(b'"');
        }
        for (_, _, aq, value) in &attrs {
            self.out.push(b' ');
            self.out.extend_from_slice(aq.as_bytes());
            self.out.extend_from_slice(b"=\"");
            escape_attr(value, self.out);
            self.out.push(b'"');
        }
        self.out.push(b'>');

        let mark = self.rendered.len();
        self.rendered.extend(decls.iter().copied());
        for child in node.children() {
            if Some(child.id()) == self.exclude {
                continue;
            }
            match child.node_type() {
                roxmltree::NodeType::Element => self.element(child)?,
                roxmltree::NodeType::Text => escape_text(child.text().unwrap_or(""), self.out),
                roxmltree::NodeType::Comment => {}
                roxmltree::NodeType::PI => return Err(err("processing instruction")),
                roxmltree::NodeType::Root => return Err(err("unexpected root node")),
            }
        }
        self.rendered.truncate(mark);

        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(qname.as_bytes());
        self.out.push(b'>');
        Ok(())
    }
}

/// C14N 1.0 (§2, inherited by exc-c14n) must fail on relative namespace URIs, and libxml2 also
/// refuses URIs it cannot parse. We accept only a conservative absolute-URI syntax — scheme, then
/// RFC 3986 characters, `%` followed by two hex digits, and in an authority a non-empty numeric
/// port — so that nothing we canonicalise is a document xmlsec would refuse (found by the
/// differential fuzzer: `xmlns:xs="http://www.w3.orgns1:/2001/XMLSchema"`). Every SAML, XML-DSig
/// and XML Schema namespace passes.
fn is_conservative_absolute_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else { return false };
    let mut chars = scheme.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        || rest.is_empty()
    {
        return false;
    }
    let bytes = rest.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        let ok = b.is_ascii_alphanumeric()
            || b"-._~:/?#@!$&'()*+,;=".contains(b)
            || (*b == b'%'
                && bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit());
        if !ok {
            return false;
        }
    }
    if let Some(after) = rest.strip_prefix("//") {
        let authority = after.split(['/', '?', '#']).next().unwrap_or("");
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        if host_port.is_empty() {
            return false;
        }
        if let Some((host, port)) = host_port.rsplit_once(':') {
            if host.is_empty() || port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
        }
    }
    true
}

/// The namespace URI bound to `prefix` (empty prefix: the default namespace) at `node`, or ""
/// when unbound. roxmltree lists every in-scope binding on each element.
fn lookup<'t>(node: Node<'t, '_>, prefix: &str) -> &'t str {
    let want = if prefix.is_empty() { None } else { Some(prefix) };
    node.namespaces().find(|ns| ns.name() == want).map_or("", |ns| ns.uri())
}

fn escape_attr(s: &str, out: &mut Vec<u8>) {
    escape(s, out, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xA;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    })
}

fn escape_text(s: &str, out: &mut Vec<u8>) {
    escape(s, out, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    })
}

/// Copy `s` to `out`, replacing each byte `replacement` maps (all ASCII, so never inside a
/// multi-byte character) with its reference.
fn escape(s: &str, out: &mut Vec<u8>, replacement: fn(u8) -> Option<&'static [u8]>) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        if let Some(rep) = replacement(b) {
            out.extend_from_slice(&s.as_bytes()[last..i]);
            out.extend_from_slice(rep);
            last = i + 1;
        }
    }
    out.extend_from_slice(&s.as_bytes()[last..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n_with(xml: &str, path: &[usize], exclude_name: Option<&str>, prefixes: &str) -> String {
        let doc = roxmltree::Document::parse(xml).expect("parse");
        let mut node = doc.root_element();
        for &i in path {
            node = node.children().filter(|c| c.is_element()).nth(i).expect("child");
        }
        let exclude = exclude_name.and_then(|n| node.descendants().find(|d| d.tag_name().name() == n)).map(|n| n.id());
        let mut out = Vec::new();
        exclusive(node, exclude, &PrefixList::parse(prefixes), &mut out).expect("c14n");
        String::from_utf8(out).expect("utf8")
    }

    fn c14n(xml: &str, path: &[usize]) -> String {
        c14n_with(xml, path, None, "")
    }

    #[test]
    fn empty_elements_are_expanded_and_quotes_normalised() {
        assert_eq!(c14n("<a x='1'/>", &[]), r#"<a x="1"></a>"#);
    }

    #[test]
    fn attributes_sort_by_namespace_uri_then_local_name() {
        let xml = r#"<e xmlns:b="urn:b" xmlns:a="urn:a" z="1" b:y="2" a:y="3" a:x="4" y="5"/>"#;
        assert_eq!(c14n(xml, &[]), r#"<e xmlns:a="urn:a" xmlns:b="urn:b" y="5" z="1" a:x="4" a:y="3" b:y="2"></e>"#);
    }

    #[test]
    fn only_visibly_utilised_namespaces_are_rendered() {
        let xml = r#"<r xmlns:p="urn:p" xmlns:q="urn:q" xmlns="urn:d"><p:e q:a="1"><f/></p:e></r>"#;
        assert_eq!(c14n(xml, &[0]), r#"<p:e xmlns:p="urn:p" xmlns:q="urn:q" q:a="1"><f xmlns="urn:d"></f></p:e>"#);
    }

    #[test]
    fn declarations_already_rendered_by_an_output_ancestor_are_omitted() {
        let xml = r#"<p:a xmlns:p="urn:p"><p:b xmlns:p="urn:p"><p:c xmlns:p="urn:other"/></p:b></p:a>"#;
        assert_eq!(c14n(xml, &[]), r#"<p:a xmlns:p="urn:p"><p:b><p:c xmlns:p="urn:other"></p:c></p:b></p:a>"#);
    }

    #[test]
    fn default_namespace_is_undeclared_only_when_an_output_ancestor_declared_one() {
        let xml = r#"<a xmlns="urn:d"><b xmlns=""><c/></b></a>"#;
        assert_eq!(c14n(xml, &[]), r#"<a xmlns="urn:d"><b xmlns=""><c></c></b></a>"#);
        // As apex, b has no default namespace to undo.
        assert_eq!(c14n(xml, &[0]), r#"<b><c></c></b>"#);
        // An unused default namespace is not rendered on a prefixed element.
        assert_eq!(c14n(r#"<p:a xmlns:p="urn:p" xmlns="urn:d"/>"#, &[]), r#"<p:a xmlns:p="urn:p"></p:a>"#);
    }

    #[test]
    fn prefix_list_namespaces_are_rendered_as_in_inclusive_c14n() {
        let xml = r#"<r xmlns:xs="urn:xs" xmlns:u="urn:u" xmlns="urn:d"><p:e xmlns:p="urn:p"><p:f/></p:e></r>"#;
        assert_eq!(
            c14n_with(xml, &[0], None, "xs #default unbound"),
            r#"<p:e xmlns="urn:d" xmlns:p="urn:p" xmlns:xs="urn:xs"><p:f></p:f></p:e>"#
        );
    }

    #[test]
    fn the_excluded_subtree_is_left_out() {
        let xml = r#"<a ID="x"><s:Signature xmlns:s="urn:s"><s:v/></s:Signature><b/></a>"#;
        assert_eq!(c14n_with(xml, &[], Some("Signature"), ""), r#"<a ID="x"><b></b></a>"#);
    }

    #[test]
    fn attribute_values_and_text_use_canonical_escaping() {
        let xml = "<a v=\"&amp;&lt;&gt;&quot;'&#9;&#10;&#13; x\ny\">&amp;&lt;&gt;&quot;'&#13;\r\n<![CDATA[<&>]]></a>";
        assert_eq!(
            c14n(xml, &[]),
            "<a v=\"&amp;&lt;>&quot;'&#x9;&#xA;&#xD; x y\">&amp;&lt;&gt;\"'&#xD;\n&lt;&amp;&gt;</a>"
        );
    }

    #[test]
    fn comments_are_dropped_and_xml_attributes_kept_without_declaration() {
        let xml = r#"<a xml:lang="en"><!-- c -->t</a>"#;
        assert_eq!(c14n(xml, &[]), r#"<a xml:lang="en">t</a>"#);
    }

    #[test]
    fn relative_or_unparseable_namespace_uris_are_refused() {
        for bad in ["relative/ns", "http://www.w3.orgns1:/2001/XMLSchema", "urn:a b", "http://", "1x:y", "urn:%zz"] {
            let xml = format!(r#"<a xmlns:p="{bad}"><b/></a>"#);
            let doc = roxmltree::Document::parse(&xml).expect("parse");
            let mut out = Vec::new();
            assert!(exclusive(doc.root_element(), None, &PrefixList::default(), &mut out).is_err(), "{bad}");
        }
        for good in [
            "urn:oasis:names:tc:SAML:2.0:assertion",
            "http://www.w3.org/2000/09/xmldsig#",
            "http://www.w3.org/2001/XMLSchema-instance",
            "https://idp.example:8443/ns?x=1",
        ] {
            assert!(is_conservative_absolute_uri(good), "{good}");
        }
        // xmlns="" (undeclaring the default namespace) is not a URI and stays allowed.
        assert_eq!(c14n(r#"<a xmlns="urn:d"><b xmlns=""/></a>"#, &[]), r#"<a xmlns="urn:d"><b xmlns=""></b></a>"#);
    }

    #[test]
    fn prefix_list_parses_default_and_whitespace() {
        assert_eq!(PrefixList::parse(" ds\tsaml #default ds ").0, vec!["", "ds", "saml"]);
    }
}
