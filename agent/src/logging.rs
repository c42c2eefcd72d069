//! Logging to stdout with `tracing`: text for people, JSON for log pipelines.
//!
//! A JSON line carries `ts`, `level`, `msg`, `agent_id` and `target`, then the event's own
//! fields (`topic`, `partition`, ...) at the top level, which is what the deployment plan's
//! Promtail pipeline parses.

use std::fmt;

use serde_json::{Map, Value};
use streamhouse_core::config::{LogConfig, LogFormat};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Installs the global subscriber; `RUST_LOG` overrides `log.level`.
pub fn init_logging(cfg: &LogConfig, agent_id: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::try_new(v)?,
        _ => EnvFilter::try_new(&cfg.level)
            .map_err(|e| anyhow::anyhow!("log.level {:?} is not a valid filter: {e}", cfg.level))?,
    };
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let result = match cfg.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .with_ansi(false)
            .event_format(JsonLine {
                agent_id: agent_id.to_owned(),
            })
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
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
