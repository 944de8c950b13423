//! MM7 schema namespaces and versions.

use std::fmt;

/// Common prefix of all MM7 schema namespaces.
pub const MM7_NAMESPACE_PREFIX: &str =
    "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/";

/// SOAP 1.1 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The MM7 XML schemas this crate accepts (REL-5-MM7-1-0 through REL-6-MM7-1-4).
/// The default is REL-6-MM7-1-4.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Mm7Schema {
    Rel5Mm7_1_0,
    Rel5Mm7_1_1,
    Rel5Mm7_1_2,
    Rel5Mm7_1_3,
    Rel6Mm7_1_0,
    Rel6Mm7_1_1,
    Rel6Mm7_1_2,
    Rel6Mm7_1_3,
    #[default]
    Rel6Mm7_1_4,
}

const SCHEMAS: [(Mm7Schema, &str, &str); 9] = [
    (Mm7Schema::Rel5Mm7_1_0, "REL-5-MM7-1-0", "5.3.0"),
    (Mm7Schema::Rel5Mm7_1_1, "REL-5-MM7-1-1", "5.3.0"),
    (Mm7Schema::Rel5Mm7_1_2, "REL-5-MM7-1-2", "5.3.0"),
    (Mm7Schema::Rel5Mm7_1_3, "REL-5-MM7-1-3", "5.10.0"),
    (Mm7Schema::Rel6Mm7_1_0, "REL-6-MM7-1-0", "6.3.0"),
    (Mm7Schema::Rel6Mm7_1_1, "REL-6-MM7-1-1", "6.5.0"),
    (Mm7Schema::Rel6Mm7_1_2, "REL-6-MM7-1-2", "6.6.0"),
    (Mm7Schema::Rel6Mm7_1_3, "REL-6-MM7-1-3", "6.7.0"),
    (Mm7Schema::Rel6Mm7_1_4, "REL-6-MM7-1-4", "6.8.0"),
];

impl Mm7Schema {
    /// All accepted schemas, oldest first.
    pub fn all() -> impl Iterator<Item = Mm7Schema> {
        SCHEMAS.iter().map(|(s, _, _)| *s)
    }

    /// The schema name, e.g. `REL-6-MM7-1-4`.
    pub fn name(self) -> &'static str {
        SCHEMAS
            .iter()
            .find(|(s, _, _)| *s == self)
            .map_or("REL-6-MM7-1-4", |(_, n, _)| *n)
    }

    /// The full namespace URI.
    pub fn namespace(self) -> String {
        format!("{MM7_NAMESPACE_PREFIX}{}", self.name())
    }

    /// A typical `MM7Version` value for this schema (used when a request carried none).
    pub fn default_mm7_version(self) -> &'static str {
        SCHEMAS
            .iter()
            .find(|(s, _, _)| *s == self)
            .map_or("6.8.0", |(_, _, v)| *v)
    }

    /// Recognise a namespace URI by its last path segment (`.../REL-5-MM7-1-0`), ignoring case
    /// and the host part, since MMSCs are not always exact about either.
    pub fn from_namespace(ns: &str) -> Option<Mm7Schema> {
        let last = ns.trim().trim_end_matches('/').rsplit('/').next()?;
        SCHEMAS
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(last))
            .map(|(s, _, _)| *s)
    }

    /// Whether a namespace URI looks like an MM7 schema at all (supported or not).
    pub(crate) fn looks_like_mm7(ns: &str) -> bool {
        let up = ns.to_ascii_uppercase();
        up.contains("-MM7-") || up.contains("23.140")
    }
}

impl fmt::Display for Mm7Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The version context of a message: its schema namespace plus the `MM7Version` text.
///
/// Requests carry one; response builders take one so the answer uses the request's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mm7Version {
    /// Namespace of the MM7 elements.
    pub schema: Mm7Schema,
    /// `MM7Version` element text (e.g. `6.8.0`), as received or the schema's default.
    pub mm7_version: String,
}

impl Mm7Version {
    /// The schema with its default `MM7Version` text.
    pub fn new(schema: Mm7Schema) -> Self {
        Mm7Version {
            schema,
            mm7_version: schema.default_mm7_version().to_string(),
        }
    }
}

impl Default for Mm7Version {
    fn default() -> Self {
        Mm7Version::new(Mm7Schema::default())
    }
}
