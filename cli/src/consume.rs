//! `streamhouse consume`.

use std::io::Write;

use anyhow::bail;
use clap::Args;
use futures::StreamExt;
use streamhouse_client::{Client, ClientError, ConsumedRecord};

/// Where a consumer starts when its group has no committed offset.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Reset {
    /// The first offset.
    Earliest,
    /// The high watermark: only new records.
    Latest,
}

/// Arguments of `consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// Topic to read.
    topic: String,
    /// Read only this partition (default: all).
    #[arg(long, short)]
    partition: Option<u32>,
    /// Start at this offset (with --partition), instead of the beginning or the group's position.
    #[arg(long, requires = "partition", conflicts_with = "group")]
    offset: Option<u64>,
    /// Consumer group: start at its committed offsets and commit as records are printed.
    #[arg(long, short)]
    group: Option<String>,
    /// Where a group without a committed offset starts.
    #[arg(long, value_enum, default_value_t = Reset::Earliest)]
    reset: Reset,
    /// Keep waiting for new records instead of stopping at the end of the log.
    #[arg(long, short)]
    follow: bool,
    /// Stop after this many records.
    #[arg(long, short = 'n')]
    max_records: Option<u64>,
    /// Print `partition offset key value` (tab-separated) instead of the value alone.
    #[arg(long, short = 'v')]
    verbose: bool,
}

fn print(
    out: &mut impl Write,
    partition: u32,
    r: &ConsumedRecord,
    verbose: bool,
) -> std::io::Result<()> {
    if verbose {
        write!(out, "{partition}\t{}\t", r.offset)?;
        if let Some(k) = &r.key {
            out.write_all(k)?;
        }
        out.write_all(b"\t")?;
    }
    if let Some(v) = &r.value {
        out.write_all(v)?;
    }
    out.write_all(b"\n")
}

/// Runs `consume`.
pub async fn run(client: &Client, args: ConsumeArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let (topic, parts) = client.describe_topic(&args.topic).await?;
    let partitions: Vec<u32> = match args.partition {
        Some(p) if p >= topic.partitions => {
            bail!(
                "partition {p} does not exist; topic {} has partitions 0..{}",
                topic.name,
                topic.partitions
            )
        }
        Some(p) => vec![p],
        None => (0..topic.partitions).collect(),
    };
    let committed = match &args.group {
        Some(g) => client.fetch_offsets(g, &args.topic).await?,
        None => Vec::new(),
    };
    // (partition, start, end-at-start) for each partition.
    let mut plan = Vec::new();
    for p in partitions {
        let status = parts.iter().find(|s| s.partition == p);
        let hw = status.map_or(0, |s| s.high_watermark);
        let log_start = status.map_or(0, |s| s.log_start_offset);
        let start = match (args.offset, committed.iter().find(|(q, _)| *q == p)) {
            (Some(o), _) => o,
            (None, Some((_, o))) => *o,
            (None, None) => match args.reset {
                Reset::Earliest => log_start,
                Reset::Latest => hw,
            },
        };
        plan.push((p, start, hw));
    }
    let mut remaining = args.max_records.unwrap_or(u64::MAX);
    if args.follow {
        let mut streams = Vec::new();
        for (p, start, _) in &plan {
            let s = client.subscribe(&args.topic, *p, *start, 0).await?;
            let p = *p;
            streams.push(s.map(move |m| (p, m)));
        }
        let mut merged = futures::stream::select_all(streams);
        while let Some((p, msg)) = merged.next().await {
            let msg = msg.map_err(|e| explain(e, &args, p))?;
            let n = emit(
                out,
                msg.partition,
                &msg.records,
                &mut remaining,
                args.verbose,
            )?;
            out.flush()?;
            commit(client, &args, msg.partition, n).await?;
            if remaining == 0 {
                break;
            }
        }
        return Ok(());
    }
    for (p, mut offset, end) in plan {
        while offset < end && remaining > 0 {
            let f = client
                .fetch(&args.topic, p, offset, 4 << 20, 0)
                .await
                .map_err(|e| explain(e, &args, p))?;
            if f.records.is_empty() {
                // Past the end, or a gap key compaction left in a batch: go on after it.
                if f.next_offset > offset {
                    offset = f.next_offset;
                    continue;
                }
                break;
            }
            let n = emit(out, p, &f.records, &mut remaining, args.verbose)?;
            // Every record printed: go on where the agent says (past any gap compaction left).
            offset = match remaining {
                0 => n.unwrap_or(offset),
                _ => f.next_offset.max(n.unwrap_or(offset)),
            };
            commit(client, &args, p, Some(offset)).await?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The error, with how to skip past a corrupt batch when it is one (`DATA_LOSS`): the
/// agent never serves it, so a consumer must be moved past its end offset on purpose.
fn explain(e: ClientError, args: &ConsumeArgs, partition: u32) -> anyhow::Error {
    if e.code() != Some(tonic::Code::DataLoss) {
        return e.into();
    }
    let how = match &args.group {
        Some(g) => format!(
            "streamhouse offsets set {g} {} {partition} <the batch's end offset, named above>",
            args.topic
        ),
        None => format!(
            "streamhouse consume {} --partition {partition} --offset <the batch's end offset, \
             named above>",
            args.topic
        ),
    };
    anyhow::anyhow!(
        "{e}\nThe records of that batch cannot be read. To skip them (they are lost to this \
         consumer), run: {how}"
    )
}

/// Prints records; returns the next offset after the last one printed.
fn emit(
    out: &mut impl Write,
    partition: u32,
    records: &[ConsumedRecord],
    remaining: &mut u64,
    verbose: bool,
) -> std::io::Result<Option<u64>> {
    let mut next = None;
    for r in records {
        if *remaining == 0 {
            break;
        }
        print(out, partition, r, verbose)?;
        *remaining -= 1;
        next = Some(r.offset + 1);
    }
    Ok(next)
}

async fn commit(
    client: &Client,
    args: &ConsumeArgs,
    partition: u32,
    next: Option<u64>,
) -> anyhow::Result<()> {
    if let (Some(g), Some(o)) = (&args.group, next) {
        client
            .commit_offsets(g, &args.topic, &[(partition, o)])
            .await?;
    }
    Ok(())
}
