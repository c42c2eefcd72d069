//! Logging to stdout with `tracing` (text for people, JSON for log pipelines), and, when a
//! collector is configured, OpenTelemetry traces of the same spans over OTLP/gRPC.
//!
//! A JSON line carries `ts`, `level`, `msg`, `agent_id` and `target`, then the event's own
//! fields (`topic`, `partition`, ...) at the top level, which is what the deployment plan's
//! Promtail pipeline parses.

use std::fmt;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{BatchConfigBuilder, Sampler, SdkTracerProvider};

use serde_json::{Map, Value};
use streamhouse_core::config::{LogConfig, LogFormat, TraceConfig};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// Flushes and stops trace export when dropped (at exit).
#[derive(Debug)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.traces.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("streamhouse-agent: flushing traces: {e}");
        }
    }
}

/// Installs the global subscriber (`RUST_LOG` overrides `log.level`) and, with
/// `trace.otlp_endpoint` set, the trace exporter. Call inside the tokio runtime, which exports
/// the traces. Logs go to stdout, or to stderr with `to_stderr` (for commands whose stdout is
/// their answer, such as a key to capture).
pub fn init_logging(
    log: &LogConfig,
    trace: &TraceConfig,
    agent_id: &str,
    to_stderr: bool,
) -> anyhow::Result<Telemetry> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::try_new(v)?,
        _ => EnvFilter::try_new(&log.level)
            .map_err(|e| anyhow::anyhow!("log.level {:?} is not a valid filter: {e}", log.level))?,
    };
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = if to_stderr {
        std::io::IsTerminal::is_terminal(&std::io::stderr())
    } else {
        std::io::IsTerminal::is_terminal(&std::io::stdout())
    };
    let writer = move || -> Box<dyn std::io::Write> {
        if to_stderr {
            Box::new(std::io::stderr())
        } else {
            Box::new(std::io::stdout())
        }
    };
    let output = match log.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(writer)
            .event_format(JsonLine {
                agent_id: agent_id.to_owned(),
            })
            .boxed(),
    };
    let traces = if trace.otlp_endpoint.is_empty() {
        None
    } else {
        // W3C `traceparent` headers carry a trace across a forwarded produce.
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        Some(tracer_provider(trace, agent_id)?)
    };
    let otel = traces
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("streamhouse-agent")));
    tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(otel)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))?;
    Ok(Telemetry { traces })
}

/// Spans batched (every 500 ms) to the OTLP/gRPC collector, sampled by trace id.
fn tracer_provider(cfg: &TraceConfig, agent_id: &str) -> anyhow::Result<SdkTracerProvider> {
    if !(0.0..=1.0).contains(&cfg.sample_ratio) {
        anyhow::bail!(
            "trace.sample_ratio must be between 0 and 1, not {}",
            cfg.sample_ratio
        );
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(&cfg.otlp_endpoint)
        .build()
        .map_err(|e| anyhow::anyhow!("trace.otlp_endpoint {:?}: {e}", cfg.otlp_endpoint))?;
    let batches = BatchSpanProcessor::builder(exporter, Tokio)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(Duration::from_millis(500))
                .build(),
        )
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(batches)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            cfg.sample_ratio,
        ))))
        .with_resource(
            Resource::builder()
                .with_service_name("streamhouse-agent")
                .with_attribute(KeyValue::new("service.instance.id", agent_id.to_owned()))
                .build(),
        )
        .build())
}

/// Writes the current span's trace context into a request to another agent.
pub fn inject_trace_context(metadata: &mut tonic::metadata::MetadataMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut MetadataCarrier(metadata));
    });
}

/// Makes `span` a child of the trace context another agent sent, if any.
pub fn adopt_trace_context(span: &tracing::Span, metadata: &tonic::metadata::MetadataMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if !metadata.contains_key("traceparent") {
        return;
    }
    let mut copy = metadata.clone();
    let cx =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&MetadataCarrier(&mut copy)));
    // Fails only when tracing is off; the span then simply has no parent.
    let _ = span.set_parent(cx);
}

/// gRPC metadata as an OpenTelemetry propagation carrier.
struct MetadataCarrier<'a>(&'a mut tonic::metadata::MetadataMap);

impl opentelemetry::propagation::Injector for MetadataCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            value.parse(),
        ) {
            self.0.insert(k, v);
        }
    }
}

impl opentelemetry::propagation::Extractor for MetadataCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|k| match k {
                tonic::metadata::KeyRef::Ascii(k) => Some(k.as_str()),
                tonic::metadata::KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

/// One JSON object per event.
struct JsonLine {
    agent_id: String,
}

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut ts = String::new();
        SystemTime.format_time(&mut Writer::new(&mut ts))?;
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let mut line = Map::new();
        line.insert("ts".into(), Value::String(ts));
        line.insert(
            "level".into(),
            Value::String(event.metadata().level().as_str().to_ascii_lowercase()),
        );
        line.insert(
            "msg".into(),
            fields
                .0
                .remove("message")
                .unwrap_or(Value::String(String::new())),
        );
        line.insert("agent_id".into(), Value::String(self.agent_id.clone()));
        line.insert(
            "target".into(),
            Value::String(event.metadata().target().to_owned()),
        );
        line.extend(fields.0);
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// An event's fields as JSON values: numbers and booleans stay typed.
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Value::String(value.into()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
}
