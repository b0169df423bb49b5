import type { CheckJournalEntry } from '../health/decision-journal.js';
import type { TransitionRecord } from '../history/transitions.js';
import { STATUS_EXIT } from '../cli/exit-codes.js';
import type { NodeView, PairStatus } from '../status/model.js';

// What `metrics` exports, as data (docs/metrics.md); src/metrics/prom.ts renders it with prom-client.

export type Labels = Readonly<Record<string, string>>;

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  readonly labelNames: readonly string[];
  /** gauge: the value; counter: the count; histogram: one observation each. */
  readonly samples: readonly { readonly labels: Labels; readonly value: number }[];
}

const PREFIX = 'keepalived_mysql_';
export const DURATION_BUCKETS_S = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const bool = (v: boolean): number => (v ? 1 : 0);

// Every node fact as gauges labelled {observer, node}: each node's exporter reports both nodes as it sees them.
export function metricFamilies(status: PairStatus, transitions: readonly TransitionRecord[], checks: readonly CheckJournalEntry[]): MetricFamily[] {
  const observer = status.local.name;
  const nodes = [status.local, status.peer];
  const perNode = (name: string, help: string, value: (n: NodeView) => number | undefined): MetricFamily => ({
    name: `${PREFIX}${name}`, help, type: 'gauge', labelNames: ['observer', 'node'],
    samples: nodes.flatMap((n) => {
      const v = value(n);
      return v === undefined || Number.isNaN(v) ? [] : [{ labels: { observer, node: n.name }, value: v }];
    }),
  });
  const local = status.local;
  const fams: MetricFamily[] = [
    perNode('mysql_up', 'The node\'s MySQL answered status (1) or not (0).', (n) => bool(n.mysql !== null)),
    perNode('writable', 'read_only (and super_read_only) off.', (n) => (n.mysql ? bool(n.mysql.writable) : undefined)),
    perNode('fenced', 'Read-only and not replicating: an old master fenced by the toolkit.', (n) => (n.mysql ? bool(!n.mysql.writable && n.mysql.replication === null) : undefined)),
    perNode('replication_configured', 'The node replicates from a source.', (n) => (n.mysql ? bool(n.mysql.replication !== null) : undefined)),
    perNode('replication_io_running', 'Replica IO thread running (Slave_IO_Running = Yes).', (n) => (n.mysql?.replication ? bool(n.mysql.replication.ioRunning.toLowerCase() === 'yes') : undefined)),
    perNode('replication_sql_running', 'Replica SQL thread running (Slave_SQL_Running = Yes).', (n) => (n.mysql?.replication ? bool(n.mysql.replication.sqlRunning.toLowerCase() === 'yes') : undefined)),
    perNode('replication_lag_seconds', 'Seconds_Behind_Master (absent while the SQL thread is stopped).', (n) => n.mysql?.replication?.secondsBehind ?? undefined),
    perNode('semisync_source_enabled', 'Semi-sync source (master) side enabled.', (n) => (n.mysql?.semiSync.sourceEnabled !== undefined ? bool(n.mysql.semiSync.sourceEnabled) : undefined)),
    perNode('semisync_source_active', 'Semi-sync source side active (not fallen back to async).', (n) => (n.mysql?.semiSync.sourceActive !== undefined ? bool(n.mysql.semiSync.sourceActive) : undefined)),
    perNode('semisync_source_clients', 'Replicas acknowledging semi-sync commits.', (n) => n.mysql?.semiSync.clients),
    perNode('semisync_source_no_tx', 'Commits not acknowledged by a replica since the server started (server counter).', (n) => n.mysql?.semiSync.noTx),
    perNode('semisync_replica_active', 'Semi-sync replica side active.', (n) => (n.mysql?.semiSync.replicaActive !== undefined ? bool(n.mysql.semiSync.replicaActive) : undefined)),
    perNode('transactions_open', 'Open InnoDB transactions.', (n) => n.mysql?.transactions?.open),
    perNode('transactions_open_over_60s', 'InnoDB transactions open for over 60 s.', (n) => n.mysql?.transactions?.olderThan60s),
    perNode('transaction_oldest_seconds', 'Age of the oldest open InnoDB transaction.', (n) => n.mysql?.transactions?.oldestS),
    perNode('vip_held', 'The VIP is on this node (only the node itself can tell; the observer reports its own).', (n) => (n === local && n.vipLocal !== undefined ? bool(n.vipLocal) : undefined)),
    perNode('keepalived_running', 'keepalived\'s pid file names a live keepalived (own node only).', (n) => (n.keepalived ? bool(n.keepalived.running) : undefined)),
    perNode('errant_gtid_ranges', 'GTID ranges this node has that the other lacks (-1: not compared).', (n) => {
      const list = n === local ? status.errant.localOnly : status.errant.peerOnly;
      return list === null ? -1 : list.length;
    }),
    perNode('last_transition_ok', 'The node\'s last transition ended done or superseded (1) or not (0).', (n) => {
      const last = n.files.lastTransitions?.at(-1);
      return last === undefined ? undefined : bool(last['outcome'] === 'done' || last['outcome'] === 'superseded');
    }),
    {
      name: `${PREFIX}pair_status`, help: 'status verdict as its exit code: 0 OK, 1 DEGRADED, 2 DANGER, 3 UNKNOWN.', type: 'gauge', labelNames: ['observer'],
      samples: [{ labels: { observer }, value: STATUS_EXIT[status.verdict] }],
    },
    {
      name: `${PREFIX}transitions_total`, help: 'Transitions in this node\'s ledger (transitions.jsonl, both generations) by target state and outcome.',
      type: 'counter', labelNames: ['node', 'state', 'outcome'], samples: countBy(transitions, (t) => ({ node: t.node, state: t.state, outcome: t.outcome })),
    },
    {
      name: `${PREFIX}transition_duration_seconds`, help: 'Duration of the transitions in the ledger by outcome.', type: 'histogram',
      labelNames: ['node', 'outcome'], samples: transitions.map((t) => ({ labels: { node: t.node, outcome: t.outcome }, value: t.durationMs / 1000 })),
    },
    {
      name: `${PREFIX}check_decisions_total`, help: 'Non-quiet check-mysql verdicts in check-decisions.jsonl by verdict and action (a healthy check records nothing).',
      type: 'counter', labelNames: ['node', 'verdict', 'action'],
      samples: countBy(checks.filter((c) => c.kind === 'decision'), (c) => ({ node: c.node, verdict: c.kind === 'decision' ? c.verdict : '', action: c.action })),
    },
  ];
  const last = transitions.at(-1);
  if (last !== undefined) {
    fams.push({
      name: `${PREFIX}last_transition_timestamp_seconds`, help: 'When this node\'s last transition ended (unix time).', type: 'gauge', labelNames: ['node'],
      samples: [{ labels: { node: last.node }, value: Date.parse(last.endedAt) / 1000 }],
    });
  }
  return fams;
}

function countBy<T>(items: readonly T[], key: (t: T) => Record<string, string>): { labels: Labels; value: number }[] {
  const counts = new Map<string, { labels: Labels; value: number }>();
  for (const item of items) {
    const labels = key(item);
    const k = JSON.stringify(labels);
    const cur = counts.get(k);
    if (cur) cur.value += 1;
    else counts.set(k, { labels, value: 1 });
  }
  return [...counts.values()];
}
