//! Prometheus metrics, held in the app state (no global registry) and served on `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

/// An SMS outcome: `kind` is why it was sent, `state` what a delivery report said.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SmsReportLabels {
    pub kind: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodingLabels {
    pub coding: String,
}

/// The SMS gateway's metrics; clones share the counters.
#[derive(Clone, Default)]
pub struct SmsMetrics {
    /// SMS handed to the gateway, by kind.
    pub sent: Family<KindLabels, Counter>,
    /// SMS the gateway did not take (refused, unreachable, too long), by kind.
    pub failed: Family<KindLabels, Counter>,
    /// SMS parts sent, by coding (`gsm7`, `ucs2`).
    pub parts: Family<CodingLabels, Counter>,
    /// Delivery reports that changed an SMS's state, by kind and new state.
    pub reports: Family<SmsReportLabels, Counter>,
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub logins: Family<KindLabels, Counter>,
    pub sms: SmsMetrics,
    pub ws_connections: Gauge,
    pub messages_stored: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ringbook");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let logins = Family::<KindLabels, Counter>::default();
        let sms = SmsMetrics::default();
        let ws_connections = Gauge::default();
        let messages_stored = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        registry.register("logins", "Successful logins by outcome", logins.clone());
        registry.register(
            "sms_sent",
            "SMS handed to the gateway by kind",
            sms.sent.clone(),
        );
        registry.register(
            "sms_failed",
            "SMS the gateway did not take (refused, unreachable, too long) by kind",
            sms.failed.clone(),
        );
        registry.register(
            "sms_parts",
            "SMS parts sent by coding (gsm7: 160/153 characters a part, ucs2: 70/67)",
            sms.parts.clone(),
        );
        registry.register(
            "sms_delivery_reports",
            "Delivery reports that changed an SMS's state, by kind and state",
            sms.reports.clone(),
        );
        registry.register(
            "ws_connections",
            "Open WebSocket connections",
            ws_connections.clone(),
        );
        registry.register(
            "messages_stored",
            "Chat messages stored",
            messages_stored.clone(),
        );
        Metrics {
            registry,
            http_requests,
            logins,
            sms,
            ws_connections,
            messages_stored,
        }
    }
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    pub fn count(family: &Family<KindLabels, Counter>, kind: &str) {
        family
            .get_or_create(&KindLabels {
                kind: kind.to_string(),
            })
            .inc();
    }
}
