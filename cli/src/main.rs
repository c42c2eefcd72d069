//! `streamhouse`: the command-line client for StreamHouse agents.

mod bench;
mod consume;
mod target;

use std::io::{BufRead, Write};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use streamhouse_client::{Client, ProduceRecord, proto};

/// Command-line client for StreamHouse: topics, produce, consume, consumer-group offsets and
/// benchmarks.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    target: target::Target,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, list, describe and delete topics.
    #[command(subcommand)]
    Topic(TopicCmd),
    /// Produce records given as arguments, or one per line from stdin.
    Produce(ProduceArgs),
    /// Print records of a topic, from an offset or a consumer group's position.
    Consume(consume::ConsumeArgs),
    /// Show or set consumer-group offsets.
    #[command(subcommand)]
    Offsets(OffsetsCmd),
    /// Measure produce or consume throughput and latency against a running agent.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
}

#[derive(Debug, Subcommand)]
enum TopicCmd {
    /// Create a topic.
    Create {
        /// Topic name: 1-249 characters of [a-zA-Z0-9._-].
        name: String,
        /// Number of partitions.
        #[arg(long, short, default_value_t = 1)]
        partitions: u32,
        /// Retention in milliseconds (kept forever when absent).
        #[arg(long)]
        retention_ms: Option<i64>,
        /// Batch compression: none, lz4 or zstd.
        #[arg(long, default_value = "none")]
        compression: String,
        /// Retention by size, in bytes per partition (kept whatever their size when absent).
        #[arg(long)]
        retention_bytes: Option<i64>,
        /// delete (retention removes old records), compact (compaction keeps the latest
        /// record of each key) or compact,delete (both), as Kafka's cleanup.policy.
        #[arg(long, default_value = "delete")]
        cleanup_policy: String,
        /// How long compaction keeps tombstones (records without a value), in ms; one day
        /// when absent.
        #[arg(long)]
        delete_retention_ms: Option<i64>,
    },
    /// Change a topic's retention and cleanup policy; settings not given stay as they are.
    Alter {
        /// Topic name.
        name: String,
        /// Retention in milliseconds; -1 keeps records whatever their age.
        #[arg(long, allow_negative_numbers = true)]
        retention_ms: Option<i64>,
        /// Retention in bytes per partition; -1 keeps records whatever their size.
        #[arg(long, allow_negative_numbers = true)]
        retention_bytes: Option<i64>,
        /// delete, compact or compact,delete.
        #[arg(long)]
        cleanup_policy: Option<String>,
        /// How long compaction keeps tombstones, in ms.
        #[arg(long)]
        delete_retention_ms: Option<i64>,
    },
    /// List topics.
    List,
    /// Show a topic's settings and each partition's offsets.
    Describe {
        /// Topic name.
        name: String,
    },
    /// Delete a topic.
    Delete {
        /// Topic name.
        name: String,
    },
}

#[derive(Debug, Args)]
struct ProduceArgs {
    /// Topic to produce to.
    topic: String,
    /// Record values; without any, each stdin line is a record.
    values: Vec<String>,
    /// Key of every record (picks the partition).
    #[arg(long, short)]
    key: Option<String>,
    /// Split each value at the first SEP into key and value, as in `user-1:clicked`.
    #[arg(long, value_name = "SEP", conflicts_with = "key")]
    key_separator: Option<String>,
    /// Send every record to this partition.
    #[arg(long, short)]
    partition: Option<u32>,
    /// Header `name=value`; repeatable.
    #[arg(long = "header", short = 'H', value_name = "NAME=VALUE")]
    headers: Vec<String>,
    /// Records per request when reading stdin.
    #[arg(long, default_value_t = 500)]
    batch: usize,
}

#[derive(Debug, Subcommand)]
enum OffsetsCmd {
    /// Show a group's committed offsets on a topic, with each partition's lag.
    Show {
        /// Consumer group.
        group: String,
        /// Topic.
        topic: String,
    },
    /// Set a group's next offset on one partition.
    Set {
        /// Consumer group.
        group: String,
        /// Topic.
        topic: String,
        /// Partition.
        partition: u32,
        /// Next offset the group reads.
        offset: u64,
    },
}

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = rt.block_on(run(cli)) {
        if e.chain().any(is_stdout_closed) {
            // The reader has what it wanted (`streamhouse consume t | head`): not an error.
            return;
        }
        eprintln!("streamhouse: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // The control plane's benchmark talks HTTP to it, not to an agent.
    if let Command::Bench(bench::BenchCmd::Api(a)) = cli.command {
        return bench::api::run(a, cli.target.api_key.as_deref()).await;
    }
    let client = cli.target.connect().await?;
    let mut out = Stdout(std::io::stdout().lock());
    match cli.command {
        Command::Topic(TopicCmd::Create {
            name,
            partitions,
            retention_ms,
            compression,
            retention_bytes,
            cleanup_policy,
            delete_retention_ms,
        }) => {
            let t = client
                .create_topic_with(proto::CreateTopicRequest {
                    name,
                    partitions,
                    retention_ms,
                    compression,
                    retention_bytes,
                    cleanup_policy,
                    delete_retention_ms,
                })
                .await?;
            writeln!(
                out,
                "created topic {} with {} partitions",
                t.name, t.partitions
            )?;
        }
        Command::Topic(TopicCmd::Alter {
            name,
            retention_ms,
            retention_bytes,
            cleanup_policy,
            delete_retention_ms,
        }) => {
            let t = client
                .alter_topic(proto::AlterTopicRequest {
                    name,
                    retention_ms,
                    retention_bytes,
                    cleanup_policy,
                    delete_retention_ms,
                })
                .await?;
            writeln!(out, "altered topic {}", t.name)?;
            write_settings(&mut out, &t)?;
        }
        Command::Topic(TopicCmd::List) => {
            for t in client.list_topics().await? {
                writeln!(out, "{}\t{} partitions", t.name, t.partitions)?;
            }
        }
        Command::Topic(TopicCmd::Describe { name }) => {
            let (t, parts) = client.describe_topic(&name).await?;
            writeln!(out, "topic {}\npartitions {}", t.name, t.partitions)?;
            write_settings(&mut out, &t)?;
            writeln!(out, "partition\tlog_start\thigh_watermark")?;
            for p in parts {
                writeln!(
                    out,
                    "{}\t{}\t{}",
                    p.partition, p.log_start_offset, p.high_watermark
                )?;
            }
        }
        Command::Topic(TopicCmd::Delete { name }) => {
            client.delete_topic(&name).await?;
            writeln!(out, "deleted topic {name}")?;
        }
        Command::Produce(args) => produce(&client, args, &mut out).await?,
        Command::Consume(args) => consume::run(&client, args, &mut out).await?,
        Command::Offsets(OffsetsCmd::Show { group, topic }) => {
            let committed = client.fetch_offsets(&group, &topic).await?;
            let (_, parts) = client.describe_topic(&topic).await?;
            writeln!(out, "partition\tcommitted\thigh_watermark\tlag")?;
            for p in parts {
                match committed.iter().find(|(q, _)| *q == p.partition) {
                    Some((_, o)) => writeln!(
                        out,
                        "{}\t{o}\t{}\t{}",
                        p.partition,
                        p.high_watermark,
                        p.high_watermark.saturating_sub(*o)
                    )?,
                    None => writeln!(out, "{}\t-\t{}\t-", p.partition, p.high_watermark)?,
                }
            }
        }
        Command::Offsets(OffsetsCmd::Set {
            group,
            topic,
            partition,
            offset,
        }) => {
            client
                .commit_offsets(&group, &topic, &[(partition, offset)])
                .await?;
            writeln!(
                out,
                "group {group} will read partition {partition} of {topic} from offset {offset}"
            )?;
        }
        Command::Bench(cmd) => bench::run(&cli.target, cmd).await?,
    }
    Ok(())
}

fn record(args: &ProduceArgs, headers: &[(String, String)], text: &str) -> ProduceRecord {
    let (key, value) = match &args.key_separator {
        Some(sep) => match text.split_once(sep.as_str()) {
            Some((k, v)) => (Some(k.to_owned()), v.to_owned()),
            None => (None, text.to_owned()),
        },
        None => (args.key.clone(), text.to_owned()),
    };
    let mut r = ProduceRecord::new(value);
    if let Some(k) = key {
        r = r.with_key(k);
    }
    if let Some(p) = args.partition {
        r = r.with_partition(p);
    }
    for (k, v) in headers {
        r = r.with_header(k.clone(), v.clone());
    }
    r
}

/// Standard output, whose reader may close it early: a write to a closed pipe fails with
/// [`StdoutClosed`], which ends the command quietly, as it ends other command-line tools.
struct Stdout(std::io::StdoutLock<'static>);

/// A write found standard output closed by its reader.
#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed by its reader")
    }
}

impl std::error::Error for StdoutClosed {}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(stdout_closed)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().map_err(stdout_closed)
    }
}

fn stdout_closed(e: std::io::Error) -> std::io::Error {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, StdoutClosed)
        }
        _ => e,
    }
}

/// Whether `e` is a write to standard output after its reader closed it (a broken pipe of a
/// connection to an agent is an error like any other).
fn is_stdout_closed(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        .is_some_and(|inner| inner.is::<StdoutClosed>())
}

async fn produce(client: &Client, args: ProduceArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let headers = args
        .headers
        .iter()
        .map(|h| {
            h.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .with_context(|| format!("header {h:?} is not NAME=VALUE"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !args.values.is_empty() {
        let records = args
            .values
            .iter()
            .map(|v| record(&args, &headers, v))
            .collect();
        for ack in client.produce(&args.topic, records).await? {
            writeln!(out, "partition {} offset {}", ack.partition, ack.offset)?;
        }
        return Ok(());
    }
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let stdin = std::io::stdin();
    let mut batch = Vec::with_capacity(args.batch);
    let mut total = 0usize;
    for line in stdin.lock().lines() {
        let line = line.context("reading stdin")?;
        batch.push(record(&args, &headers, &line));
        if batch.len() == args.batch {
            total += client
                .produce(&args.topic, std::mem::take(&mut batch))
                .await
                .with_context(|| format!("{total} records were produced before this failure"))?
                .len();
        }
    }
    if !batch.is_empty() {
        total += client
            .produce(&args.topic, batch)
            .await
            .with_context(|| format!("{total} records were produced before this failure"))?
            .len();
    }
    writeln!(out, "produced {total} records to {}", args.topic)?;
    Ok(())
}

/// A topic's retention, cleanup and compression settings, one per line.
fn write_settings(out: &mut impl Write, t: &proto::Topic) -> anyhow::Result<()> {
    let retention = t
        .retention_ms
        .map_or("forever".to_owned(), |ms| format!("{ms} ms"));
    let bytes = t.retention_bytes.map_or("unlimited".to_owned(), |b| {
        format!("{b} bytes per partition")
    });
    writeln!(
        out,
        "retention {retention}\nretention_bytes {bytes}\ncleanup_policy {}\n\
         delete_retention {} ms\ncompression {}",
        t.cleanup_policy, t.delete_retention_ms, t.compression
    )?;
    Ok(())
}
