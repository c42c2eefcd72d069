//! The singleton jobs (compaction, gc, snapshots) on three agents sharing PostgreSQL: each
//! runs on exactly one agent, they are spread over the agents, and when an agent is killed
//! its job moves to another about one lease TTL later.

use std::time::{Duration, Instant};

use streamhouse_tests::{AgentProcess, Metadata, env_refs, eventually, metric_sum};

const JOBS: [&str; 3] = ["compaction", "gc", "snapshots"];
const TTL_MS: u64 = 2000;

/// The index of the agent holding `job`, if exactly one does.
async fn holder(agents: &[AgentProcess], job: &str) -> Option<usize> {
    let label = format!("job=\"{job}\"");
    let mut holders = Vec::new();
    for (i, a) in agents.iter().enumerate() {
        if metric_sum(a, "streamhouse_job_leader", &[&label]).await == 1.0 {
            holders.push(i);
        }
    }
    (holders.len() == 1).then(|| holders[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_spread_and_move_when_their_holder_dies() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = Metadata::Postgres.env().await;
    env.push(("STREAMHOUSE_LEASE__TTL_MS".into(), TTL_MS.to_string()));
    let env = env_refs(&env);
    let mut agents = Vec::new();
    for name in ["agent-a", "agent-b", "agent-c"] {
        agents.push(AgentProcess::start_named(dir.path(), name, &env).await);
    }
    let mut held = Vec::new();
    eventually(
        "each job held by one agent, on three agents",
        Duration::from_secs(20),
        async || {
            held.clear();
            for job in JOBS {
                match holder(&agents, job).await {
                    Some(i) => held.push(i),
                    None => return false,
                }
            }
            let mut distinct = held.clone();
            distinct.sort();
            distinct.dedup();
            distinct.len() == 3
        },
    )
    .await;

    // The compaction job's holder dies: within its lease TTL and a second (the next lease
    // pass) another agent holds it.
    let victim = held[0];
    agents[victim].kill9();
    let killed = Instant::now();
    let survivors: Vec<AgentProcess> = agents
        .into_iter()
        .enumerate()
        .filter_map(|(i, a)| (i != victim).then_some(a))
        .collect();
    eventually(
        "the compaction job to move",
        Duration::from_secs(15),
        async || holder(&survivors, "compaction").await.is_some(),
    )
    .await;
    let moved = killed.elapsed();
    assert!(
        moved <= Duration::from_millis(TTL_MS + 2500),
        "the job moved after {moved:?} with a {TTL_MS} ms lease"
    );
    eprintln!("compaction job moved {moved:?} after its holder's kill -9 (lease TTL {TTL_MS} ms)");
    for job in JOBS {
        eventually(
            &format!("{job} held once"),
            Duration::from_secs(15),
            async || holder(&survivors, job).await.is_some(),
        )
        .await;
    }
    let runs = metric_sum(&survivors[0], "streamhouse_job_runs_total", &[]).await
        + metric_sum(&survivors[1], "streamhouse_job_runs_total", &[]).await;
    assert!(runs > 0.0, "the jobs run");
}
