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

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub logins: Family<KindLabels, Counter>,
    pub sms_sent: Family<KindLabels, Counter>,
    pub ws_connections: Gauge,
    pub messages_stored: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ringbook");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let logins = Family::<KindLabels, Counter>::default();
        let sms_sent = Family::<KindLabels, Counter>::default();
        let ws_connections = Gauge::default();
        let messages_stored = Counter::default();
        registry.register("http_requests", "HTTP requests by route and status", http_requests.clone());
        registry.register("logins", "Successful logins by outcome", logins.clone());
        registry.register("sms_sent", "SMS handed to the gateway by kind", sms_sent.clone());
        registry.register("ws_connections", "Open WebSocket connections", ws_connections.clone());
        registry.register("messages_stored", "Chat messages stored", messages_stored.clone());
        Metrics { registry, http_requests, logins, sms_sent, ws_connections, messages_stored }
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
        family.get_or_create(&KindLabels { kind: kind.to_string() }).inc();
    }
}
