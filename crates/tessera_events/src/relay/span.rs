//! The relay's producer spans (OpenTelemetry messaging conventions) and the trace context each
//! published message carries.

use lapin::types::FieldTable;
use uuid::Uuid;

use crate::broker::header_table;

/// The producer span of one event's publication: `publish <exchange>`, kind producer, with
/// `messaging.system`, `messaging.operation.type` = `send`, `messaging.destination.name`,
/// `messaging.rabbitmq.destination.routing_key` and `messaging.message.id`, child of the trace
/// context stored with the event (`headers`, the outbox row's).
pub(super) fn publish(
    exchange: &str,
    key: &str,
    id: Uuid,
    headers: &serde_json::Value,
) -> tracing::Span {
    let span = tracing::info_span!("publish",
        otel.name = %format_args!("publish {exchange}"), otel.kind = "producer",
        messaging.system = "rabbitmq", messaging.operation.type = "send",
        messaging.operation.name = "publish", messaging.destination.name = exchange,
        messaging.rabbitmq.destination.routing_key = key, messaging.message.id = %id,
        error.type = tracing::field::Empty);
    let carrier: std::collections::HashMap<String, String> = strings(headers)
        .filter(|(k, _)| is_trace_context(k))
        .collect();
    tessera_telemetry::set_parent_from(&span, &carrier);
    span
}

/// The message's AMQP headers: the outbox row's, with the trace context replaced by `span`'s
/// (so the consumer's span is the producer's child); the stored one is kept when spans are not
/// recorded (no OpenTelemetry layer).
pub(super) fn message_headers(headers: &serde_json::Value, span: &tracing::Span) -> FieldTable {
    let context = tessera_telemetry::trace_headers_of(span);
    let replaced = context.contains_key("traceparent");
    let mut pairs: Vec<(String, String)> = strings(headers)
        .filter(|(k, _)| !(replaced && is_trace_context(k)))
        .collect();
    if replaced {
        pairs.extend(context);
    }
    header_table(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn is_trace_context(key: &str) -> bool {
    matches!(key, "traceparent" | "tracestate")
}

/// The string members of a JSON object of headers.
fn strings(headers: &serde_json::Value) -> impl Iterator<Item = (String, String)> + '_ {
    headers
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
}
